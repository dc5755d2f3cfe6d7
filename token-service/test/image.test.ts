/**
 * The container image, built with the classic builder and run the way the stack runs it: read-only
 * root, no capabilities, no-new-privileges, uid 1000, a tmpfs /tmp, the settings folder mounted
 * read-only at /etc/token-service, published on loopback. Driven with curl from the host.
 */
import { X509Certificate, randomBytes } from "node:crypto";
import { chmodSync, chownSync, copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jwtVerify } from "jose";
import { argDefault, baseImageBuildArgs, docker, dockerStatus, tagOf } from "./support/docker";
import { ACCESS_YAML, Fixture, makeFixture, PASSWORDS } from "./support/fixture";
import { curl, freePort, waitFor } from "./support/processes";

const PACKAGE_DIR = join(__dirname, "..");
const DOCKERFILE = readFileSync(join(PACKAGE_DIR, "Dockerfile"), "utf8");
const PACKAGE = JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const UNIQUE = `${process.pid}-${randomBytes(3).toString("hex")}`;
const IMAGE = `private-registry-token-service:test-${UNIQUE}`;
const CONTAINER = `token-service-image-test-${UNIQUE}`;
const USER = 1000;

let fixture: Fixture;
let configDir: string;
let port: number;

const tokenUrl = () => `https://127.0.0.1:${port}/token`;
const execInContainer = (...command: string[]) => dockerStatus("exec", CONTAINER, ...command);

beforeAll(async () => {
    const buildArgs = baseImageBuildArgs(argDefault(DOCKERFILE, "NODE_IMAGE"));
    try {
        docker("build", "-q", ...buildArgs, "-t", IMAGE, PACKAGE_DIR);
    } catch (error) {
        throw new Error(`${(error as Error).message}\nWithout access to Docker Hub, build the local base image first: bash tests/setup/prepare-machine.sh`);
    }

    port = await freePort();
    fixture = makeFixture({ port: 5001 });
    // Only the service's own files, readable by its user alone, as the stack provides them.
    configDir = join(fixture.dir, "config");
    mkdirSync(configDir);
    for (const file of ["htpasswd", "access.yaml", "tls.crt", "tls.key", "signing.key", "signing.crt"]) copyFileSync(join(fixture.dir, file), join(configDir, file));
    const settings = JSON.parse(readFileSync(fixture.settingsFile, "utf8")) as Record<string, unknown>;
    writeFileSync(join(configDir, "settings.yaml"), JSON.stringify({ ...settings, host: "0.0.0.0", port: 5001 }));
    for (const file of readdirSync(configDir)) {
        chownSync(join(configDir, file), USER, USER);
        chmodSync(join(configDir, file), 0o400);
    }
    chownSync(configDir, USER, USER);
    chmodSync(configDir, 0o500);

    docker("run", "-d", "--name", CONTAINER,
        "--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges:true", "--user", `${USER}:${USER}`, "--tmpfs", "/tmp",
        "-v", `${configDir}:/etc/token-service:ro`, "-p", `127.0.0.1:${port}:5001`,
        // The image's own HEALTHCHECK, probed every second instead of every 30 s.
        "--health-interval", "1s", "--health-start-period", "1s",
        IMAGE);
    await waitFor(`the container to answer: ${docker("logs", CONTAINER)}`, async () => (await curl(fixture.tlsCa.cert, [`https://127.0.0.1:${port}/healthz`])).status === 200, 20_000);
}, 600_000);

afterAll(async () => {
    await dockerStatus("rm", "-f", CONTAINER);
    // --no-prune keeps the build's intermediate images: the next run reuses them as its cache.
    await dockerStatus("image", "rm", "--no-prune", IMAGE);
    if (fixture) rmSync(fixture.dir, { recursive: true, force: true });
});

describe("the image's settings", () => {
    it("runs node /app/dist/main.js as uid 1000 in production mode, with the settings path as its command", () => {
        const config = JSON.parse(docker("image", "inspect", "--format", "{{json .Config}}", IMAGE)) as Record<string, unknown>;
        expect(config.User).toBe("1000:1000");
        expect(config.Entrypoint).toEqual(["node", "/app/dist/main.js"]);
        expect(config.Cmd).toEqual(["/etc/token-service/settings.yaml"]);
        expect(config.ExposedPorts).toEqual({ "5001/tcp": {} });
        expect(config.Env).toContain("NODE_ENV=production");
        expect((config.Healthcheck as { Test: string[] }).Test).toEqual(["CMD", "node", "/app/dist/healthcheck.js", "/etc/token-service/settings.yaml"]);
    });

    it("holds the runtime dependencies only, and adds little to the base image", async () => {
        const modules = (await execInContainer("ls", "/app/node_modules")).stdout.split("\n").filter(Boolean);
        expect(modules.sort()).toEqual(Object.keys(PACKAGE.dependencies).sort());
        for (const devDependency of Object.keys(PACKAGE.devDependencies)) expect(modules).not.toContain(devDependency.split("/")[0]);
        const size = (image: string) => Number(docker("image", "inspect", "--format", "{{.Size}}", image).trim());
        const added = size(IMAGE) - size(tagOf(argDefault(DOCKERFILE, "NODE_IMAGE")));
        // The service and its three dependencies are about 1 MB; typescript alone would be 20 MB more.
        expect(added).toBeGreaterThan(0);
        expect(added).toBeLessThan(5_000_000);
    });

    it("keeps /app read-only for the service", async () => {
        expect((await execInContainer("id", "-u")).stdout.trim()).toBe("1000");
        const write = await execInContainer("sh", "-c", "touch /app/dist/main.js");
        expect(write.code).not.toBe(0);
        expect((await execInContainer("stat", "-c", "%u", "/app/dist/main.js")).stdout.trim()).toBe("0");
    });
});

describe("the running container", () => {
    it("issues a token over TLS for a Basic login", async () => {
        const reply = await curl(fixture.tlsCa.cert, ["-u", `alice:${PASSWORDS.alice}`, "-G", tokenUrl(), "--data-urlencode", "service=test-registry", "--data-urlencode", "scope=repository:team/app:pull,push"]);
        expect(reply.status).toBe(200);
        const token = (JSON.parse(reply.body) as { token: string }).token;
        const { payload } = await jwtVerify(token, new X509Certificate(readFileSync(fixture.signing.cert)).publicKey, { issuer: "test-issuer", audience: "test-registry" });
        expect(payload.sub).toBe("alice");
        expect(payload.access).toEqual([{ type: "repository", name: "team/app", actions: ["pull", "push"] }]);
        const refused = await curl(fixture.tlsCa.cert, ["-u", "alice:wrong", "-G", tokenUrl(), "--data-urlencode", "service=test-registry"]);
        expect(refused.status).toBe(401);
        const logs = docker("logs", CONTAINER);
        expect(logs).toContain('"user":"alice"');
        expect(logs).not.toContain(PASSWORDS.alice);
        expect(logs).not.toContain(token.split(".")[2]);
    });

    it("passes its healthcheck, in docker exec and as the image's HEALTHCHECK, and fails it while the access file is broken", async () => {
        const healthcheck = () => execInContainer("node", "/app/dist/healthcheck.js", "/etc/token-service/settings.yaml");
        expect(await healthcheck()).toMatchObject({ code: 0, stdout: "GET /healthz: 200\n" });
        await waitFor("the container to be healthy", () => Promise.resolve(docker("inspect", "--format", "{{.State.Health.Status}}", CONTAINER).trim() === "healthy"), 15_000);

        const accessFile = join(configDir, "access.yaml");
        chmodSync(accessFile, 0o600);
        writeFileSync(accessFile, "rules: [ broken");
        try {
            await waitFor("the healthcheck to fail", async () => (await healthcheck()).code === 1, 10_000);
            expect(await healthcheck()).toMatchObject({ code: 1, stderr: "GET /healthz: 503\n" });
        } finally {
            writeFileSync(accessFile, ACCESS_YAML);
            chmodSync(accessFile, 0o400);
        }
        await waitFor("the healthcheck to pass again", async () => (await healthcheck()).code === 0, 10_000);
    });

    it("stops at once on SIGTERM, with exit code 0", () => {
        const started = Date.now();
        docker("stop", "-t", "10", CONTAINER);
        expect(Date.now() - started).toBeLessThan(5000);
        expect(docker("inspect", "--format", "{{.State.ExitCode}}", CONTAINER).trim()).toBe("0");
    });
});
