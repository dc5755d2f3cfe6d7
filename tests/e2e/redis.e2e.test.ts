/**
 * RegistryRedis applied for real by the local apply harness (fixtures/redis: Redis on a network of
 * its own), checked with redis-cli and `docker inspect`. Then Debian's registry 2.8, with a
 * config.yml from renderRegistryConfig, keeps its blob descriptors in it: on the host's loopback
 * (pushes, a stopped Redis, and garbage collection, after which Redis must be flushed), and in a
 * container on the network as deployed (what a hung or stopped Redis costs each request).
 * The password reaches redis-cli only through REDISCLI_AUTH in its environment, never argv.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { registryConfigObject } from "../../components/registryConfig";
import { redisHealthcheckCommand } from "../../components/redis";
import { down, REPO_ROOT, secretOutputNames, up } from "../local-apply";

const projectDir = path.join(__dirname, "fixtures", "redis");
const opts = { projectDir };
const stack = "rediscache";
const prefix = `redis-e2e-${process.pid}`;
const container = `${prefix}-redis`;
const image = (YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")).config["private-registry:redisImage"] as { default: string }).default;
const standIn = image.split("@")[0];
const work = fs.mkdtempSync(path.join(os.tmpdir(), "redis-e2e-"));

let password = "";
let registry: ChildProcess | undefined;
let registryLog = "";

/** A command's result; the password goes to it only as REDISCLI_AUTH in its environment. */
function sh(file: string, args: string[], withPassword = false): { code: number; out: string } {
    const r = spawnSync(file, args, {
        encoding: "utf8", timeout: 30_000,
        env: { ...process.env, ...(withPassword ? { REDISCLI_AUTH: password } : {}) },
    });
    return { code: r.status ?? -1, out: `${r.stdout ?? ""}${r.stderr ?? ""}`.trim() };
}
const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8", timeout: 60_000 }).trim();
/** redis-cli inside the Redis container; `-e REDISCLI_AUTH` without a value passes docker's own environment variable. */
const redisCli = (auth: boolean, ...args: string[]) => sh("docker", ["exec", ...(auth ? ["-e", "REDISCLI_AUTH"] : []), container, "redis-cli", ...args], auth);
const absent = (...args: string[]) => spawnSync("docker", args, { stdio: "ignore" }).status !== 0;

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer().once("error", reject).listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

const repo = "e2e/redis";
const digestOf = (data: Buffer) => `sha256:${crypto.createHash("sha256").update(data).digest("hex")}`;

/** Pushes a blob with the registry API (a monolithic upload); resolves with the PUT's status. */
async function pushBlob(base: string, data: Buffer): Promise<number> {
    const started = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" });
    expect(started.status).toBe(202);
    const location = new URL(started.headers.get("location") ?? "", base);
    location.searchParams.set("digest", digestOf(data));
    const put = await fetch(location, { method: "PUT", body: new Uint8Array(data), headers: { "Content-Type": "application/octet-stream" } });
    return put.status;
}

/** HEAD of a blob: its status and how long it took, ms. */
async function headBlob(base: string, digest: string): Promise<{ status: number; ms: number }> {
    const t0 = performance.now();
    const r = await fetch(`${base}/v2/${repo}/blobs/${digest}`, { method: "HEAD" });
    return { status: r.status, ms: Math.round(performance.now() - t0) };
}

/** Three HEADs in a row, logged under `label`. */
async function timedHeads(label: string, base: string, digest: string): Promise<{ status: number; ms: number }[]> {
    const heads = [await headBlob(base, digest), await headBlob(base, digest), await headBlob(base, digest)];
    console.log(`blob HEAD, ${label}: ${heads.map((h) => `${h.status} in ${h.ms} ms`).join(", ")}`);
    return heads;
}

/** Waits until Redis answers PONG again after a start or unpause. */
async function redisAnswers(): Promise<void> {
    for (let i = 0; i < 50 && redisCli(true, "ping").out !== "PONG"; i++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(redisCli(true, "ping").out).toBe("PONG");
}

afterAll(async () => {
    if (registry?.exitCode === null) registry.kill("SIGKILL");
    spawnSync("docker", ["rm", "-f", `${prefix}-registry`], { stdio: "ignore" });
    spawnSync("docker", ["unpause", container], { stdio: "ignore" });
    await down(stack, opts).catch(() => undefined);
    // Only what this suite made, by name.
    for (const args of [["rm", "-f", container, `${container}-init`], ["volume", "rm", `${container}-config`], ["network", "rm", `${prefix}-net`]]) {
        spawnSync("docker", args, { stdio: "ignore" });
    }
    fs.rmSync(path.join(projectDir, ".local-state"), { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
});

describe("RegistryRedis applied for real", () => {
    it("up starts Redis on its network only, and its password is a secret output that no log shows", async () => {
        const r = await up(stack, { prefix, image }, opts);
        password = r.outputs.password as string;
        expect(password).toMatch(/^[A-Za-z0-9]{48}$/);
        expect(r.outputs.address).toBe("redis:6379");
        expect(r.outputs.containerName).toBe(container);
        expect(secretOutputNames(stack, opts)).toEqual(["password"]);
        expect(r.stdout + r.stderr).not.toContain(password);
        expect(r.stdout).toMatch(/is matched by name:tag/);
        expect(docker("inspect", "--format", "{{.State.Running}} {{.HostConfig.RestartPolicy.Name}}", container)).toBe("true always");
        expect(docker("inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", container)).toBe(`${prefix}-net`);
        // Nothing published.
        expect(docker("inspect", "--format", "{{json .HostConfig.PortBindings}}", container)).toMatch(/^(\{\}|null)$/);
        expect(docker("port", container)).toBe("");
    });

    it("requires the password, which works, and runs as a cache: nothing saved, LRU eviction at maxmemory", () => {
        expect(redisCli(false, "ping").out).toMatch(/NOAUTH Authentication required/);
        expect(sh("docker", ["exec", "-e", "REDISCLI_AUTH=wrong-password", container, "redis-cli", "ping"]).out).toMatch(/WRONGPASS|invalid password/);
        expect(redisCli(true, "ping").out).toBe("PONG");
        expect(redisCli(true, "config", "get", "save").out).toBe("save");
        expect(redisCli(true, "config", "get", "appendonly").out).toBe("appendonly\nno");
        expect(redisCli(true, "config", "get", "maxmemory").out).toBe(`maxmemory\n${64 * 1024 * 1024}`);
        expect(redisCli(true, "config", "get", "maxmemory-policy").out).toBe("maxmemory-policy\nallkeys-lru");
        expect(redisCli(true, "config", "get", "protected-mode").out).toBe("protected-mode\nyes");
    });

    it("another container on the network reaches it by its alias", () => {
        const r = sh("docker", ["run", "--rm", "--network", `${prefix}-net`, "-e", "REDISCLI_AUTH", "--entrypoint", "redis-cli", standIn, "-h", "redis", "ping"], true);
        expect(r).toEqual({ code: 0, out: "PONG" });
    });

    it("keeps the password out of docker inspect and the process list; runs hardened; its healthcheck answers", () => {
        for (const c of [container, `${container}-init`]) expect(docker("inspect", c)).not.toContain(password);
        const inspect = JSON.parse(docker("inspect", container))[0];
        expect(inspect.Config.Env.filter((e: string) => !e.startsWith("PATH="))).toEqual([]);
        expect(inspect.Config.User).toBe("999:1000");
        expect(inspect.HostConfig.ReadonlyRootfs).toBe(true);
        expect(inspect.HostConfig.CapDrop).toEqual(["ALL"]);
        expect(inspect.HostConfig.SecurityOpt).toEqual(["no-new-privileges:true"]);
        expect(inspect.Config.Healthcheck.Test).toEqual(["CMD-SHELL", redisHealthcheckCommand()]);
        // Redis sets its process title to its address; the command line never held more than redis.conf's path.
        expect(sh("docker", ["exec", container, "cat", "/proc/1/cmdline"]).out).toMatch(/^redis-server \*:6379\0*$/);
        expect(inspect.Path).toBe("redis-server");
        expect(inspect.Args).toEqual(["/usr/local/etc/redis/redis.conf"]);
        expect(sh("docker", ["exec", container, "stat", "-c", "%a %u:%g", "/usr/local/etc/redis/redis.conf"]).out).toBe("400 999:1000");
        expect(sh("docker", ["exec", container, "touch", "/x"]).code).not.toBe(0);
        // The healthcheck's own command, run as Docker runs it: it reads the password from redis.conf.
        expect(sh("docker", ["exec", container, "sh", "-c", redisHealthcheckCommand()]).code).toBe(0);
    });

    it("a second up changes nothing", async () => {
        const id = docker("inspect", "--format", "{{.Id}}", container);
        const r = await up(stack, { prefix, image }, opts);
        expect(r.stdout).not.toMatch(/^[+~-]/m);
        expect(docker("inspect", "--format", "{{.Id}}", container)).toBe(id);
    });
});

describe("the registry keeps its blob descriptors in it", () => {
    let redisPort: number;
    let registryUrl: string;
    let configFile: string;
    const root = path.join(work, "storage");
    const blob = crypto.randomBytes(4096);
    const digest = digestOf(blob);

    async function startRegistry(): Promise<void> {
        const env = { ...process.env };
        delete env.AWS_CA_BUNDLE;
        registry = spawn("/usr/bin/docker-registry", ["serve", configFile], { env, stdio: ["ignore", "pipe", "pipe"] });
        registry.stdout?.on("data", (d: Buffer) => { registryLog += d.toString(); });
        registry.stderr?.on("data", (d: Buffer) => { registryLog += d.toString(); });
        for (let i = 0; i < 100; i++) {
            if (registry.exitCode !== null) throw new Error(`the registry exited:\n${registryLog}`);
            if (await fetch(`${registryUrl}/v2/`).then((r) => r.ok, () => false)) return;
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        throw new Error(`the registry did not answer within 10 s:\n${registryLog}`);
    }

    async function stopRegistry(): Promise<void> {
        const child = registry;
        if (!child || child.exitCode !== null) return;
        await new Promise((resolve) => { child.once("exit", resolve); child.kill("SIGTERM"); });
    }

    beforeAll(async () => {
        redisPort = await freePort();
        const registryPort = await freePort();
        registryUrl = `http://127.0.0.1:${registryPort}`;
        // Published on loopback now: the registry runs on the host. The port change replaces Redis; the password stays.
        const r = await up(stack, { prefix, image, hostBindAddress: "127.0.0.1", hostPort: redisPort }, opts);
        expect(r.outputs.password).toBe(password);
        const config = registryConfigObject({ httpSecret: "e2e", redisCache: { address: `127.0.0.1:${redisPort}`, password } }) as any;
        // Plain HTTP on loopback, no login, storage in a temporary directory; the cache as rendered.
        config.http.addr = `127.0.0.1:${registryPort}`;
        config.http.debug.addr = `127.0.0.1:${await freePort()}`;
        config.http.draintimeout = "1s";
        delete config.http.tls;
        delete config.auth;
        config.storage.filesystem.rootdirectory = root;
        configFile = path.join(work, "config.yml");
        fs.writeFileSync(configFile, YAML.stringify(config), { mode: 0o600 });
        await startRegistry();
    });

    afterAll(async () => {
        await stopRegistry();
    });

    it("Redis is published on the loopback address and port asked for, and nowhere else", () => {
        expect(docker("port", container)).toBe(`6379/tcp -> 127.0.0.1:${redisPort}`);
        expect(sh("redis-cli", ["-h", "127.0.0.1", "-p", String(redisPort), "ping"], true).out).toBe("PONG");
    });

    it("a pushed blob's descriptor lands in Redis", async () => {
        expect(await pushBlob(registryUrl, blob)).toBe(201);
        expect((await headBlob(registryUrl, digest)).status).toBe(200);
        expect(Number(redisCli(true, "dbsize").out)).toBeGreaterThan(0);
        expect(redisCli(true, "exists", `blobs::${digest}`).out).toBe("1");
        expect(redisCli(true, "hget", `blobs::${digest}`, "size").out).toBe(String(blob.length));
    });

    it("a stopped Redis costs requests next to nothing, and pushes still work", async () => {
        docker("stop", "-t", "1", container);
        try {
            for (const h of await timedHeads("registry on the host, Redis's published port closed", registryUrl, digest)) {
                expect(h.status).toBe(200);
                expect(h.ms).toBeLessThan(500);
            }
            expect(await pushBlob(registryUrl, crypto.randomBytes(1024))).toBe(201);
        } finally {
            docker("start", container);
        }
        await redisAnswers();
        // With save "" nothing came back: the cache refills from storage.
        expect(redisCli(true, "dbsize").out).toBe("0");
        expect((await headBlob(registryUrl, digest)).status).toBe(200);
        expect(redisCli(true, "exists", `blobs::${digest}`).out).toBe("1");
    });

    it("after garbage collection Redis still vouches for the deleted blob, across a registry restart, until it is flushed", async () => {
        await stopRegistry();
        const gc = sh("/usr/bin/docker-registry", ["garbage-collect", configFile]);
        expect(gc.code).toBe(0);
        expect(gc.out).toContain(`blob eligible for deletion: ${digest}`);
        expect(fs.existsSync(path.join(root, "docker/registry/v2/blobs/sha256", digest.slice(7, 9), digest.slice(7)))).toBe(false);
        await startRegistry();
        // The restart that clears an in-memory cache leaves Redis as it was.
        expect((await headBlob(registryUrl, digest)).status).toBe(200);
        expect(redisCli(true, "flushdb").out).toBe("OK");
        expect((await headBlob(registryUrl, digest)).status).toBe(404);
    });
});

describe("as deployed: a registry container reaching Redis by its alias on the network", () => {
    const registryImage = (YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")).config["private-registry:image"] as { default: string }).default.split("@")[0];
    const blob = crypto.randomBytes(4096);
    const digest = digestOf(blob);
    let base: string;

    beforeAll(async () => {
        const port = await freePort();
        base = `http://127.0.0.1:${port}`;
        const config = registryConfigObject({ httpSecret: "e2e", redisCache: { address: "redis:6379", password } }) as any;
        delete config.http.tls;
        delete config.auth;
        const configFile = path.join(work, "network-config.yml");
        fs.writeFileSync(configFile, YAML.stringify(config), { mode: 0o600 });
        docker("run", "-d", "--name", `${prefix}-registry`, "--network", `${prefix}-net`, "-p", `127.0.0.1:${port}:5000`,
            "-v", `${configFile}:/etc/distribution/config.yml:ro`, "--tmpfs", "/var/lib/registry", "--entrypoint", "registry", registryImage,
            "serve", "/etc/distribution/config.yml");
        for (let i = 0; i < 100 && !(await fetch(`${base}/v2/`).then((r) => r.ok, () => false)); i++) await new Promise((resolve) => setTimeout(resolve, 100));
        expect(await pushBlob(base, blob)).toBe(201);
        expect(redisCli(true, "exists", `blobs::${digest}`).out).toBe("1");
    });

    afterAll(() => {
        spawnSync("docker", ["rm", "-f", `${prefix}-registry`], { stdio: "ignore" });
    });

    it("a hung (paused) Redis costs each blob request about 15 of its 50 ms timeouts, and the request still succeeds", async () => {
        docker("pause", container);
        try {
            for (const h of await timedHeads("registry on the network, Redis paused", base, digest)) {
                expect(h.status).toBe(200);
                expect(h.ms).toBeLessThan(1500);
            }
        } finally {
            docker("unpause", container);
        }
        await redisAnswers();
    });

    it("a stopped Redis, whose alias no longer resolves, costs each blob request a few failed lookups", async () => {
        docker("stop", "-t", "1", container);
        try {
            for (const h of await timedHeads("registry on the network, Redis stopped", base, digest)) {
                expect(h.status).toBe(200);
                expect(h.ms).toBeLessThan(1500);
            }
        } finally {
            docker("start", container);
        }
        await redisAnswers();
    });
});

describe("down", () => {
    it("removes Redis, its init container, its config volume and the network", async () => {
        await down(stack, opts);
        expect(absent("inspect", container)).toBe(true);
        expect(absent("inspect", `${container}-init`)).toBe(true);
        expect(absent("volume", "inspect", `${container}-config`)).toBe(true);
        expect(absent("network", "inspect", `${prefix}-net`)).toBe(true);
    });
});
