/**
 * The parts both forms of the registry wire the same way (PrivateRegistry and ReplicatedRegistry):
 * certificate, credentials and firewall; the shared network; the front with the standby and the
 * maintenance script. Not part of the package's API.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { RegistryCredentials } from "./credentials";
import { FirewallConnectionArgs, RegistryFirewall } from "./firewall";
import { RegistryFront } from "./front";
import { RegistryMaintenance } from "./maintenance";
import type { PrivateRegistryArgs } from "./privateRegistry";
import { RegistryServer, RegistryServerArgs } from "./server";
import { RegistryTls } from "./tls";
import { RegistryContentTrust } from "./contentTrust";
import { notaryDefaults } from "./notaryConfig";
import { tokenAuthDefaults } from "./tokenAuth";
import { RegistryTokenService } from "./tokenService";
import { RegistrySettings } from "./validation";

/** What every form of the registry builds first: its certificate, credentials and firewall, and what each registry container gets. */
export interface RegistryFoundation {
    /** CA and server certificate. */
    readonly tls: RegistryTls;
    /** Generated passwords and the htpasswd file. */
    readonly credentials: RegistryCredentials;
    /** SSH connection host commands run over, if any. */
    readonly hostConnection?: FirewallConnectionArgs;
    /** The registry container's settings, without its storage, network and publishing. */
    readonly serverArgs: RegistryServerArgs;
    /** Options of what publishes the registry port: after the firewall, so the port is never published unfiltered. */
    readonly afterFirewall: pulumi.CustomResourceOptions;
    /** The token service, with token authentication. */
    readonly tokenService?: RegistryTokenService;
    /** Notary, with Docker Content Trust. */
    readonly contentTrust?: RegistryContentTrust;
}

/** Builds the {@link RegistryFoundation} of validated settings `s`, as children of `parent`. */
export function registryFoundation(name: string, s: RegistrySettings, args: PrivateRegistryArgs, parent: pulumi.Resource): RegistryFoundation {
    const tls = new RegistryTls(`${name}-tls`, {
        dnsNames: s.hostnames,
        ipAddresses: s.ipAddresses,
        keyAlgorithm: s.tlsKeyAlgorithm,
        rsaBits: s.tlsRsaBits,
        validityDays: s.certValidityDays,
        earlyRenewalDays: s.certEarlyRenewalDays,
        caValidityDays: s.caValidityDays,
        caGeneration: s.caGeneration,
        tokenSigning: args.tokenAuth !== undefined,
    }, { parent });
    const credentials = new RegistryCredentials(`${name}-credentials`, { usernames: s.users, bcryptCost: s.bcryptCost }, { parent });
    const hostConnection = args.hostConnection ?? args.firewallConnection;
    const firewall = s.firewallEnabled
        ? new RegistryFirewall(`${name}-firewall`, {
            publicInterface: s.publicInterface,
            registryPort: s.port,
            registryAllowedCidrs: s.registryAllowedCidrs,
            sshPort: s.sshPort,
            sshAllowedCidrs: s.sshAllowedCidrs,
            metricsPort: s.metricsBindAddress !== "" ? s.metricsPort : undefined,
            servicePorts: [
                ...(args.tokenAuth ? [args.tokenAuth.hostPort ?? tokenAuthDefaults.hostPort] : []),
                ...(args.notary ? [args.notary.hostPort ?? notaryDefaults.hostPort] : []),
            ],
            connection: hostConnection,
        }, { parent })
        : undefined;
    const afterFirewall = { parent, dependsOn: firewall ? [firewall] : [] };
    // The registry's service name in tokens is its endpoint, as clients name it.
    const service = `${s.hostnames[0]}:${s.port}`;
    // Notary's: tokens for one must not open the other. Its GUNs start with the registry's name, as clients write it.
    const notaryPort = args.notary ? args.notary.hostPort ?? notaryDefaults.hostPort : undefined;
    const notary = notaryPort !== undefined
        ? { service: `${s.hostnames[0]}:${notaryPort}`, gunPrefixes: [...s.hostnames, ...s.ipAddresses].map((h) => `${h}:${s.port}/`) }
        : undefined;
    const tokenService = args.tokenAuth
        ? new RegistryTokenService(`${name}-token`, {
            containerName: `${s.containerName}-token`,
            hostname: s.hostnames[0],
            service,
            users: s.users,
            accessRules: args.tokenAuth.accessRules,
            htpasswd: credentials.htpasswd,
            tlsCertPem: tls.serverCertPem,
            tlsKeyPem: tls.serverKeyPem,
            signingKeyPem: tls.tokenSigningKeyPem,
            signingCertPem: tls.tokenSigningCertPem,
            hostPort: args.tokenAuth.hostPort,
            bindAddress: s.bindAddress,
            tokenLifetimeSeconds: args.tokenAuth.tokenLifetimeSeconds,
            nodeImage: args.tokenAuth.nodeImage,
            notary,
        }, afterFirewall)
        : undefined;
    const contentTrust = tokenService && notary
        ? new RegistryContentTrust(`${name}-notary`, {
            containerName: s.containerName,
            hostname: s.hostnames[0],
            gunPrefixes: notary.gunPrefixes,
            service: notary.service,
            tokenRealm: tokenService.realm,
            tokenSigningCertPem: tls.tokenSigningCertPem,
            tlsCertPem: tls.serverCertPem,
            tlsKeyPem: tls.serverKeyPem,
            bindAddress: s.bindAddress,
            protectData: args.protectData,
            options: args.notary,
        }, afterFirewall)
        : undefined;
    const serverArgs: RegistryServerArgs = {
        image: s.image,
        containerName: s.containerName,
        // With tokens the registry checks no password, so a change of users doesn't restart it.
        htpasswd: tokenService ? "# token authentication: the token service checks passwords\n" : credentials.htpasswd,
        tlsCertPem: tls.serverCertPem,
        tlsKeyPem: tls.serverKeyPem,
        port: s.port,
        bindAddress: s.bindAddress,
        memoryLimitMb: s.memoryLimitMb,
        blobDescriptorCache: s.blobDescriptorCache,
        http2: s.http2,
        logLevel: s.logLevel,
        goGcPercent: s.goGcPercent,
        metricsBindAddress: s.metricsBindAddress,
        metricsPort: s.metricsPort,
        notificationEndpoints: args.notificationEndpoints,
        pullThroughCache: args.pullThroughCache,
        s3Storage: args.s3Storage,
        tokenAuth: tokenService ? { realm: tokenService.realm, service, signingCertPem: tls.tokenSigningCertPem } : undefined,
    };
    return { tls, credentials, hostConnection, serverArgs, afterFirewall, tokenService, contentTrust };
}

/** The writable registries a front balances across, and what the maintenance script needs of them. */
export interface FrontedRegistries {
    /** host:port of each writable registry, in the front's order. */
    readonly backends: string[];
    /** The writable registry containers on the front's host, in the same order; the maintenance script stops and starts them. */
    readonly containers: pulumi.Output<string>[];
    /** Config volume of the first (garbage collection reads its config.yml). */
    readonly configVolume: pulumi.Output<string>;
    /** The data volume, when the data is not in S3. */
    readonly dataVolume?: pulumi.Output<string>;
    /** A Redis container that caches blob descriptors for them. */
    readonly cacheContainer?: pulumi.Output<string>;
}

/**
 * The front that publishes the registry port on `network`, and with maintenanceEnabled the
 * read-only standby and the maintenance script (its name is "" without).
 */
export function registryFrontAndMaintenance(name: string, s: RegistrySettings, base: RegistryFoundation, network: docker.Network,
    registries: FrontedRegistries, args: PrivateRegistryArgs, parent: pulumi.Resource): { frontContainer: pulumi.Output<string>; maintenanceScript: pulumi.Output<string> } {
    const standbyHost = `${s.containerName}-standby`;
    const standby = s.maintenanceEnabled
        ? new RegistryServer(`${name}-standby`, {
            ...base.serverArgs, dataVolumeName: registries.dataVolume, containerName: standbyHost, networkName: network.name, standby: true,
        }, { parent })
        : undefined;
    const front = new RegistryFront(`${name}-front`, {
        image: s.frontImage,
        containerName: `${s.containerName}-front`,
        networkName: network.name,
        backends: registries.backends,
        standbyHost: standby ? standbyHost : "",
        verifyHostname: s.hostnames[0],
        tlsCertPem: base.tls.serverCertPem,
        tlsKeyPem: base.tls.serverKeyPem,
        caCertPem: base.tls.caCertPem,
        port: s.port,
        bindAddress: s.bindAddress,
    // Not after the registries: HAProxy finds them by name when it starts, so the endpoint answers as
    // soon as they do instead of after their first healthcheck (30 s on Docker 20.10).
    }, base.afterFirewall);
    if (!standby) return { frontContainer: front.containerName, maintenanceScript: pulumi.output("") };
    const [primary, ...replicas] = registries.containers;
    const maintenance = new RegistryMaintenance(`${name}-maintenance`, {
        primaryContainer: primary,
        replicaContainers: replicas,
        standbyContainer: standby.containerName,
        frontContainer: front.containerName,
        cacheContainer: registries.cacheContainer,
        dataVolume: registries.dataVolume,
        configVolume: registries.configVolume,
        image: s.image,
        gcSchedule: s.maintenanceGcSchedule,
        gcDeleteUntagged: s.maintenanceGcDeleteUntagged,
        backupSchedule: s.maintenanceBackupSchedule,
        backupDir: s.maintenanceBackupDir,
        backupRetention: s.maintenanceBackupRetention,
        objectStorageNetwork: args.s3Storage ? network.name : undefined,
        connection: base.hostConnection,
    }, { parent });
    return { frontContainer: front.containerName, maintenanceScript: maintenance.scriptName };
}

/** The registry network of containers named after `containerName`: the registries, the front and (replicated) Redis share it. */
export function registryNetwork(name: string, containerName: string, parent: pulumi.Resource): docker.Network {
    return new docker.Network(`${name}-network`, {
        name: `${containerName}-net`,
        labels: [{ label: "private-registry.role", value: "network" }],
    }, { parent });
}
