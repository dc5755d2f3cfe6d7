import * as YAML from "yaml";
import { notificationsConfigSection, ResolvedNotificationEndpoint } from "./notifications";
import { proxyConfigSection, ResolvedPullThroughCache } from "./pullThroughCache";
import { redisConfigSection, ResolvedRedisCache } from "./redisCache";
import { ResolvedS3Storage, s3StorageConfigSections } from "./s3Storage";
import { registryTokenAuthSection, ResolvedTokenAuth } from "./tokenAuth";
import { defaultRegistrySettings } from "./validation";

/** Where the config volume is mounted in the registry container; 3.x's default config directory. */
export const registryConfigDir = "/etc/distribution";

/** Paths of the files the registry reads, inside the registry container. */
export const registryFiles = {
    /** The registry's config.yml. */
    config: `${registryConfigDir}/config.yml`,
    /** The htpasswd file it checks logins against. */
    htpasswd: `${registryConfigDir}/htpasswd`,
    /** The server certificate (PEM). */
    certificate: `${registryConfigDir}/server.crt`,
    /** The server's private key (PEM). */
    key: `${registryConfigDir}/server.key`,
    /** The token signing certificate (auth.token.rootcertbundle). */
    tokenSigningCert: `${registryConfigDir}/token-signing.crt`,
} as const;

/** Where the registry keeps its blobs and manifests (the data volume). */
export const registryDataDir = "/var/lib/registry";

/** Port the registry listens on inside the container. */
export const registryContainerPort = 5000;

/** Debug server: health endpoint for the healthcheck and Prometheus metrics; loopback-only unless metrics are published. */
export const registryDebugPort = 5001;

/** What {@link renderRegistryConfig} needs to know. */
export interface RegistryConfigOptions {
    /** The registry's `http.secret`, shared by replicas to sign upload state. */
    readonly httpSecret: string;
    /** Keep a cache of blob descriptors (in memory, or in Redis with redisCache). Default true; false caches nothing, redisCache included. */
    readonly blobDescriptorCache?: boolean;
    /** Keep the blob descriptor cache in this Redis instead of in memory, shared by replicas; address and password resolved. Default: none, in memory. */
    readonly redisCache?: ResolvedRedisCache;
    /** Serve HTTP/2 to clients that offer it. Default true. */
    readonly http2?: boolean;
    /** Log level of the registry. Default "warn": the access log, failed logins and errors, without the two info lines per authorized request. */
    readonly logLevel?: string;
    /** Let the debug server listen on all the container's interfaces, so Docker can publish its metrics. Default false: loopback only. */
    readonly publishDebugServer?: boolean;
    /** Endpoints the registry sends its events to, headers resolved. Default: none. */
    readonly notificationEndpoints?: readonly ResolvedNotificationEndpoint[];
    /** The upstream when the registry is a pull-through cache, password resolved. Default: none. */
    readonly pullThroughCache?: ResolvedPullThroughCache;
    /** Keep blobs and manifests in S3 instead of the data volume, credentials resolved. Default: none, the data volume. */
    readonly s3Storage?: ResolvedS3Storage;
    /** Serve pulls only (storage.maintenance.readonly), as the standby does during a maintenance window. Default false. */
    readonly readOnly?: boolean;
    /** Accept tokens of this token service instead of checking htpasswd. Default: none, htpasswd. */
    readonly tokenAuth?: ResolvedTokenAuth;
}

/** How long a stopping registry lets requests in flight finish (http.draintimeout). */
export const registryDrainSeconds = 20;

/**
 * The registry's config.yml. Every key used here means the same in distribution 2.8 and 3.x,
 * so one file serves both (the config path is given to `registry serve` explicitly), except the
 * `redis:` section of a Redis cache, which is 2.8's.
 */
export function registryConfigObject(options: RegistryConfigOptions): Record<string, unknown> {
    const storage: Record<string, unknown> = {
        ...(options.s3Storage ? s3StorageConfigSections(options.s3Storage) : { filesystem: { rootdirectory: registryDataDir } }),
        delete: { enabled: true },
        // Unfinished uploads are removed after a week, so aborted pushes don't fill the disk; a
        // read-only registry must not purge what the writable one is still receiving.
        maintenance: {
            uploadpurging: { enabled: !options.readOnly, age: "168h", interval: "24h", dryrun: false },
            ...(options.readOnly ? { readonly: { enabled: true } } : {}),
        },
    };
    const cached = options.blobDescriptorCache ?? defaultRegistrySettings.blobDescriptorCache;
    const redis = cached && options.redisCache ? redisConfigSection(options.redisCache) : undefined;
    if (cached) {
        storage.cache = { blobdescriptor: redis ? "redis" : "inmemory" };
    }
    const notifications = notificationsConfigSection(options.notificationEndpoints);
    const proxy = proxyConfigSection(options.pullThroughCache);
    return {
        version: 0.1,
        log: { level: options.logLevel ?? defaultRegistrySettings.logLevel, formatter: "text", accesslog: { disabled: false } },
        storage,
        http: {
            addr: `:${registryContainerPort}`,
            secret: options.httpSecret,
            // A stop (maintenance window, replacement) lets pulls and pushes in flight finish.
            draintimeout: `${registryDrainSeconds}s`,
            headers: { "X-Content-Type-Options": ["nosniff"] },
            tls: {
                certificate: registryFiles.certificate,
                key: registryFiles.key,
                minimumtls: "tls1.2",
            },
            http2: { disabled: !(options.http2 ?? defaultRegistrySettings.http2) },
            debug: {
                // Docker forwards a published port to the container's own address, not its loopback.
                addr: options.publishDebugServer ? `:${registryDebugPort}` : `127.0.0.1:${registryDebugPort}`,
                prometheus: { enabled: true, path: "/metrics" },
            },
        },
        auth: options.tokenAuth
            ? registryTokenAuthSection(options.tokenAuth, registryFiles.tokenSigningCert)
            : { htpasswd: { realm: "private-registry", path: registryFiles.htpasswd } },
        health: { storagedriver: { enabled: true, interval: "10s", threshold: 3 } },
        ...(notifications ? { notifications } : {}),
        ...(proxy ? { proxy } : {}),
        ...(redis ? { redis } : {}),
    };
}

/** Renders config.yml as YAML text. */
export function renderRegistryConfig(options: RegistryConfigOptions): string {
    return YAML.stringify(registryConfigObject(options));
}

/**
 * The registry process's Go runtime settings. Each request allocates little but often, so the
 * default GOGC (100) collects the small heap many times a second; a larger GOGC trades memory the
 * container has to spare for CPU. GOMEMLIMIT, three quarters of the container's limit, makes the
 * collector work harder before the heap could reach that limit, so a large GOGC cannot get the
 * registry OOM-killed.
 */
export function registryRuntimeEnv(memoryLimitMb: number, goGcPercent = defaultRegistrySettings.goGcPercent): string[] {
    return [`GOGC=${goGcPercent}`, `GOMEMLIMIT=${Math.floor((memoryLimitMb * 3) / 4)}MiB`];
}

/**
 * Environment that makes the registry (Go's crypto/x509) trust extra CAs besides the system's,
 * each in a directory of the config volume: SSL_CERT_DIR replaces the default directory list, so
 * the system's stays in it, and the bundle file (e.g. /etc/ssl/certs/ca-certificates.crt) is still
 * read as before. No directories, no variable.
 */
export function extraCaEnv(configDir: string, caDirNames: readonly string[]): string[] {
    if (caDirNames.length === 0) return [];
    return [`SSL_CERT_DIR=${["/etc/ssl/certs", ...caDirNames.map((d) => `${configDir}/${d}`)].join(":")}`];
}
