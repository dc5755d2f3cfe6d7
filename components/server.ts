import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
    extraCaEnv, registryConfigDir, registryContainerPort, registryDataDir, registryDebugPort, registryFiles, registryRuntimeEnv, renderRegistryConfig,
} from "./registryConfig";
import { metricsAddressProblem } from "./metrics";
import { RegistryNotificationEndpointArgs } from "./notifications";
import { registryOptionProblems, RegistryPullThroughCacheArgs, upstreamCaDirName } from "./pullThroughCache";
import { redisCacheProblems, RegistryRedisCacheArgs } from "./redisCache";
import { RegistryS3StorageArgs, storageCaDirName } from "./s3Storage";
import { initConfigMount, registryFilesDigest, registryUploads, renderInitScript } from "./serverFiles";
import { componentDependencies } from "./componentDependencies";
import { hardenedServiceSettings, healthcheckTiming } from "./serviceContainer";
import { defaultRegistrySettings, RegistryConfigError } from "./validation";

/** Arguments of {@link RegistryServer}. */
export interface RegistryServerArgs {
    /** Registry image, pinned by digest, e.g. registry:2.8.3@sha256:…. */
    readonly image: string;
    /** Name of the registry container; the init container and config volume are named after it. Default: "registry". */
    readonly containerName?: string;
    /** Name of the data volume, mounted at /var/lib/registry. Required unless s3Storage is given: then nothing is kept locally and no volume is mounted. */
    readonly dataVolumeName?: pulumi.Input<string>;
    /** The htpasswd file (bcrypt entries). */
    readonly htpasswd: pulumi.Input<string>;
    /** PEM of the server certificate. */
    readonly tlsCertPem: pulumi.Input<string>;
    /** PEM of the server's private key. */
    readonly tlsKeyPem: pulumi.Input<string>;
    /** Host port the registry is published on. Default: 5000. */
    readonly port?: number;
    /** Host address the port is published on. Default: "0.0.0.0". */
    readonly bindAddress?: string;
    /** Memory limit of the registry container, in MiB; it counts the page cache the registry reads blobs through. Default: 2048. */
    readonly memoryLimitMb?: number;
    /** Numeric user the registry runs as; it owns the data and config files. Default: 1000. */
    readonly uid?: number;
    /** Numeric group the registry runs as. Default: 1000. */
    readonly gid?: number;
    /** Keep a cache of blob descriptors in memory. Default: true. */
    readonly blobDescriptorCache?: boolean;
    /** Serve HTTP/2 to clients that offer it. Default: true. */
    readonly http2?: boolean;
    /** Registry log level: "error", "warn", "info" or "debug". Default: "warn". */
    readonly logLevel?: string;
    /** GOGC of the registry process; the heap is also held under 3/4 of the memory limit. Default: 400. */
    readonly goGcPercent?: number;
    /** Host address the debug server (Prometheus metrics, health) is published on; empty publishes nothing. Default: "". */
    readonly metricsBindAddress?: string;
    /** Host port the debug server is published on when metricsBindAddress is set. Default: 5001. */
    readonly metricsPort?: number;
    /** Endpoints the registry sends an event to on every push, pull and delete. Default: []. */
    readonly notificationEndpoints?: RegistryNotificationEndpointArgs[];
    /** Run the registry as a pull-through cache of this upstream; a cache refuses pushes. Default: none. */
    readonly pullThroughCache?: RegistryPullThroughCacheArgs;
    /** Keep blobs and manifests in S3 instead of the data volume. Default: none, the data volume. */
    readonly s3Storage?: RegistryS3StorageArgs;
    /** Cache blob descriptors in Redis instead of the registry's memory, shared by replicas. Default: none. */
    readonly redisCache?: RegistryRedisCacheArgs;
    /** The secret that signs upload state (distribution's http.secret); replicas behind one load balancer need the same. Default: one generated for this registry. */
    readonly httpSecret?: pulumi.Input<string>;
    /** Docker network the container joins (as its only network), reachable there by its name and networkAlias. Default: none, Docker's default bridge. */
    readonly networkName?: pulumi.Input<string>;
    /** Another DNS name of the container on networkName. Default: none. */
    readonly networkAlias?: string;
    /** Publish the registry port on the host; off when a front publishes it. Default: true. */
    readonly publishPort?: boolean;
    /** A read-only standby for maintenance windows: created stopped, serves pulls only, publishes nothing. Default: false. */
    readonly standby?: boolean;
    /** Accept tokens of a token service instead of checking htpasswd. Default: none, htpasswd. */
    readonly tokenAuth?: RegistryServerTokenAuthArgs;
}

/** The token service a registry accepts tokens of. */
export interface RegistryServerTokenAuthArgs {
    /** The URL clients fetch tokens from. Required. */
    readonly realm: pulumi.Input<string>;
    /** The registry's name in tokens (their audience), e.g. its host:port. Required. */
    readonly service: string;
    /** PEM of the certificate of the key tokens are signed with. Required. */
    readonly signingCertPem: pulumi.Input<string>;
}

/**
 * The registry container. Its root filesystem is read-only, and Docker refuses uploads into such a
 * container, so a short-lived init container receives the config files into a config volume (and
 * hands the data volume to the registry's user); the registry mounts that volume read-only.
 */
export class RegistryServer extends pulumi.ComponentResource {
    /** Name of the registry container. */
    public readonly containerName: pulumi.Output<string>;
    /** Name of the volume the registry reads its config.yml, htpasswd and TLS files from. */
    public readonly configVolumeName: pulumi.Output<string>;

    constructor(name: string, args: RegistryServerArgs, opts?: pulumi.ComponentResourceOptions) {
        // Before anything is registered: a wildcard or public address would publish unauthenticated metrics.
        const metricsProblem = args.metricsBindAddress ? metricsAddressProblem(args.metricsBindAddress) : undefined;
        if (metricsProblem !== undefined) throw new Error(`RegistryServer: metricsBindAddress ${metricsProblem}`);
        const optionProblems = registryOptionProblems("RegistryServerArgs", args.notificationEndpoints, args.pullThroughCache, {
            hostnames: [], ipAddresses: [], port: args.port ?? defaultRegistrySettings.port,
        }, args.s3Storage);
        optionProblems.push(...redisCacheProblems("RegistryServerArgs", args.redisCache, args));
        if (args.dataVolumeName === undefined && args.s3Storage === undefined) {
            optionProblems.push("RegistryServerArgs.dataVolumeName: is missing, and without s3Storage the registry keeps its data in that volume. Fix: give the data volume's name (e.g. RegistryStorage's volumeName)");
        }
        if (optionProblems.length > 0) throw new RegistryConfigError(optionProblems);
        super("private-registry:index:RegistryServer", name, {}, opts);
        const containerName = args.containerName ?? defaultRegistrySettings.containerName;
        const uid = args.uid ?? 1000;
        const gid = args.gid ?? 1000;
        const memoryLimitMb = args.memoryLimitMb ?? defaultRegistrySettings.memoryLimitMb;
        const standby = args.standby ?? false;
        const metricsBindAddress = standby ? "" : args.metricsBindAddress ?? defaultRegistrySettings.metricsBindAddress;
        const publishMetrics = metricsBindAddress !== "";
        const onNetwork = args.networkName !== undefined;
        const publishPort = !standby && (args.publishPort ?? true);

        const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
        // Generated once and kept in state: a changing secret would invalidate uploads in progress.
        const httpSecret = args.httpSecret ?? new random.RandomPassword(`${name}-http-secret`, { length: 64, special: false }, { parent: this }).result;
        const configVolume = new docker.Volume(`${name}-config`, {
            name: `${containerName}-config`,
            labels: [{ label: "private-registry.role", value: "config" }],
        }, { parent: this });

        // Header values and the upstream password stay secret: they only reach config.yml, a secret upload.
        const files = pulumi.all([httpSecret, args.htpasswd, args.tlsCertPem, args.tlsKeyPem,
            pulumi.output(args.notificationEndpoints ?? []), pulumi.output(args.pullThroughCache), pulumi.output(args.s3Storage),
            pulumi.output({ redisCache: args.redisCache, tokenAuth: args.tokenAuth })])
            .apply(([secret, htpasswd, certificatePem, keyPem, notificationEndpoints, cache, s3, { redisCache, tokenAuth }]) => ({
                configYaml: renderRegistryConfig({
                    httpSecret: secret, blobDescriptorCache: args.blobDescriptorCache, http2: args.http2, logLevel: args.logLevel,
                    // The front's health checks reach the debug server over the shared network.
                    publishDebugServer: publishMetrics || onNetwork,
                    readOnly: standby,
                    notificationEndpoints,
                    pullThroughCache: cache && { remoteUrl: cache.remoteUrl, username: cache.username, password: cache.password },
                    s3Storage: s3,
                    redisCache,
                    tokenAuth: tokenAuth && { realm: tokenAuth.realm, service: tokenAuth.service },
                }),
                htpasswd, certificatePem, keyPem,
                ...(cache?.caCertPem ? { upstreamCaPem: cache.caCertPem } : {}),
                ...(s3?.caCertPem ? { storageCaPem: s3.caCertPem } : {}),
                ...(tokenAuth ? { tokenSigningCertPem: tokenAuth.signingCertPem } : {}),
            }));
        const filesDigest = files.apply(registryFilesDigest);
        const digestLabel = { label: "private-registry.files-sha256", value: filesDigest };
        // With S3 nothing is kept locally: the root filesystem is read-only and no volume is mounted.
        const dataVolumes = args.dataVolumeName === undefined ? [] : [{ volumeName: args.dataVolumeName, containerPath: registryDataDir }];

        const init = new docker.Container(`${name}-init`, {
            name: `${containerName}-init`,
            image: image.imageId,
            entrypoints: ["/bin/sh", "-c"],
            command: [renderInitScript(uid, gid)],
            uploads: pulumi.secret(files.apply((f) => registryUploads(f, uid, gid))),
            volumes: [...dataVolumes, { volumeName: configVolume.name, containerPath: initConfigMount }],
            networkMode: "none",
            capabilities: { drops: ["ALL"], adds: ["CHOWN", "DAC_READ_SEARCH", "FOWNER"] },
            securityOpts: ["no-new-privileges:true"],
            labels: [digestLabel],
            restart: "no",
            mustRun: false,
            attach: true,
        }, { parent: this, deleteBeforeReplace: true });

        const container = new docker.Container(`${name}-container`, {
            name: containerName,
            image: image.imageId,
            // Explicit, so the same container works with 2.8's and 3.x's image entrypoints.
            entrypoints: ["registry"],
            command: ["serve", registryFiles.config],
            envs: [
                ...registryRuntimeEnv(memoryLimitMb, args.goGcPercent),
                ...extraCaEnv(registryConfigDir, [
                    ...(args.pullThroughCache?.caCertPem !== undefined ? [upstreamCaDirName] : []),
                    ...(args.s3Storage?.caCertPem !== undefined ? [storageCaDirName] : []),
                ]),
            ],
            user: `${uid}:${gid}`,
            ...hardenedServiceSettings,
            // Only networksAdvanced: the provider then leaves the default bridge and joins with the
            // aliases; with networkMode set to the same network Docker drops the aliases.
            ...(args.networkName !== undefined
                ? {
                    networksAdvanced: [{ name: args.networkName, aliases: args.networkAlias ? [args.networkAlias] : [] }],
                }
                : {}),
            ports: [
                ...(publishPort
                    ? [{ internal: registryContainerPort, external: args.port ?? defaultRegistrySettings.port, ip: args.bindAddress ?? defaultRegistrySettings.bindAddress, protocol: "tcp" }]
                    : []),
                // Only on the address the operator named for monitoring: the debug server has no authentication.
                ...(publishMetrics
                    ? [{ internal: registryDebugPort, external: args.metricsPort ?? defaultRegistrySettings.metricsPort, ip: metricsBindAddress, protocol: "tcp" }]
                    : []),
            ],
            volumes: [...dataVolumes, { volumeName: configVolume.name, containerPath: registryConfigDir, readOnly: true }],
            // With S3, a read-only tmpfs stands where the image declares its data volume, so Docker
            // makes no anonymous volume for each container and nothing can be kept locally.
            tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m", ...(args.dataVolumeName === undefined ? { [registryDataDir]: "ro,noexec,nosuid,size=64k" } : {}) },
            // The maintenance script starts and stops the standby; nothing else may.
            restart: standby ? "no" : "always",
            healthcheck: {
                tests: ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${registryDebugPort}/debug/health`],
                ...healthcheckTiming,
            },
            memory: memoryLimitMb,
            // Equal to memory: no swap, and raising the limit later isn't refused for exceeding
            // the memory+swap Docker would otherwise have fixed at twice the first limit.
            memorySwap: memoryLimitMb,
            labels: [digestLabel],
            ...(standby ? { start: false, mustRun: false } : { mustRun: true, wait: true, waitTimeout: 120 }),
        }, { parent: this, deleteBeforeReplace: true, dependsOn: [init, ...componentDependencies("RegistryServer", opts)] });

        this.containerName = container.name;
        this.configVolumeName = configVolume.name;
        this.registerOutputs({ containerName: this.containerName, configVolumeName: this.configVolumeName });
    }
}
