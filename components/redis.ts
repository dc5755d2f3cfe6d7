import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { componentDependencies } from "./componentDependencies";
import { privateBindAddressProblem } from "./metrics";
import { configUpload } from "./serverFiles";
import { hardenedServiceSettings, healthcheckTiming, serviceConfigVolume } from "./serviceContainer";
import { RegistryConfigError } from "./validation";

/** Arguments of {@link RegistryRedis}. */
export interface RegistryRedisArgs {
    /** Redis image, pinned by digest, e.g. redis:7.4-alpine@sha256:…. Required. */
    readonly image: string;
    /** Name of the Redis container; its init container and config volume are named after it. Required. */
    readonly containerName: string;
    /** Docker network the registry replicas share; Redis joins it (and no other) under networkAlias. Required. */
    readonly networkName: pulumi.Input<string>;
    /** Name of Redis on networkName, the host of the address output. Default: "redis". */
    readonly networkAlias?: string;
    /** Memory Redis keeps its keys in, in MiB; past it, the least recently used keys are evicted. The container's limit is a little higher. Default: 256. */
    readonly maxMemoryMb?: number;
    /** Host address Redis's port is published on, a loopback or private one; empty publishes nothing. Default: "". */
    readonly hostBindAddress?: string;
    /** Host port Redis is published on when hostBindAddress is set. Default: 6379. */
    readonly hostPort?: number;
    /** Numeric user Redis runs as; it owns redis.conf. Default: 999, the official image's redis user. */
    readonly uid?: number;
    /** Numeric group Redis runs as. Default: 1000, the official image's redis group. */
    readonly gid?: number;
}

/** Port Redis listens on inside the container (and on the network). */
export const redisContainerPort = 6379;

/** Where the config volume is mounted in the Redis container (the official image's config directory). */
export const redisConfigDir = "/usr/local/etc/redis";

/** redis.conf in the Redis container. */
export const redisConfigFile = `${redisConfigDir}/redis.conf`;

/** Defaults of RegistryRedisArgs. */
export const redisDefaults = {
    /** Name of Redis on the network. */
    networkAlias: "redis",
    /** maxmemory, MiB. */
    maxMemoryMb: 256,
    /** Published host port. */
    hostPort: 6379,
    /** The official image's redis user. */
    uid: 999,
    /** The official image's redis group. */
    gid: 1000,
} as const;

/** What {@link renderRedisConf} needs to know. */
export interface RedisConfOptions {
    /** The password every client must give (requirepass). */
    readonly password: string;
    /** maxmemory, MiB. */
    readonly maxMemoryMb: number;
}

/**
 * redis.conf for a cache: no persistence (a lost cache refills from storage), keys evicted least
 * recently used first at maxmemory, a password for every client. It listens on every interface of
 * the container: only the private network and, when published, the address the operator named
 * reach them.
 */
export function renderRedisConf(options: RedisConfOptions): string {
    if (!/^[A-Za-z0-9]{16,}$/.test(options.password)) {
        // Written unquoted: anything but letters and digits could end the directive early.
        throw new Error("redis.conf: the password must be at least 16 letters and digits");
    }
    return [
        "# Written by private-registry's RegistryRedis; replaced on every change.",
        "bind * -::*",
        `port ${redisContainerPort}`,
        "protected-mode yes",
        `requirepass ${options.password}`,
        "save \"\"",
        "appendonly no",
        `maxmemory ${options.maxMemoryMb}mb`,
        "maxmemory-policy allkeys-lru",
        "",
    ].join("\n");
}

/** The container's memory limit, MiB: maxmemory counts keys only, not connections' buffers or fragmentation. */
export function redisContainerMemoryMb(maxMemoryMb: number): number {
    return maxMemoryMb + Math.max(32, Math.ceil(maxMemoryMb / 4));
}

/**
 * The healthcheck: `redis-cli ping` with the password read from redis.conf into REDISCLI_AUTH of
 * that process alone, so neither `docker inspect` nor a command line shows it.
 */
export function redisHealthcheckCommand(): string {
    return `REDISCLI_AUTH="$(sed -n 's/^requirepass //p' ${redisConfigFile})" redis-cli -p ${redisContainerPort} ping | grep -qx PONG`;
}

/** Why RegistryRedisArgs cannot be used as given (plain values only), each naming its key and the fix. */
export function redisArgsProblems(args: RegistryRedisArgs): string[] {
    const problems: string[] = [];
    const bindAddress = args.hostBindAddress ?? "";
    if (bindAddress !== "") {
        const problem = privateBindAddressProblem(bindAddress, "Redis (a password, no TLS)");
        if (problem) problems.push(`RegistryRedisArgs.hostBindAddress: ${problem}. Fix: use a loopback or private address of the Docker host, e.g. 127.0.0.1, or "" to publish nothing`);
    }
    const port = args.hostPort ?? redisDefaults.hostPort;
    if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`RegistryRedisArgs.hostPort: ${port} is outside 1-65535. Fix: use ${redisDefaults.hostPort}`);
    const maxMemoryMb = args.maxMemoryMb ?? redisDefaults.maxMemoryMb;
    if (!Number.isInteger(maxMemoryMb) || maxMemoryMb < 16 || maxMemoryMb > 65536) {
        problems.push(`RegistryRedisArgs.maxMemoryMb: ${maxMemoryMb} is outside 16-65536. Fix: use ${redisDefaults.maxMemoryMb}`);
    }
    if (!/@sha256:[0-9a-f]{64}$/.test(args.image)) {
        problems.push(`RegistryRedisArgs.image: "${args.image}" is not pinned by digest. Fix: use a reference such as redis:7.4-alpine@sha256:<64 hex digits>`);
    }
    const alias = args.networkAlias ?? redisDefaults.networkAlias;
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(alias)) {
        problems.push(`RegistryRedisArgs.networkAlias: "${alias}" is not a DNS label. Fix: use lower-case letters, digits and '-', e.g. ${redisDefaults.networkAlias}`);
    }
    return problems;
}

/**
 * Redis as the registry replicas' shared blob descriptor cache, on their private network. Its
 * password is generated, kept in state and written into redis.conf, which, as for the registry
 * and the front, an init container places in a config volume (the root filesystem is read-only);
 * it never appears in the container's environment or command line.
 */
export class RegistryRedis extends pulumi.ComponentResource {
    /** Redis on the network, as host:port: what RegistryRedisCacheArgs.address takes. */
    public readonly address: pulumi.Output<string>;
    /** The password Redis requires (secret). */
    public readonly password: pulumi.Output<string>;
    /** Name of the Redis container. */
    public readonly containerName: pulumi.Output<string>;

    constructor(name: string, args: RegistryRedisArgs, opts?: pulumi.ComponentResourceOptions) {
        // Before anything is registered: Redis on a public address would take password guesses from the internet.
        const problems = redisArgsProblems(args);
        if (problems.length > 0) throw new RegistryConfigError(problems);
        super("private-registry:index:RegistryRedis", name, {}, opts);
        const uid = args.uid ?? redisDefaults.uid;
        const gid = args.gid ?? redisDefaults.gid;
        const maxMemoryMb = args.maxMemoryMb ?? redisDefaults.maxMemoryMb;
        const alias = args.networkAlias ?? redisDefaults.networkAlias;
        const bindAddress = args.hostBindAddress ?? "";
        const memoryMb = redisContainerMemoryMb(maxMemoryMb);

        const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
        // Generated once and kept in state; letters and digits only, so redis.conf needs no quoting.
        const password = new random.RandomPassword(`${name}-password`, { length: 48, special: false }, { parent: this });
        const uploads = password.result.apply((p) => [configUpload("redis.conf", renderRedisConf({ password: p, maxMemoryMb }), "0400", uid, gid)]);
        // A new redis.conf replaces Redis, so it reads it.
        const config = serviceConfigVolume(name, this, { containerName: args.containerName, role: "redis-config", imageId: image.imageId, uploads, uid, gid });

        const container = new docker.Container(`${name}-container`, {
            name: args.containerName,
            image: image.imageId,
            entrypoints: ["redis-server"],
            command: [redisConfigFile],
            user: `${uid}:${gid}`,
            ...hardenedServiceSettings,
            // Only networksAdvanced: with networkMode set to the same network Docker drops the alias.
            networksAdvanced: [{ name: args.networkName, aliases: [alias] }],
            ports: bindAddress === ""
                ? []
                : [{ internal: redisContainerPort, external: args.hostPort ?? redisDefaults.hostPort, ip: bindAddress, protocol: "tcp" }],
            volumes: [{ volumeName: config.volume.name, containerPath: redisConfigDir, readOnly: true }],
            // The image declares VOLUME /data; a tmpfs there keeps Docker from making an anonymous volume
            // per container. Nothing is saved (save "", appendonly no).
            tmpfs: { "/data": "rw,noexec,nosuid,size=16m" },
            restart: "always",
            // Not waited for: the registry serves without its cache until Redis answers.
            healthcheck: { tests: ["CMD-SHELL", redisHealthcheckCommand()], ...healthcheckTiming },
            memory: memoryMb,
            memorySwap: memoryMb,
            labels: [config.digestLabel],
            mustRun: true,
        }, { parent: this, deleteBeforeReplace: true, dependsOn: [config.init, ...componentDependencies("RegistryRedis", opts)] });

        this.address = pulumi.output(`${alias}:${redisContainerPort}`);
        this.password = pulumi.secret(password.result);
        this.containerName = container.name;
        this.registerOutputs({ address: this.address, password: this.password, containerName: this.containerName });
    }
}
