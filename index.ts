import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
    bucketStackConfigProblems, RegistryBucket, stackUsesRegistryBucket, clientTrustConfigProblems, configDeclarations, defaultStackConfig, notificationStackConfigProblems, parseNotificationHeaders, PrivateRegistry,
    objectStorageMaintenanceProblems, pullThroughCacheStackConfigProblems, RegistryClientTrust, RegistryConfigError, registryEndpoints,
    RegistryAccessRulesArgs, registryNotaryProblems, registrySettingsProblems, registryTokenAuthProblems, ReplicatedRegistry, replicatedRegistryProblems, s3StorageStackConfigProblems, sshTargetProblems, StackConfig,
    stackNotificationEndpoints, stackPullThroughCache, stackS3Storage,
} from "private-registry";

const config = new pulumi.Config();
const key = (field: string) => `${config.name}:${field}`;

/** Each key read by its declared type; Pulumi applies Pulumi.yaml's defaults, the fallback covers runs without them. */
function readStackConfig(): StackConfig {
    const defaults = defaultStackConfig() as unknown as Record<string, unknown>;
    const read = {
        string: (k: string) => config.get(k),
        integer: (k: string) => config.getNumber(k),
        boolean: (k: string) => config.getBoolean(k),
        array: (k: string) => config.getObject<string[]>(k),
    };
    return Object.fromEntries(Object.entries(configDeclarations).map(([k, d]) => [k, read[d.type](k) ?? defaults[k]])) as unknown as StackConfig;
}

const { dockerHost, protectData, sshHost, sshUser, sshHostKey, clientTrustLocal, clientTrustContainerd,
    notificationUrl, notificationTimeout, notificationThreshold, notificationBackoff, notificationIgnoredMediaTypes, notificationIgnoredActions,
    proxyRemoteUrl, proxyUsername, proxyCaCertPem,
    storageBackend, s3Endpoint, s3Region, s3Bucket, s3RootDirectory, s3Redirect, s3ChunkSizeMb, s3CaCertPem,
    s3CreateBucket, s3RgwUser, s3RgwAdminCommand, replicas, redisImage, redisMaxMemoryMb,
    auth, tokenPort, tokenLifetimeSeconds, tokenServiceNodeImage, contentTrust, notaryPort, notaryServerImage, notarySignerImage, postgresImage,
    ...settings } = readStackConfig();
const replicated = replicas > 0;
const notificationConfig = { notificationUrl, notificationTimeout, notificationThreshold, notificationBackoff, notificationIgnoredMediaTypes, notificationIgnoredActions };
const cacheConfig = { proxyRemoteUrl, proxyUsername, proxyCaCertPem };
// Secret keys, read as text only to check them; what goes on to the registry is marked secret.
const notificationHeadersText = config.get("notificationHeaders");
const proxyPassword = config.get("proxyPassword");
// The engine tells the program which keys are secret; the SDK's check for it is not in its typings.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const runtimeConfig = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (fullKey: string) => boolean };
const isSecretKey = (k: string) => runtimeConfig.isConfigSecret?.(key(k)) ?? true;
const storageConfig = { storageBackend, s3Endpoint, s3Region, s3Bucket, s3RootDirectory, s3Redirect, s3ChunkSizeMb, s3CaCertPem };
const s3Credentials = { s3AccessKey: config.get("s3AccessKey"), s3SecretKey: config.get("s3SecretKey") };
const bucketConfig = { storageBackend, s3Endpoint, s3Region, s3Bucket, s3CreateBucket, s3RgwUser, s3RgwAdminCommand };
const rgwKeys = s3RgwUser !== "" && storageBackend === "s3";
// An object, which Pulumi.yaml cannot declare: set it in the stack file (see the README).
const accessRules = config.getObject<RegistryAccessRulesArgs>("accessRules");
const tokenAuth = auth === "token" ? { accessRules: accessRules!, hostPort: tokenPort, tokenLifetimeSeconds, nodeImage: tokenServiceNodeImage } : undefined;
const notary = contentTrust ? { hostPort: notaryPort, serverImage: notaryServerImage, signerImage: notarySignerImage, postgresImage } : undefined;

// All checks run before the first resource is declared, so bad config creates nothing, even in preview.
const problems = [
    ...registrySettingsProblems(settings, key, pulumi.getStack() === "prod"),
    ...(settings.firewallEnabled || settings.maintenanceEnabled ? sshTargetProblems(sshHost, sshUser, key, sshHostKey, pulumi.getStack() === "prod") : []),
    ...clientTrustConfigProblems(clientTrustLocal, clientTrustContainerd, key),
    ...notificationStackConfigProblems(notificationConfig, notificationHeadersText, key),
    ...pullThroughCacheStackConfigProblems(cacheConfig, proxyPassword, { ...settings, notificationEndpoints: stackNotificationEndpoints(notificationConfig) }, key),
    // With s3RgwUser the keys come from the user the stack makes (bucketStackConfigProblems refuses given ones).
    ...(rgwKeys
        ? s3StorageStackConfigProblems(storageConfig, { s3AccessKey: "from-rgw-user", s3SecretKey: "from-rgw-user" }, () => true, key)
        : s3StorageStackConfigProblems(storageConfig, s3Credentials, isSecretKey, key)),
    ...bucketStackConfigProblems(bucketConfig, s3Credentials, key),
    ...(storageBackend === "s3" ? objectStorageMaintenanceProblems(settings.maintenanceEnabled, settings.maintenanceBackupSchedule, key) : []),
    ...(replicated ? replicatedRegistryProblems({ ...settings, replicas, redisImage, redisMaxMemoryMb }, key) : []),
    ...(replicated && storageBackend !== "s3"
        ? [`${key("storageBackend")}: is ${storageBackend}, but replicas share one bucket. Fix: pulumi config set ${key("storageBackend")} s3 (with the s3 keys), or ${key("replicas")} 0`]
        : []),
];
if (auth !== "htpasswd" && auth !== "token") {
    problems.push(`${key("auth")}: "${auth}" is not htpasswd or token. Fix: pulumi config set ${key("auth")} htpasswd (or token, with accessRules)`);
} else if (auth === "htpasswd" && accessRules !== undefined) {
    problems.push(`${key("accessRules")}: is set, but ${key("auth")} is htpasswd, which lets every user do everything. Fix: pulumi config set ${key("auth")} token, or remove accessRules`);
}
problems.push(...registryTokenAuthProblems(tokenAuth, settings, key));
problems.push(...registryNotaryProblems(notary, tokenAuth && tokenPort, settings, key));
if (!/^(unix|ssh|tcp):\/\/\S+$/.test(dockerHost)) {
    problems.push(`${key("dockerHost")}: "${dockerHost}" is not a Docker host URL. Fix: pulumi config set ${key("dockerHost")} unix:///var/run/docker.sock (or ssh://user@host)`);
}
// The maintenance script drives the Docker host's engine with its own docker CLI, so it must run there.
if (settings.maintenanceEnabled && !dockerHost.startsWith("unix://") && sshHost === "") {
    problems.push(`${key("sshHost")}: is empty, but dockerHost ${dockerHost} is another machine and the maintenance script must be installed there. Fix: pulumi config set ${key("sshHost")} <that host>, or pulumi config set ${key("maintenanceEnabled")} false`);
}
if (problems.length > 0) {
    throw new RegistryConfigError(problems);
}

const dockerProvider = new docker.Provider("docker", { host: dockerHost });
const sshPrivateKey = config.getSecret("sshPrivateKey");
const sshConnection = sshHost !== ""
    ? {
        host: sshHost,
        user: sshUser,
        port: settings.sshPort,
        // Without a key in config, the command provider uses the SSH agent ($SSH_AUTH_SOCK).
        privateKey: sshPrivateKey,
        hostKey: sshHostKey === "" ? undefined : sshHostKey.trim(),
    }
    : undefined;

const givenS3Storage = stackS3Storage(storageConfig, pulumi.secret(s3Credentials.s3AccessKey ?? ""), pulumi.secret(s3Credentials.s3SecretKey ?? ""));
const s3Storage = givenS3Storage && stackUsesRegistryBucket(bucketConfig)
    ? new RegistryBucket("bucket", {
        ...givenS3Storage,
        createBucket: s3CreateBucket,
        ...(rgwKeys
            ? { accessKey: undefined, secretKey: undefined, rgwUser: s3RgwUser, rgwAdminCommand: s3RgwAdminCommand, hostConnection: sshConnection }
            : {}),
    }).s3Storage
    : givenS3Storage;

const registryArgs = {
    ...settings,
    protectData,
    notificationEndpoints: stackNotificationEndpoints(notificationConfig, notificationHeadersText === undefined ? undefined : pulumi.secret(parseNotificationHeaders(notificationHeadersText)!)),
    pullThroughCache: stackPullThroughCache(cacheConfig, proxyPassword === undefined ? undefined : pulumi.secret(proxyPassword)),
    s3Storage,
    tokenAuth,
    notary,
    hostConnection: settings.firewallEnabled || settings.maintenanceEnabled ? sshConnection : undefined,
};
const registry = replicated
    ? new ReplicatedRegistry("registry", { ...registryArgs, replicas, redisImage, redisMaxMemoryMb }, { providers: [dockerProvider] })
    : new PrivateRegistry("registry", registryArgs, { providers: [dockerProvider] });

if (clientTrustLocal) {
    new RegistryClientTrust("client-trust", {
        endpoints: registryEndpoints(settings.hostnames, settings.ipAddresses, settings.port),
        caCertPem: registry.caCertPem,
        clients: [{ containerd: clientTrustContainerd }],
    });
}

const firstUser = settings.users[0];

export const endpoint = registry.endpoint;
export const caCertPem = registry.caCertPem;
export const credentials = registry.credentials;
export const loginCommand = pulumi.interpolate`pulumi stack output --show-secrets credentials | jq -r '.["${firstUser}"]' | docker login ${registry.endpoint} --username ${firstUser} --password-stdin`;
export const dataVolume = registry instanceof PrivateRegistry ? registry.dataVolume : "";
export const containerName = registry instanceof PrivateRegistry ? registry.containerName : registry.replicaContainers.apply((names) => names[0]);
export const replicaContainers = registry instanceof ReplicatedRegistry ? registry.replicaContainers : registry.containerName.apply((name) => [name]);
export const metricsEndpoint = registry instanceof PrivateRegistry ? registry.metricsEndpoint : "";
export const prometheusScrapeConfig = registry instanceof PrivateRegistry ? registry.prometheusScrapeConfig : "";
export const maintenanceScript = registry.maintenanceScript;
export const tokenRealm = registry.tokenRealm;
export const notaryEndpoint = registry.notaryEndpoint;
