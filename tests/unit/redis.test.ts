/**
 * RegistryRedis under Pulumi's mocks: what it declares, that its password only travels inside a
 * secret upload, and what it refuses before declaring anything; and its pure parts (redis.conf,
 * the healthcheck, the argument checks).
 */
import * as pulumi from "@pulumi/pulumi";
import { privateBindAddressProblem } from "../../components/metrics";
import { RegistryConfigError } from "../../components/validation";
import { recordRegistrations, Registration } from "./support/registrations";
import {
    redisArgsProblems, redisConfigFile, redisContainerMemoryMb, redisHealthcheckCommand, RegistryRedis, RegistryRedisArgs, renderRedisConf,
} from "../../components/redis";

const registered: Registration[] = [];
const mockPassword = (name: string) => `${name.replace(/[^A-Za-z0-9]/g, "")}Pw${"x".repeat(48)}`.slice(0, 48);

beforeAll(async () => {
    await recordRegistrations(registered, (type, name) => ({
        ...(type === "random:index/randomPassword:RandomPassword" ? { result: mockPassword(name) } : {}),
        ...(type === "docker:index/remoteImage:RemoteImage" ? { imageId: `sha256:${"a".repeat(64)}` } : {}),
    }));
});

const image = `redis:7.4-alpine@sha256:${"b".repeat(64)}`;
const base: RegistryRedisArgs = { image, containerName: "registry-redis", networkName: "registry-net" };

function resolve<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((done) => output.apply((v) => { done(v); return v; }));
}

const isSecret = (value: any) => value !== null && typeof value === "object" && value[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;
const reveal = (value: any): any => {
    if (isSecret(value)) return reveal(value.value);
    if (Array.isArray(value)) return value.map(reveal);
    if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
    return value;
};

async function declare(name: string, args: Partial<RegistryRedisArgs> = {}) {
    const redis = new RegistryRedis(name, { ...base, ...args });
    const urn = await resolve(redis.urn);
    const outputs = { address: await resolve(redis.address), password: await resolve(redis.password), containerName: await resolve(redis.containerName) };
    // Children register asynchronously after their inputs resolve.
    await new Promise((done) => setTimeout(done, 100));
    const children = registered.filter((r) => r.parent === urn);
    const child = (suffix: string) => {
        const found = children.filter((c) => c.name === `${name}-${suffix}`);
        expect(found).toHaveLength(1);
        return found[0];
    };
    return { redis, urn, outputs, children, child };
}

describe("RegistryRedis", () => {
    it("declares an image, a password, a config volume, an init container and Redis, all its children", async () => {
        const { urn, children } = await declare("cache");
        expect(urn).toMatch(/::private-registry:index:RegistryRedis::cache$/);
        expect(children.map((c) => [c.type, c.name]).sort()).toEqual([
            ["docker:index/container:Container", "cache-container"],
            ["docker:index/container:Container", "cache-init"],
            ["docker:index/remoteImage:RemoteImage", "cache-image"],
            ["docker:index/volume:Volume", "cache-config"],
            ["random:index/randomPassword:RandomPassword", "cache-password"],
        ]);
    });

    it("generates a 48-character password of letters and digits", async () => {
        const { child } = await declare("pw");
        expect(child("password").inputs).toMatchObject({ length: 48, special: false });
    });

    it("puts the password only into redis.conf, uploaded as a secret: never in an env, command, label or healthcheck", async () => {
        const { child, children, outputs } = await declare("secret");
        const { password } = outputs;
        expect(password).toBe(mockPassword("secret-password"));
        const init = child("init");
        expect(isSecret(init.inputs.uploads)).toBe(true);
        expect(reveal(init.inputs.uploads)).toEqual([{
            file: "/config/redis.conf", content: renderRedisConf({ password, maxMemoryMb: 256 }), permissions: "0400", owner: "999", group: "1000",
        }]);
        for (const container of children.filter((c) => c.type === "docker:index/container:Container")) {
            const { uploads, ...rest } = reveal(container.inputs);
            void uploads;
            expect({ name: container.name, inputs: JSON.stringify(rest) }).toEqual({ name: container.name, inputs: expect.not.stringContaining(password) });
            for (const key of ["envs", "command", "entrypoints", "labels", "healthcheck"]) {
                expect(JSON.stringify(rest[key] ?? null)).not.toContain(password);
            }
        }
        expect(child("container").inputs.envs ?? []).toEqual([]);
    });

    it("runs Redis hardened: read-only, no capabilities, no new privileges, its own user, restarted, logs capped", async () => {
        const { child } = await declare("hard");
        const c = child("container").inputs;
        expect(c).toMatchObject({
            name: "registry-redis",
            entrypoints: ["redis-server"],
            command: [redisConfigFile],
            user: "999:1000",
            readOnly: true,
            capabilities: { drops: ["ALL"] },
            securityOpts: ["no-new-privileges:true"],
            restart: "always",
            logDriver: "json-file",
            logOpts: { "max-size": "10m", "max-file": "3" },
            memory: redisContainerMemoryMb(256),
            memorySwap: redisContainerMemoryMb(256),
            tmpfs: { "/data": "rw,noexec,nosuid,size=16m" },
            mustRun: true,
        });
        expect(c.healthcheck.tests).toEqual(["CMD-SHELL", redisHealthcheckCommand()]);
        expect(c.volumes).toEqual([{ volumeName: "registry-redis-config", containerPath: "/usr/local/etc/redis", readOnly: true }]);
        expect(child("container").deleteBeforeReplace).toBe(true);
        // The init container is the only one with capabilities, those to hand the volume over, and no network.
        expect(child("init").inputs).toMatchObject({
            networkMode: "none", capabilities: { drops: ["ALL"], adds: ["CHOWN", "FOWNER"] }, securityOpts: ["no-new-privileges:true"], user: "0:0",
        });
    });

    it("joins the registry's network only through networksAdvanced, under its alias, and publishes nothing without hostBindAddress", async () => {
        const { child, outputs } = await declare("net");
        const c = child("container").inputs;
        expect(c.networksAdvanced).toEqual([{ name: "registry-net", aliases: ["redis"] }]);
        expect(c.networkMode).toBeUndefined();
        expect(c.ports ?? []).toEqual([]);
        expect(outputs.address).toBe("redis:6379");
        expect(outputs.containerName).toBe("registry-redis");
    });

    it("publishes port 6379 on the loopback or private address named, at port", async () => {
        const { child } = await declare("published", { hostBindAddress: "127.0.0.1", hostPort: 16379, networkAlias: "cache" });
        const c = child("container").inputs;
        expect(c.ports).toEqual([{ internal: 6379, external: 16379, ip: "127.0.0.1", protocol: "tcp" }]);
        expect(c.networksAdvanced).toEqual([{ name: "registry-net", aliases: ["cache"] }]);
    });

    it("exports the password as a secret", async () => {
        const redis = new RegistryRedis("out", base);
        expect(await pulumi.isSecret(redis.password)).toBe(true);
        expect(await pulumi.isSecret(redis.address)).toBe(false);
        await resolve(redis.urn);
    });

    it("sizes maxmemory and the container's limit from maxMemoryMb", async () => {
        const { child, outputs } = await declare("small", { maxMemoryMb: 64 });
        expect(child("container").inputs.memory).toBe(96);
        expect(reveal(child("init").inputs.uploads)[0].content).toContain("maxmemory 64mb\n");
        expect(outputs.password).toHaveLength(48);
    });

    it.each([
        ["0.0.0.0", /every interface, the public one included/],
        ["::", /every interface/],
        ["203.0.113.7", /reserved address, not a loopback or private one, so Redis \(a password, no TLS\) could be reached from outside/],
        ["8.8.8.8", /public address/],
        ["redis.example.com", /not an IPv4 or IPv6 address/],
    ])("refuses hostBindAddress %s before declaring anything", async (hostBindAddress, message) => {
        const name = `refused-${hostBindAddress.replace(/[^a-z0-9]/gi, "")}`;
        expect(() => new RegistryRedis(name, { ...base, hostBindAddress })).toThrow(message);
        await new Promise((done) => setTimeout(done, 50));
        expect(registered.filter((r) => r.name.startsWith(name))).toEqual([]);
    });

    it("refuses an image not pinned by digest", () => {
        expect(() => new RegistryRedis("unpinned", { ...base, image: "redis:7.4-alpine" })).toThrow(RegistryConfigError);
        expect(() => new RegistryRedis("unpinned", { ...base, image: "redis:7.4-alpine" })).toThrow(/RegistryRedisArgs\.image: "redis:7\.4-alpine" is not pinned by digest/);
    });
});

describe("redis.conf", () => {
    const text = renderRedisConf({ password: "A".repeat(48), maxMemoryMb: 256 });
    const directives = Object.fromEntries(text.split("\n").filter((l) => l && !l.startsWith("#")).map((l) => [l.split(" ")[0], l.slice(l.indexOf(" ") + 1)]));

    it("is a cache: no persistence, LRU eviction at maxmemory, a password for everyone, protected mode on", () => {
        expect(directives).toEqual({
            bind: "* -::*", port: "6379", "protected-mode": "yes", requirepass: "A".repeat(48),
            save: '""', appendonly: "no", maxmemory: "256mb", "maxmemory-policy": "allkeys-lru",
        });
    });

    it.each(["short", `${"a".repeat(40)} x`, `${"a".repeat(40)}"`, `${"a".repeat(40)}\nrequirepass ""`])("refuses the password %j", (password) => {
        expect(() => renderRedisConf({ password, maxMemoryMb: 256 })).toThrow(/letters and digits/);
    });
});

describe("the healthcheck", () => {
    it("passes the password in REDISCLI_AUTH of the probe alone, read from redis.conf; never as an argument", () => {
        const command = redisHealthcheckCommand();
        expect(command).toContain(`REDISCLI_AUTH="$(sed -n 's/^requirepass //p' ${redisConfigFile})" redis-cli`);
        expect(command).not.toMatch(/ -a |--pass|--user/);
    });
});

describe("RegistryRedis's argument checks", () => {
    it("accepts the defaults and a loopback or private hostBindAddress", () => {
        expect(redisArgsProblems(base)).toEqual([]);
        for (const hostBindAddress of ["127.0.0.1", "10.0.0.5", "::1", "fd00::5"]) expect(redisArgsProblems({ ...base, hostBindAddress })).toEqual([]);
    });

    it("names each bad value and its fix", () => {
        expect(redisArgsProblems({ ...base, hostPort: 0, maxMemoryMb: 8, networkAlias: "Redis_1" })).toEqual([
            "RegistryRedisArgs.hostPort: 0 is outside 1-65535. Fix: use 6379",
            "RegistryRedisArgs.maxMemoryMb: 8 is outside 16-65536. Fix: use 256",
            "RegistryRedisArgs.networkAlias: \"Redis_1\" is not a DNS label. Fix: use lower-case letters, digits and '-', e.g. redis",
        ]);
        expect(redisArgsProblems({ ...base, hostBindAddress: "0.0.0.0" })).toEqual([
            "RegistryRedisArgs.hostBindAddress: \"0.0.0.0\" publishes Redis (a password, no TLS) on every interface, the public one included. Fix: use a loopback or private address of the Docker host, e.g. 127.0.0.1, or \"\" to publish nothing",
        ]);
    });

    it("shares its address ranges with the metrics address check", () => {
        expect(privateBindAddressProblem("0.0.0.0", "the unauthenticated debug server", "metrics, health, Go profiling"))
            .toBe("\"0.0.0.0\" publishes the unauthenticated debug server (metrics, health, Go profiling) on every interface, the public one included");
        expect(privateBindAddressProblem("100.64.0.7", "Redis")).toBeUndefined();
    });

    it("keeps the container's limit above maxmemory for buffers and fragmentation", () => {
        expect(redisContainerMemoryMb(64)).toBe(96);
        expect(redisContainerMemoryMb(256)).toBe(320);
        expect(redisContainerMemoryMb(1024)).toBe(1280);
    });
});
