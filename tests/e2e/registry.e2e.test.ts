/**
 * The seed guide's workflow against the dev stack, applied for real by the local apply harness and
 * driven with the real docker client, curl and openssl.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { E2eStackSession, LocalStack, StackOutputs, waitHealthy } from "./support/localStack";
import { run, runOk } from "./support/shell";
import { TestNetwork } from "./support/testNetwork";

const registryName = "registry.e2e.test";
const network = new TestNetwork("rege2e", "10.252.0.1", "10.252.0.2", [registryName]);
// Another port only when 5000 is taken on a developer's machine; CI uses the stack's own.
const port = Number(process.env.E2E_REGISTRY_PORT ?? 5000);
const stack = new LocalStack("dev", {
    hostnames: `[${registryName}, localhost]`,
    ipAddresses: `[${network.hostAddress}, 127.0.0.1]`,
    // The stack installs its CA into this machine's certs.d (RegistryClientTrust), as a client host would get it.
    clientTrustLocal: "true",
    ...(port === 5000 ? {} : { port: String(port) }),
});
const endpoint = `${registryName}:${port}`;
const certsDir = `/etc/docker/certs.d/${endpoint}`;
const image = `${endpoint}/e2e/hello`;

const session = new E2eStackSession(stack, network, registryName, endpoint, "registry-e2e-");
let outputs: StackOutputs;
let work: string;
let dockerEnv: NodeJS.ProcessEnv;
let caFile: string;
let pushedDigest: string;

const docker = (args: string, input?: string) => run(`docker ${args}`, { env: dockerEnv, input, timeoutMs: 300_000 });
const dockerOk = (args: string, input?: string) => runOk(`docker ${args}`, { env: dockerEnv, input, timeoutMs: 300_000 });
const curlStatus = (args: string) => runOk(`curl -s -o /dev/null -w '%{http_code}' --max-time 10 ${args}`).trim();
const inspect = (name: string, format: string) => runOk(`docker inspect -f '${format}' ${name}`).trim();
const readConfigVolumeFile = (file: string) =>
    runOk(`docker run --rm --network none --user 1000:1000 -v ${outputs.containerName}-config:/c:ro --entrypoint cat registry:2.8.3 /c/${file}`);

/** Builds a FROM-scratch image of random layers, so every build has new digests. */
function buildImage(tag: string, layers: number, bytesPerLayer: number): void {
    const context = fs.mkdtempSync(path.join(work, "build-"));
    const lines = ["FROM scratch"];
    for (let i = 0; i < layers; i++) {
        runOk(`head -c ${bytesPerLayer} /dev/urandom > ${context}/layer${i}`);
        lines.push(`COPY layer${i} /layer${i}`);
    }
    fs.writeFileSync(path.join(context, "Dockerfile"), lines.join("\n") + "\n");
    dockerOk(`build -q -t ${tag} ${context}`);
}

function repoDigest(tag: string): string {
    const digests = JSON.parse(runOk(`docker image inspect -f '{{json .RepoDigests}}' ${tag}`)) as string[];
    const digest = digests.find((d) => d.startsWith(`${tag.split(":").slice(0, -1).join(":")}@`));
    if (!digest) throw new Error(`no repo digest for ${tag}: ${digests.join(", ")}`);
    return digest.split("@")[1];
}

const changedLines = (lines: string[]) => lines.filter((l) => /^\s*(\+|~|-|\+-)\s/.test(l));

beforeAll(() => {
    session.setUp();
    ({ outputs, work, caFile } = session);
    dockerEnv = { DOCKER_CONFIG: path.join(work, "docker-config") };
});

afterAll(() => session.tearDown());

describe("trust and login", () => {
    it("exports the endpoint, a login command without the password, and the data volume", () => {
        expect(outputs.endpoint).toBe(endpoint);
        expect(outputs.loginCommand).toContain(`docker login ${endpoint}`);
        for (const password of Object.values(outputs.credentials)) expect(outputs.loginCommand).not.toContain(password);
        expect(outputs.dataVolume).toBe("registry-dev-data");
    });

    it("refuses to log in while the CA is not trusted (the name is not loopback, so Docker verifies)", () => {
        // Set aside the CA the stack installed, to show Docker really depends on it.
        fs.renameSync(path.join(certsDir, "ca.crt"), path.join(work, "installed-ca.crt"));
        const result = docker(`login ${endpoint} --username admin --password-stdin`, outputs.credentials.admin);
        expect(result.code).not.toBe(0);
        expect(result.stderr).toMatch(/x509: certificate signed by unknown authority/);
    });

    it("refuses a push while the CA is not trusted", () => {
        buildImage(`${image}:untrusted`, 1, 1024);
        const result = docker(`push ${image}:untrusted`);
        expect(result.code).not.toBe(0);
        expect(result.stderr + result.stdout).toMatch(/x509: certificate signed by unknown authority/);
    });

    it("logs in with a generated credential once ca.crt is in certs.d", () => {
        fs.renameSync(path.join(work, "installed-ca.crt"), path.join(certsDir, "ca.crt"));
        expect(fs.readFileSync(path.join(certsDir, "ca.crt"), "utf8")).toBe(`${outputs.caCertPem.trim()}\n`);
        expect(fs.statSync(path.join(certsDir, "ca.crt")).mode & 0o777).toBe(0o644);
        const result = dockerOk(`login ${endpoint} --username admin --password-stdin`, outputs.credentials.admin);
        expect(result).toMatch(/Login Succeeded/);
        expect(dockerOk(`login ${endpoint} --username ci --password-stdin`, outputs.credentials.ci)).toMatch(/Login Succeeded/);
    });

    it("pushes, removes, pulls, and gets the same digest", () => {
        buildImage(`${image}:1`, 3, 64 * 1024);
        dockerOk(`push ${image}:1`);
        pushedDigest = repoDigest(`${image}:1`);
        dockerOk(`rmi ${image}:1`);
        expect(docker(`image inspect ${image}:1`).code).not.toBe(0);
        dockerOk(`pull ${image}:1`);
        expect(repoDigest(`${image}:1`)).toBe(pushedDigest);
    });
});

describe("authentication and transport", () => {
    const base = `https://${endpoint}`;

    it.each([
        ["GET", "/v2/"],
        ["GET", "/v2/_catalog"],
        ["GET", "/v2/e2e/hello/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000"],
        ["PUT", "/v2/e2e/hello/manifests/evil"],
    ])("answers %s %s with 401 to anonymous and wrong-password requests", (method, route) => {
        const body = method === "PUT" ? `-H 'Content-Type: application/vnd.docker.distribution.manifest.v2+json' --data '{}'` : "";
        expect(curlStatus(`--cacert ${caFile} -X ${method} ${body} ${base}${route}`)).toBe("401");
        expect(curlStatus(`--cacert ${caFile} -X ${method} ${body} -u admin:wrong-password ${base}${route}`)).toBe("401");
        expect(curlStatus(`--cacert ${caFile} -X ${method} ${body} -u nobody:${outputs.credentials.admin} ${base}${route}`)).toBe("401");
    });

    it("serves the blob that was pushed only to an authenticated client", () => {
        const manifest = JSON.parse(runOk(`curl -sf --cacert ${caFile} -u admin:${outputs.credentials.admin} -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' ${base}/v2/e2e/hello/manifests/1`));
        const layer = manifest.layers[0].digest;
        expect(curlStatus(`--cacert ${caFile} ${base}/v2/e2e/hello/blobs/${layer}`)).toBe("401");
        expect(curlStatus(`--cacert ${caFile} -u admin:${outputs.credentials.admin} ${base}/v2/e2e/hello/blobs/${layer}`)).toBe("200");
    });

    it("refuses plain HTTP", () => {
        const result = run(`curl -s --max-time 5 -w '\\n%{http_code}' http://${endpoint}/v2/`);
        expect(result.stdout).toMatch(/HTTP request to an HTTPS server/);
        expect(result.stdout.trim().split("\n").pop()).toBe("400");
    });

    it("refuses a TLS 1.1 client and accepts TLS 1.2", () => {
        // SECLEVEL=0 lets OpenSSL 3 offer TLS 1.1 at all, so the refusal is the server's.
        const connect = (version: string) => run(
            `openssl s_client -connect ${network.hostAddress}:${port} -servername ${registryName} -${version} -cipher 'DEFAULT:@SECLEVEL=0' -CAfile ${caFile} </dev/null`,
            { timeoutMs: 15_000 });
        const old = connect("tls1_1");
        expect(old.code).not.toBe(0);
        expect(old.stdout + old.stderr).toMatch(/alert protocol version/);
        const current = connect("tls1_2");
        expect(current.code).toBe(0);
        expect(current.stdout).toMatch(/Verify return code: 0 \(ok\)/);
    });

    it.each([
        [registryName, `https://${registryName}:${port}`],
        ["localhost", `https://localhost:${port}`],
        [network.hostAddress, `https://${network.hostAddress}:${port}`],
        ["127.0.0.1", `https://127.0.0.1:${port}`],
    ])("presents a certificate that verifies for %s through the CA alone", (name, url) => {
        expect(curlStatus(`--cacert ${caFile} ${url}/v2/`)).toBe("401");
        const serverCert = path.join(work, `server-${name}.pem`);
        runOk(`openssl s_client -connect ${network.hostAddress}:${port} -servername ${registryName} </dev/null 2>/dev/null | openssl x509 > ${serverCert}`);
        const check = /^[\d.]+$/.test(name) ? `-verify_ip ${name}` : `-verify_hostname ${name}`;
        expect(runOk(`openssl verify -CAfile ${caFile} ${check} ${serverCert}`)).toMatch(/: OK/);
        expect(run(`openssl verify -CAfile ${caFile} -verify_hostname not-${name.replace(/\./g, "-")}.example ${serverCert}`).code).not.toBe(0);
    });
});

describe("logs and runtime", () => {
    it("logs an authorized request once (the access log) and a failed login with its username", () => {
        const probe = `e2e-log-probe-${process.pid}-${Date.now()}`;
        expect(curlStatus(`--cacert ${caFile} -A ${probe}-ok -u admin:${outputs.credentials.admin} https://${endpoint}/v2/`)).toBe("200");
        expect(curlStatus(`--cacert ${caFile} -A ${probe}-bad -u admin:wrong-password https://${endpoint}/v2/`)).toBe("401");
        const logs = run(`docker logs ${outputs.containerName} 2>&1`).stdout.split("\n");
        const ok = logs.filter((l) => l.includes(`${probe}-ok`));
        expect(ok).toHaveLength(1);
        expect(ok[0]).toMatch(/"GET \/v2\/ HTTP\/[\d.]+" 200 /);
        const bad = logs.filter((l) => l.includes(`${probe}-bad`));
        expect(bad.some((l) => /level=error msg="error authenticating user \\"admin\\"/.test(l))).toBe(true);
        expect(bad.some((l) => / 401 /.test(l))).toBe(true);
    });

    it("runs the registry process with the stack's Go runtime settings", () => {
        const environ = runOk(`docker exec ${outputs.containerName} cat /proc/1/environ`).split("\0");
        expect(environ).toEqual(expect.arrayContaining(["GOGC=400", "GOMEMLIMIT=1536MiB"]));
    });
});

describe("secrets and hardening", () => {
    it("shows no password, private key or http.secret in docker inspect", () => {
        const config = YAML.parse(readConfigVolumeFile("config.yml"));
        const keyBody = readConfigVolumeFile("server.key").split("\n").filter((l) => l && !l.startsWith("-----")).join("");
        const secrets = [...Object.values(outputs.credentials), config.http.secret, keyBody];
        expect(config.http.secret.length).toBeGreaterThanOrEqual(32);
        for (const container of [outputs.containerName, `${outputs.containerName}-init`]) {
            const text = runOk(`docker inspect ${container}`).replace(/\\n/g, "");
            for (const secret of secrets) expect(text).not.toContain(secret);
        }
    });

    it("runs unprivileged on a read-only root with the secrets readable only by the registry's user", () => {
        const name = outputs.containerName;
        expect(inspect(name, "{{.Config.User}}")).toBe("1000:1000");
        expect(inspect(name, "{{.HostConfig.ReadonlyRootfs}}")).toBe("true");
        expect(inspect(name, "{{json .HostConfig.CapDrop}}")).toBe('["ALL"]');
        expect(inspect(name, "{{.HostConfig.RestartPolicy.Name}}")).toBe("always");
        expect(run(`docker exec ${name} touch /probe`).code).not.toBe(0);
        const listing = runOk(`docker run --rm --network none -v ${name}-config:/c:ro --entrypoint ls registry:2.8.3 -ln /c`);
        expect(listing).toMatch(/-r-------- +1 1000 +1000 .* server\.key/);
        expect(listing).toMatch(/-r-------- +1 1000 +1000 .* htpasswd/);
        expect(listing).toMatch(/-r-------- +1 1000 +1000 .* config\.yml/);
    });
});

describe("durability", () => {
    it("keeps the data when a changed input replaces the container", () => {
        const before = inspect(outputs.containerName, "{{.Id}}");
        const lines = stack.up({ bcryptCost: "6" });
        expect(lines.some((l) => /replace.*docker:index\/container:Container/.test(l))).toBe(true);
        const after = inspect(outputs.containerName, "{{.Id}}");
        expect(after).not.toBe(before);
        dockerOk(`rmi ${image}:1`);
        dockerOk(`pull ${image}@${pushedDigest}`);
        stack.up(); // back to the stack's own config
    });

    it("comes back after the registry process is killed mid-push, and the retried push completes", async () => {
        const name = outputs.containerName;
        buildImage(`${image}:big`, 4, 8 * 1024 * 1024);
        const restartsBefore = Number(inspect(name, "{{.RestartCount}}"));
        const push = spawn("docker", ["push", `${image}:big`], { env: { ...process.env, ...dockerEnv }, stdio: "ignore" });
        const pushEnded = new Promise<void>((resolve) => push.on("exit", () => resolve()));
        // Kill only once an upload is under way: the access log shows the first blob PATCH or PUT.
        const deadline = Date.now() + 60_000;
        while (!/"(PATCH|PUT) \/v2\/e2e\/hello\/blobs\/uploads/.test(run(`docker logs --since 60s ${name} 2>&1`).stdout)) {
            if (Date.now() > deadline) throw new Error("no upload started");
            runOk("sleep 0.05");
        }
        runOk(`kill -9 ${inspect(name, "{{.State.Pid}}")}`);
        waitHealthy(name);
        // The interrupted push may retry its way through or hang on a dead connection; give it a
        // minute, then end it (it is our own process) and push again, as a user would.
        let timer: NodeJS.Timeout | undefined;
        const ended = await Promise.race([pushEnded.then(() => true), new Promise<boolean>((r) => { timer = setTimeout(() => r(false), 60_000); })]);
        clearTimeout(timer);
        if (!ended) push.kill("SIGTERM");
        expect(Number(inspect(name, "{{.RestartCount}}"))).toBeGreaterThan(restartsBefore);
        dockerOk(`push ${image}:big`);
        const bigDigest = repoDigest(`${image}:big`);
        dockerOk(`rmi ${image}:big`);
        docker(`rmi ${image}:1 ${image}@${pushedDigest}`); // whichever of them an earlier test left
        dockerOk(`pull ${image}:big`);
        dockerOk(`pull ${image}:1`);
        expect(repoDigest(`${image}:big`)).toBe(bigDigest);
        expect(repoDigest(`${image}:1`)).toBe(pushedDigest);
    });
});

describe("lifecycle", () => {
    it("changes nothing on a second up", () => {
        stack.up();
        const lines = stack.up();
        expect(changedLines(lines)).toEqual([]);
        expect(lines.length).toBeGreaterThan(5);
    });

    it("starts clean after down and up", () => {
        stack.down();
        expect(run(`docker inspect ${outputs.containerName}`).code).not.toBe(0);
        expect(run(`docker volume inspect ${outputs.dataVolume}`).code).not.toBe(0);
        expect(fs.existsSync(certsDir)).toBe(false);
        stack.up();
        const fresh = stack.outputs();
        expect(fs.readFileSync(path.join(certsDir, "ca.crt"), "utf8")).toBe(`${fresh.caCertPem.trim()}\n`);
        expect(fresh.credentials.admin).not.toBe(outputs.credentials.admin);
        const freshCa = path.join(work, "fresh-ca.crt");
        fs.writeFileSync(freshCa, fresh.caCertPem);
        const catalog = runOk(`curl -sf --cacert ${freshCa} -u admin:${fresh.credentials.admin} https://${endpoint}/v2/_catalog`).trim();
        expect(JSON.parse(catalog)).toEqual({ repositories: [] });
    });
});
