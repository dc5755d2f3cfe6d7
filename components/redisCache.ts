import type * as pulumi from "@pulumi/pulumi";
import { isValidHostname, isValidIpAddress } from "./validation";

/**
 * Redis as the registry's blob descriptor cache (distribution 2.8's `redis:` section), so that
 * replicas share one cache instead of each keeping its own in memory. The registry does not
 * depend on it: when Redis cannot be reached it serves from storage, each request waiting at most
 * the dial (or read/write) timeout.
 */
export interface RegistryRedisCacheArgs {
    /** Redis as host:port, e.g. RegistryRedis's address output ("redis:6379" on the registry's network). Required. */
    readonly address: pulumi.Input<string>;
    /** Redis password (pass it as a secret, e.g. RegistryRedis's password output); it only reaches config.yml. Required. */
    readonly password: pulumi.Input<string>;
    /** Redis database number, 0-15. Default: 0. */
    readonly db?: number;
    /** Idle connections each registry keeps open to Redis. Default: 16. */
    readonly poolMaxIdle?: number;
    /** Most connections each registry opens to Redis at once; a request finding none free goes without the cache. Default: 64. */
    readonly poolMaxActive?: number;
    /** Seconds after which an idle connection is closed. Default: 300. */
    readonly poolIdleTimeoutSeconds?: number;
    /** Milliseconds a connection attempt (with its DNS lookup) may take. Default: 50. */
    readonly dialTimeoutMs?: number;
    /** Milliseconds a Redis reply may take; a blob request makes about 15 Redis calls, so a hung Redis costs it about 15 times this. Default: 50. */
    readonly readTimeoutMs?: number;
    /** Milliseconds writing a Redis command may take. Default: 50. */
    readonly writeTimeoutMs?: number;
}

/** The cache settings with the address and password resolved, as {@link redisConfigSection} renders them. */
export interface ResolvedRedisCache {
    /** host:port. */
    readonly address: string;
    /** Password. */
    readonly password: string;
    /** Database number. */
    readonly db?: number;
    /** Idle connections kept. */
    readonly poolMaxIdle?: number;
    /** Most connections at once. */
    readonly poolMaxActive?: number;
    /** Idle connection lifetime, seconds. */
    readonly poolIdleTimeoutSeconds?: number;
    /** Connect timeout, ms. */
    readonly dialTimeoutMs?: number;
    /** Read timeout, ms. */
    readonly readTimeoutMs?: number;
    /** Write timeout, ms. */
    readonly writeTimeoutMs?: number;
}

/** Defaults of the optional cache settings. */
export const redisCacheDefaults = {
    /** Database number. */
    db: 0,
    /** Idle connections kept. */
    poolMaxIdle: 16,
    /** Most connections at once. */
    poolMaxActive: 64,
    /** Idle connection lifetime, seconds. */
    poolIdleTimeoutSeconds: 300,
    // Redis on the registry's own network answers in well under a millisecond; a timeout only turns
    // into a cache miss, but a hung Redis costs each blob request about 15 of them (0.8 s at 50 ms,
    // 2.9 s at 200 ms, measured with distribution 2.8).
    /** Connect timeout, ms. */
    dialTimeoutMs: 50,
    /** Read timeout, ms. */
    readTimeoutMs: 50,
    /** Write timeout, ms. */
    writeTimeoutMs: 50,
} as const;

/** Longest timeout accepted: every request pays it while Redis is down. */
export const maxRedisTimeoutMs = 5000;

/**
 * distribution 2.8's `redis:` section (3.x names its keys differently). Every duration is given:
 * left out, 2.8 waits without a timeout, and a hung Redis would hold requests indefinitely.
 */
export function redisConfigSection(cache: ResolvedRedisCache): Record<string, unknown> {
    const d = redisCacheDefaults;
    return {
        addr: cache.address,
        password: cache.password,
        db: cache.db ?? d.db,
        dialtimeout: `${cache.dialTimeoutMs ?? d.dialTimeoutMs}ms`,
        readtimeout: `${cache.readTimeoutMs ?? d.readTimeoutMs}ms`,
        writetimeout: `${cache.writeTimeoutMs ?? d.writeTimeoutMs}ms`,
        pool: {
            maxidle: cache.poolMaxIdle ?? d.poolMaxIdle,
            maxactive: cache.poolMaxActive ?? d.poolMaxActive,
            idletimeout: `${cache.poolIdleTimeoutSeconds ?? d.poolIdleTimeoutSeconds}s`,
        },
    };
}

/** Why `address` is not host:port (a DNS name, an IPv4 address or a bracketed IPv6 address; port 1-65535), or undefined. */
export function redisAddressProblem(address: string): string | undefined {
    const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
    if (!match) return `"${address}" is not host:port`;
    const [, v6, host, port] = match;
    if (v6 !== undefined ? !(isValidIpAddress(v6) && v6.includes(":")) : !(isValidHostname(host) || isValidIpAddress(host))) {
        return `"${address}" does not start with a host name or IP address`;
    }
    if (Number(port) < 1 || Number(port) > 65535) return `"${address}" has port ${port}, outside 1-65535`;
    return undefined;
}

function integerProblem(value: number, min: number, max: number): string | undefined {
    return Number.isInteger(value) && value >= min && value <= max ? undefined : `${value} is outside ${min}-${max}`;
}

/**
 * Checks the plain values of a cache (inputs still unknown are left to Redis): each problem names
 * the key, e.g. `RegistryServerArgs.redisCache.db: 16 is outside 0-15 …. Fix: …`. With
 * `blobDescriptorCache: false` the registry caches nothing, so a Redis cache given as well is refused.
 */
export function redisCacheProblems(argsName: string, cache: RegistryRedisCacheArgs | undefined, registry: { blobDescriptorCache?: boolean } = {}): string[] {
    if (!cache) return [];
    const d = redisCacheDefaults;
    if (registry.blobDescriptorCache === false) {
        return [`${argsName}.redisCache: is set, but blobDescriptorCache is false, so the registry caches no blob descriptors. Fix: leave out redisCache, or blobDescriptorCache`];
    }
    const problems: [string, string | undefined, string][] = [];
    if (typeof cache.address === "string") {
        problems.push(["address", redisAddressProblem(cache.address), "give Redis as host:port, e.g. redis:6379 or RegistryRedis's address output"]);
    }
    if (cache.password === "") problems.push(["password", "is empty", "give Redis's password as a secret, e.g. RegistryRedis's password output"]);
    const db = cache.db ?? d.db;
    problems.push(["db", integerProblem(db, 0, 15) && `${integerProblem(db, 0, 15)} (Redis's 16 databases)`, `use ${d.db}`]);
    const maxIdle = cache.poolMaxIdle ?? d.poolMaxIdle;
    const maxActive = cache.poolMaxActive ?? d.poolMaxActive;
    const maxActiveProblem = integerProblem(maxActive, 1, 10000);
    problems.push(["poolMaxActive", maxActiveProblem, `use ${d.poolMaxActive}`]);
    problems.push(["poolMaxIdle", integerProblem(maxIdle, 1, 10000)
        ?? (!maxActiveProblem && maxIdle > maxActive ? `${maxIdle} is more than poolMaxActive (${maxActive}); idle connections beyond it are never kept` : undefined),
    `use at most poolMaxActive, e.g. ${d.poolMaxIdle}`]);
    const idle = cache.poolIdleTimeoutSeconds ?? d.poolIdleTimeoutSeconds;
    problems.push(["poolIdleTimeoutSeconds", integerProblem(idle, 1, 86400), `use ${d.poolIdleTimeoutSeconds}`]);
    for (const field of ["dialTimeoutMs", "readTimeoutMs", "writeTimeoutMs"] as const) {
        const value = cache[field] ?? d[field];
        const problem = integerProblem(value, 1, maxRedisTimeoutMs);
        problems.push([field, problem && `${problem}: every request waits up to it while Redis is down, and 0 would wait forever`, `use ${d[field]}`]);
    }
    return problems.filter(([, problem]) => problem !== undefined)
        .map(([field, problem, fix]) => `${argsName}.redisCache.${field}: ${problem}. Fix: ${fix}`);
}
