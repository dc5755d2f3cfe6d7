/**
 * The registry side of a Redis blob descriptor cache: distribution 2.8's `redis:` section, where
 * config.yml puts it, and the checks on its settings.
 */
import * as YAML from "yaml";
import { redisAddressProblem, redisCacheProblems, redisConfigSection, RegistryRedisCacheArgs } from "../../components/redisCache";
import { renderRegistryConfig } from "../../components/registryConfig";

const cache = { address: "redis:6379", password: "p".repeat(48) };

describe("the redis section", () => {
    it("gives every key distribution 2.8 reads, durations included, with the defaults", () => {
        expect(redisConfigSection(cache)).toEqual({
            addr: "redis:6379", password: "p".repeat(48), db: 0,
            dialtimeout: "50ms", readtimeout: "50ms", writetimeout: "50ms",
            pool: { maxidle: 16, maxactive: 64, idletimeout: "300s" },
        });
    });

    it("carries the settings given", () => {
        expect(redisConfigSection({
            ...cache, db: 3, poolMaxIdle: 4, poolMaxActive: 8, poolIdleTimeoutSeconds: 60, dialTimeoutMs: 30, readTimeoutMs: 75, writeTimeoutMs: 100,
        })).toEqual({
            addr: "redis:6379", password: "p".repeat(48), db: 3,
            dialtimeout: "30ms", readtimeout: "75ms", writetimeout: "100ms",
            pool: { maxidle: 4, maxactive: 8, idletimeout: "60s" },
        });
    });
});

describe("config.yml with a Redis cache", () => {
    const parse = (options: Partial<Parameters<typeof renderRegistryConfig>[0]>) => YAML.parse(renderRegistryConfig({ httpSecret: "s", ...options }));

    it("caches blob descriptors in Redis and renders the top-level redis section", () => {
        const config = parse({ redisCache: cache });
        expect(config.storage.cache).toEqual({ blobdescriptor: "redis" });
        expect(config.redis).toEqual(redisConfigSection(cache));
    });

    it("keeps the in-memory cache and no redis section without one", () => {
        const config = parse({});
        expect(config.storage.cache).toEqual({ blobdescriptor: "inmemory" });
        expect(config.redis).toBeUndefined();
    });

    it("caches nothing with blobDescriptorCache false, and leaves the password out of the file", () => {
        const text = renderRegistryConfig({ httpSecret: "s", blobDescriptorCache: false, redisCache: cache });
        expect(YAML.parse(text).storage.cache).toBeUndefined();
        expect(YAML.parse(text).redis).toBeUndefined();
        expect(text).not.toContain(cache.password);
    });

    it("keeps the cache beside S3 storage and the read-only standby's settings", () => {
        const s3 = { region: "us-east-1", bucket: "b-1", accessKey: "a", secretKey: "s" };
        const config = parse({ redisCache: cache, s3Storage: s3, readOnly: true });
        expect(config.storage.cache).toEqual({ blobdescriptor: "redis" });
        expect(config.storage.maintenance.readonly).toEqual({ enabled: true });
        expect(config.redis.addr).toBe("redis:6379");
    });

    it("quotes a password YAML would misread", () => {
        const tricky = 'x: "y" # z';
        expect(parse({ redisCache: { ...cache, password: tricky } }).redis.password).toBe(tricky);
    });
});

describe("redisCacheProblems", () => {
    const problems = (change: Partial<RegistryRedisCacheArgs>) => redisCacheProblems("RegistryServerArgs", { ...cache, ...change });

    it("accepts the defaults, the extremes of each range, and no cache", () => {
        expect(problems({})).toEqual([]);
        expect(problems({ db: 15, poolMaxIdle: 1, poolMaxActive: 1, poolIdleTimeoutSeconds: 1, dialTimeoutMs: 5000, readTimeoutMs: 1, writeTimeoutMs: 5000 })).toEqual([]);
        expect(redisCacheProblems("RegistryServerArgs", undefined)).toEqual([]);
    });

    it.each<[Partial<RegistryRedisCacheArgs>, string, RegExp]>([
        [{ db: 16 }, "db", /16 is outside 0-15 \(Redis's 16 databases\)\. Fix: use 0$/],
        [{ db: -1 }, "db", /-1 is outside 0-15/],
        [{ db: 1.5 }, "db", /1\.5 is outside 0-15/],
        [{ poolMaxActive: 0 }, "poolMaxActive", /0 is outside 1-10000\. Fix: use 64$/],
        [{ poolMaxIdle: 0 }, "poolMaxIdle", /0 is outside 1-10000/],
        [{ poolMaxIdle: 65 }, "poolMaxIdle", /65 is more than poolMaxActive \(64\)/],
        [{ poolIdleTimeoutSeconds: 0 }, "poolIdleTimeoutSeconds", /0 is outside 1-86400\. Fix: use 300$/],
        [{ dialTimeoutMs: 0 }, "dialTimeoutMs", /0 is outside 1-5000: every request waits up to it while Redis is down, and 0 would wait forever\. Fix: use 50$/],
        [{ readTimeoutMs: 10000 }, "readTimeoutMs", /10000 is outside 1-5000/],
        [{ writeTimeoutMs: 0.5 }, "writeTimeoutMs", /0\.5 is outside 1-5000/],
        [{ address: "redis" }, "address", /"redis" is not host:port\. Fix: give Redis as host:port/],
        [{ address: "redis:0" }, "address", /has port 0, outside 1-65535/],
        [{ address: "redis:70000" }, "address", /has port 70000, outside 1-65535/],
        [{ address: "-redis:6379" }, "address", /does not start with a host name or IP address/],
        [{ address: "redis://redis:6379" }, "address", /is not host:port/],
        [{ password: "" }, "password", /is empty\. Fix: give Redis's password as a secret/],
    ])("refuses %j, naming the key", (change, field, message) => {
        const found = problems(change);
        expect(found).toHaveLength(1);
        expect(found[0].startsWith(`RegistryServerArgs.redisCache.${field}: `)).toBe(true);
        expect(found[0]).toMatch(message);
    });

    it("reports every problem at once", () => {
        expect(problems({ db: 99, dialTimeoutMs: 0, address: "nope" }).map((p) => p.split(":")[0]))
            .toEqual(["RegistryServerArgs.redisCache.address", "RegistryServerArgs.redisCache.db", "RegistryServerArgs.redisCache.dialTimeoutMs"]);
    });

    it("leaves an address or password not known yet (an output) to Redis", () => {
        const unknown = { address: Promise.resolve("nope"), password: Promise.resolve("") } as unknown as RegistryRedisCacheArgs;
        expect(redisCacheProblems("PrivateRegistryArgs", unknown)).toEqual([]);
    });

    it("refuses a Redis cache when blobDescriptorCache turns caching off", () => {
        expect(redisCacheProblems("RegistryServerArgs", cache, { blobDescriptorCache: false })).toEqual([
            "RegistryServerArgs.redisCache: is set, but blobDescriptorCache is false, so the registry caches no blob descriptors. Fix: leave out redisCache, or blobDescriptorCache",
        ]);
        expect(redisCacheProblems("RegistryServerArgs", cache, { blobDescriptorCache: true })).toEqual([]);
    });
});

describe("redisAddressProblem", () => {
    it.each(["redis:6379", "registry-redis.internal:16379", "10.0.0.5:6379", "[fd00::5]:6379", "127.0.0.1:1", "r:65535"])("accepts %s", (address) => {
        expect(redisAddressProblem(address)).toBeUndefined();
    });

    it.each(["", ":6379", "redis:", "fd00::5:6379", "[redis]:6379", "[10.0.0.5]:6379", "redis:6379:1", "redis :6379", "redis:123456"])("refuses %j", (address) => {
        expect(redisAddressProblem(address)).toEqual(expect.any(String));
    });
});
