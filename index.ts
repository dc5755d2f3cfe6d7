import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
    defaultRegistrySettings, PrivateRegistry, RegistryConfigError, registrySettingsProblems, RegistrySettings, sshTargetProblems,
} from "private-registry";

const config = new pulumi.Config();
const key = (field: string) => `${config.name}:${field}`;
const d = defaultRegistrySettings;

const settings: RegistrySettings = {
    hostnames: config.getObject<string[]>("hostnames") ?? ["localhost"],
    ipAddresses: config.getObject<string[]>("ipAddresses") ?? d.ipAddresses,
    port: config.getNumber("port") ?? d.port,
    bindAddress: config.get("bindAddress") ?? d.bindAddress,
    users: config.getObject<string[]>("users") ?? ["admin"],
    bcryptCost: config.getNumber("bcryptCost") ?? d.bcryptCost,
    tlsKeyAlgorithm: config.get("tlsKeyAlgorithm") ?? d.tlsKeyAlgorithm,
    tlsRsaBits: config.getNumber("tlsRsaBits") ?? d.tlsRsaBits,
    certValidityDays: config.getNumber("certValidityDays") ?? d.certValidityDays,
    certEarlyRenewalDays: config.getNumber("certEarlyRenewalDays") ?? d.certEarlyRenewalDays,
    caValidityDays: config.getNumber("caValidityDays") ?? d.caValidityDays,
    containerName: config.get("containerName") ?? d.containerName,
    dataVolumeName: config.get("dataVolumeName") ?? d.dataVolumeName,
    image: config.get("image") ?? d.image,
    memoryLimitMb: config.getNumber("memoryLimitMb") ?? d.memoryLimitMb,
    blobDescriptorCache: config.getBoolean("blobDescriptorCache") ?? d.blobDescriptorCache,
    http2: config.getBoolean("http2") ?? d.http2,
    logLevel: config.get("logLevel") ?? d.logLevel,
    goGcPercent: config.getNumber("goGcPercent") ?? d.goGcPercent,
    firewallEnabled: config.getBoolean("firewallEnabled") ?? d.firewallEnabled,
    publicInterface: config.get("publicInterface") ?? d.publicInterface,
    registryAllowedCidrs: config.getObject<string[]>("registryAllowedCidrs") ?? d.registryAllowedCidrs,
    sshAllowedCidrs: config.getObject<string[]>("sshAllowedCidrs") ?? d.sshAllowedCidrs,
    sshPort: config.getNumber("sshPort") ?? d.sshPort,
};
const protectData = config.getBoolean("protectData") ?? true;
const dockerHost = config.get("dockerHost") ?? "unix:///var/run/docker.sock";
const sshHost = config.get("sshHost") ?? "";
const sshUser = config.get("sshUser") ?? "root";

// All checks run before the first resource is declared, so bad config creates nothing, even in preview.
const problems = [
    ...registrySettingsProblems(settings, key, pulumi.getStack() === "prod"),
    ...(settings.firewallEnabled ? sshTargetProblems(sshHost, sshUser, key) : []),
];
if (!/^(unix|ssh|tcp):\/\/\S+$/.test(dockerHost)) {
    problems.push(`${key("dockerHost")}: "${dockerHost}" is not a Docker host URL. Fix: pulumi config set ${key("dockerHost")} unix:///var/run/docker.sock (or ssh://user@host)`);
}
if (problems.length > 0) {
    throw new RegistryConfigError(problems);
}

const dockerProvider = new docker.Provider("docker", { host: dockerHost });
const sshPrivateKey = config.getSecret("sshPrivateKey");

const registry = new PrivateRegistry("registry", {
    ...settings,
    protectData,
    firewallConnection: settings.firewallEnabled && sshHost !== ""
        ? {
            host: sshHost,
            user: sshUser,
            port: settings.sshPort,
            // Without a key in config, the command provider uses the SSH agent ($SSH_AUTH_SOCK).
            privateKey: sshPrivateKey,
        }
        : undefined,
}, { providers: [dockerProvider] });

const firstUser = settings.users[0];

export const endpoint = registry.endpoint;
export const caCertPem = registry.caCertPem;
export const credentials = registry.credentials;
export const loginCommand = pulumi.interpolate`pulumi stack output --show-secrets credentials | jq -r '.["${firstUser}"]' | docker login ${registry.endpoint} --username ${firstUser} --password-stdin`;
export const dataVolume = registry.dataVolume;
export const containerName = registry.containerName;
