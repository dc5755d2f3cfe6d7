/**
 * Issue 11, parts 5 and 7, against the real engine: a stack that notifies a webhook of every push,
 * and a stack that is a pull-through cache of an upstream registry with TLS and token auth.
 *
 * The test's own servers (webhook receiver, token server) run in this process, so every command
 * that makes the registry call them runs asynchronously: a blocked event loop would not answer.
 */
import { execSync, spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { extraCaEnv, registryConfigDir, upstreamCaDirName } from "../../components";
import { down, state, up, UpResult } from "../local-apply";

/** The docker bridge's gateway: an address of this host that containers reach, not a public one. */
const bridgeGateway = "172.17.0.1";
const notifyStack = "e2e-notify";
const cacheStack = "e2e-cache";
const notifyPort = 5741;
const cachePort = 5742;
const upstreamPort = 5743;
const upstreamContainer = "e2e-cache-upstream";
const upstreamVolume = "e2e-cache-upstream-data";
const image = "registry:2.8.3";

interface Sh { code: number; stdout: string; stderr: string; ms: number }

let work: string;
let dockerEnv: NodeJS.ProcessEnv;

/** Runs a bash command line without blocking this process's event loop. */
function sh(commandLine: string, input?: string, timeoutMs = 300_000): Promise<Sh> {
    const started = Date.now();
    return new Promise((resolve) => {
        const child = spawn("bash", ["-c", commandLine], { env: { ...process.env, ...dockerEnv }, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
        child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.on("close", (code) => {
            clearTimeout(timer);
            resolve({ code: code ?? -1, stdout, stderr, ms: Date.now() - started });
        });
        child.stdin.end(input ?? "");
    });
}

async function shOk(commandLine: string, input?: string): Promise<string> {
    const r = await sh(commandLine, input);
    if (r.code !== 0) throw new Error(`command failed (${r.code}): ${commandLine}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

/** A FROM-scratch image of random layers, so every build has new digests. */
async function buildImage(tag: string, layers: number, bytesPerLayer: number): Promise<void> {
    const context = fs.mkdtempSync(path.join(work, "build-"));
    const lines = ["FROM scratch"];
    for (let i = 0; i < layers; i++) {
        fs.writeFileSync(path.join(context, `layer${i}`), crypto.randomBytes(bytesPerLayer));
        lines.push(`COPY layer${i} /layer${i}`);
    }
    fs.writeFileSync(path.join(context, "Dockerfile"), lines.join("\n") + "\n");
    await shOk(`docker build -q -t ${tag} ${context}`);
}

/** `docker push`, returning the manifest digest it reports and how long it took. */
async function push(tag: string): Promise<{ digest: string; ms: number }> {
    const r = await sh(`docker push ${tag}`);
    if (r.code !== 0) throw new Error(`push ${tag} failed:\n${r.stdout}\n${r.stderr}`);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(r.stdout)?.[1];
    if (!digest) throw new Error(`no digest in push output:\n${r.stdout}`);
    return { digest, ms: r.ms };
}

function listen(server: net.Server, host: string, port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
    });
}

/** A port on the gateway nothing listens on: bound once to get it, then closed. */
async function deadPort(): Promise<number> {
    const probe = net.createServer();
    const port = await listen(probe, bridgeGateway);
    await new Promise((r) => probe.close(r));
    return port;
}

async function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const found = check();
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

/** Every place a secret could show in state: it may only sit in properties marked secret. */
function unmarkedSecretProperties(stack: string, secret: string): string[] {
    const leaks: string[] = [];
    for (const r of state(stack).resources) {
        for (const [kind, props, marked] of [["input", r.inputs, r.secretInputs], ["output", r.outputs, r.secretOutputs]] as const) {
            for (const [prop, value] of Object.entries(props)) {
                if (JSON.stringify(value ?? null).includes(secret) && !marked.includes(prop)) leaks.push(`${r.name} ${kind} ${prop}`);
            }
        }
    }
    for (const [name, output] of Object.entries(state(stack).outputs)) {
        if (JSON.stringify(output.value ?? null).includes(secret) && !output.secret) leaks.push(`stack output ${name}`);
    }
    return leaks;
}

const harnessText = (r: UpResult) => r.stdout + r.stderr;
const commonConfig = (port: number, name: string) => ({
    port,
    hostnames: ["localhost"],
    ipAddresses: ["127.0.0.1"],
    users: ["admin"],
    containerName: name,
    dataVolumeName: `${name}-data`,
    protectData: false,
    memoryLimitMb: 256,
});

beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "cache-notify-e2e-"));
    dockerEnv = { DOCKER_CONFIG: path.join(work, "docker-config") };
});

afterAll(async () => {
    await down(notifyStack).catch(() => undefined);
    await down(cacheStack).catch(() => undefined);
    await sh(`docker rm -f ${upstreamContainer} >/dev/null 2>&1; docker volume rm ${upstreamVolume} >/dev/null 2>&1`);
    await sh(`docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^127\\.0\\.0\\.1:(${notifyPort}|${cachePort}|${upstreamPort})/' | xargs -r docker rmi -f`);
    fs.rmSync(work, { recursive: true, force: true });
});

describe("event notifications", () => {
    interface Received { headers: http.IncomingHttpHeaders; body: { events: { action: string; target: { repository: string; tag?: string; digest: string; mediaType: string } }[] } }
    const received: Received[] = [];
    const receiver = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d: Buffer) => { body += d.toString(); });
        req.on("end", () => {
            try {
                received.push({ headers: req.headers, body: JSON.parse(body) });
            } finally {
                res.writeHead(200).end();
            }
        });
    });
    const token = crypto.randomBytes(24).toString("hex");
    let receiverUrl: string;
    let first: UpResult;
    let baselinePushMs: number;

    const config = (url: string) => ({
        ...commonConfig(notifyPort, "e2e-notify-registry"),
        notificationUrl: url,
        notificationTimeout: "2s",
        notificationThreshold: 3,
        notificationBackoff: "1s",
    });

    beforeAll(async () => {
        receiverUrl = `http://${bridgeGateway}:${await listen(receiver, bridgeGateway)}/events`;
        await down(notifyStack).catch(() => undefined);
        first = await up(notifyStack, config(receiverUrl), { secretConfig: { notificationHeaders: { Authorization: `Bearer ${token}` } } });
        await shOk(`docker login 127.0.0.1:${notifyPort} --username admin --password-stdin`, String(first.outputs.credentials && (first.outputs.credentials as Record<string, string>).admin));
    });

    afterAll(() => new Promise<void>((r) => receiver.close(() => r())));

    it("posts the push event with repository, tag and digest, and the secret header, to the webhook", async () => {
        const tag = `127.0.0.1:${notifyPort}/e2e/notify:1`;
        await buildImage(tag, 3, 2 * 1024 * 1024);
        const { digest } = await push(tag);
        const manifestPush = await waitFor("the manifest's push event", () => received
            .flatMap((r) => r.body.events.map((e) => ({ e, headers: r.headers })))
            .find(({ e }) => e.action === "push" && e.target.tag === "1"));
        expect(manifestPush.e.target).toEqual(expect.objectContaining({ repository: "e2e/notify", tag: "1", digest }));
        expect(manifestPush.headers.authorization).toBe(`Bearer ${token}`);
        expect(manifestPush.headers["content-type"]).toMatch(/^application\/vnd\.docker\.distribution\.events\.v1\+json/);
        // Layer blobs are pushes too, reported without a tag.
        expect(received.flatMap((r) => r.body.events).filter((e) => e.action === "push" && e.target.tag === undefined).length).toBeGreaterThanOrEqual(3);
        // The baseline for the timing test below: a second push of the same size, as warm as that one.
        const warm = `127.0.0.1:${notifyPort}/e2e/notify:warm`;
        await buildImage(warm, 3, 2 * 1024 * 1024);
        baselinePushMs = (await push(warm)).ms;
    });

    it("keeps the header value out of docker inspect, the logs, the harness's output and unmarked state", async () => {
        const config = YAML.parse(await shOk(`docker run --rm --network none --user 1000:1000 -v e2e-notify-registry-config:/c:ro --entrypoint cat ${image} /c/config.yml`));
        expect(config.notifications.endpoints[0].headers.Authorization).toEqual([`Bearer ${token}`]);
        for (const container of ["e2e-notify-registry", "e2e-notify-registry-init"]) {
            expect(await shOk(`docker inspect ${container}`)).not.toContain(token);
        }
        expect((await shOk("docker logs e2e-notify-registry 2>&1"))).not.toContain(token);
        expect(harnessText(first)).not.toContain(token);
        expect(unmarkedSecretProperties(notifyStack, token)).toEqual([]);
    });

    it("neither fails nor slows a push when the endpoint is unreachable", async () => {
        const dead = `http://${bridgeGateway}:${await deadPort()}/events`;
        const second = await up(notifyStack, config(dead), { secretConfig: { notificationHeaders: { Authorization: `Bearer ${token}` } } });
        expect(harnessText(second)).not.toContain(token);
        const before = received.length;
        const tag = `127.0.0.1:${notifyPort}/e2e/notify:2`;
        await buildImage(tag, 3, 2 * 1024 * 1024);
        const { ms } = await push(tag);
        const pulled = await sh(`docker rmi ${tag} >/dev/null && docker pull ${tag}`);
        expect(pulled.code).toBe(0);
        // The registry did try the dead endpoint (so the timing means something) and nothing reached the old one.
        await waitFor("a failed delivery in the registry's log", () =>
            /connection refused/.test(execSync("docker logs e2e-notify-registry 2>&1").toString()) ? true : undefined);
        expect(received.length).toBe(before);
        console.log(`push of 3 x 2 MiB: ${baselinePushMs} ms with a listening endpoint, ${ms} ms with an unreachable one`);
        expect(ms).toBeLessThan(Math.max(2 * baselinePushMs, baselinePushMs + 3000));
    });

    it("takes the stack down with its volumes", async () => {
        await down(notifyStack);
        expect((await sh("docker inspect e2e-notify-registry")).code).not.toBe(0);
        expect((await sh("docker volume inspect e2e-notify-registry-data")).code).not.toBe(0);
    });
});

describe("pull-through cache", () => {
    // The upstream: the stand-in image with TLS from a test CA and token auth from a token server
    // here. distribution's proxy authenticates only through bearer tokens (its client has no
    // basic-auth handler), so an htpasswd registry such as this stack cannot be its upstream.
    const upstreamUser = "cache-reader";
    const upstreamPassword = crypto.randomBytes(18).toString("hex");
    const tokenKey = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
    let caPem: string;
    let tokenCertDer: Buffer;
    let tokenServer: https.Server;
    let tokenUrl: string;
    const tokenRequests: string[] = [];
    let cacheUp: UpResult;
    let cachedDigest: string;

    const cacheConfig = (upstreamCa: string) => ({
        ...commonConfig(cachePort, "e2e-cache-registry"),
        proxyRemoteUrl: `https://${bridgeGateway}:${upstreamPort}`,
        proxyUsername: upstreamUser,
        // JSON is YAML: the harness reads values as YAML, which would fold a bare PEM's lines.
        proxyCaCertPem: JSON.stringify(upstreamCa),
        // A cache expires its own blobs and needs no backups: no maintenance windows (refused otherwise).
        maintenanceEnabled: false,
    });

    /** The cache's registry process on its own config volume, in the foreground, with one environment variable. */
    const cacheRegistryRun = (env: string) =>
        `docker run --rm --network bridge --user 1000:1000 --read-only ${env ? `-e ${env}` : ""} -v e2e-cache-registry-config:${registryConfigDir}:ro --tmpfs /var/lib/registry:uid=1000 --entrypoint registry ${image} serve ${registryConfigDir}/config.yml`;

    function jwt(payload: Record<string, unknown>): string {
        const b64 = (v: Buffer | string) => Buffer.from(v).toString("base64url");
        const header = b64(JSON.stringify({ typ: "JWT", alg: "ES256", x5c: [tokenCertDer.toString("base64")] }));
        const body = b64(JSON.stringify(payload));
        const signature = crypto.sign("sha256", Buffer.from(`${header}.${body}`), { key: tokenKey.privateKey, dsaEncoding: "ieee-p1363" });
        return `${header}.${body}.${b64(signature)}`;
    }

    async function openssl(args: string): Promise<void> {
        await shOk(`cd ${work} && openssl ${args} 2>/dev/null`);
    }

    beforeAll(async () => {
        // Test CA, the upstream's certificate for the gateway address, and a self-signed token-signing certificate.
        await openssl(`req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout up-ca.key -out up-ca.crt -days 2 -subj /CN=e2e-upstream-ca -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign`);
        await openssl(`req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout up.key -out up.csr -subj /CN=${bridgeGateway}`);
        fs.writeFileSync(path.join(work, "up.ext"), `subjectAltName=IP:${bridgeGateway}\nextendedKeyUsage=serverAuth\n`);
        await openssl(`x509 -req -in up.csr -CA up-ca.crt -CAkey up-ca.key -CAcreateserial -days 2 -extfile up.ext -out up.crt`);
        fs.writeFileSync(path.join(work, "token.key"), tokenKey.privateKey.export({ type: "pkcs8", format: "pem" }));
        await openssl(`req -x509 -new -key token.key -out token.crt -days 2 -subj /CN=e2e-token-signer`);
        caPem = fs.readFileSync(path.join(work, "up-ca.crt"), "utf8");
        tokenCertDer = new crypto.X509Certificate(fs.readFileSync(path.join(work, "token.crt"))).raw;

        tokenServer = https.createServer({ key: fs.readFileSync(path.join(work, "up.key")), cert: fs.readFileSync(path.join(work, "up.crt")) }, (req, res) => {
            const url = new URL(req.url ?? "/", "https://token");
            const [user, password] = Buffer.from((req.headers.authorization ?? "").replace(/^Basic /, ""), "base64").toString().split(":");
            tokenRequests.push(user ?? "");
            if (user !== upstreamUser || password !== upstreamPassword) {
                res.writeHead(401).end();
                return;
            }
            const access = url.searchParams.getAll("scope").map((s) => {
                const [type, name, actions] = s.split(":");
                return { type, name, actions: actions.split(",") };
            });
            const now = Math.floor(Date.now() / 1000);
            const token = jwt({ iss: "e2e-token-issuer", sub: user, aud: "e2e-upstream", exp: now + 300, nbf: now - 10, iat: now, jti: crypto.randomUUID(), access });
            res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
        });
        tokenUrl = `https://${bridgeGateway}:${await listen(tokenServer, bridgeGateway)}/token`;

        const configDir = path.join(work, "upstream-config");
        fs.mkdirSync(configDir);
        for (const f of ["up.crt", "up.key", "token.crt"]) fs.copyFileSync(path.join(work, f), path.join(configDir, f));
        fs.chmodSync(configDir, 0o755);
        for (const f of fs.readdirSync(configDir)) fs.chmodSync(path.join(configDir, f), 0o644);
        fs.writeFileSync(path.join(configDir, "config.yml"), YAML.stringify({
            version: 0.1,
            log: { level: "warn" },
            storage: { filesystem: { rootdirectory: "/var/lib/registry" } },
            http: { addr: ":5000", tls: { certificate: "/etc/distribution/up.crt", key: "/etc/distribution/up.key" } },
            auth: { token: { realm: tokenUrl, service: "e2e-upstream", issuer: "e2e-token-issuer", rootcertbundle: "/etc/distribution/token.crt" } },
        }));
        await sh(`docker rm -f ${upstreamContainer} >/dev/null 2>&1; docker volume rm ${upstreamVolume} >/dev/null 2>&1`);
        await shOk(`docker run -d --name ${upstreamContainer} -p ${upstreamPort}:5000 -v ${upstreamVolume}:/var/lib/registry -v ${configDir}:/etc/distribution:ro --entrypoint registry ${image} serve /etc/distribution/config.yml`);
        await waitFor("the upstream", () => spawnSync("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", path.join(work, "up-ca.crt"), `https://${bridgeGateway}:${upstreamPort}/v2/`]).stdout.toString() === "401" ? true : undefined);

        // Content in the upstream, pushed with the upstream's token auth.
        await shOk(`docker login 127.0.0.1:${upstreamPort} --username ${upstreamUser} --password-stdin`, upstreamPassword);
        await buildImage(`127.0.0.1:${upstreamPort}/e2e/cached:1`, 2, 512 * 1024);
        cachedDigest = (await push(`127.0.0.1:${upstreamPort}/e2e/cached:1`)).digest;

        await down(cacheStack).catch(() => undefined);
        cacheUp = await up(cacheStack, cacheConfig(caPem), { secretConfig: { proxyPassword: upstreamPassword } });
        await shOk(`docker login 127.0.0.1:${cachePort} --username admin --password-stdin`, (cacheUp.outputs.credentials as Record<string, string>).admin);
    });

    afterAll(() => new Promise<void>((r) => tokenServer.close(() => r())));

    it("pulls an upstream image through the cache, trusting the upstream's private CA", async () => {
        const requestsBefore = tokenRequests.length;
        const pulled = await sh(`docker pull 127.0.0.1:${cachePort}/e2e/cached:1`);
        expect(pulled.stderr).toBe("");
        expect(pulled.code).toBe(0);
        expect(pulled.stdout).toContain(`Digest: ${cachedDigest}`);
        // The cache logged in to the upstream as its own user.
        expect(tokenRequests.slice(requestsBefore)).toContain(upstreamUser);
        const env = await shOk("docker inspect -f '{{json .Config.Env}}' e2e-cache-registry");
        expect(env).toContain("SSL_CERT_DIR=/etc/ssl/certs:/etc/distribution/upstream-ca");
    });

    it("serves a pull by digest with the upstream stopped, but could not start without it", async () => {
        await shOk(`docker stop ${upstreamContainer}`);
        try {
            await shOk(`docker rmi 127.0.0.1:${cachePort}/e2e/cached:1`);
            const pulled = await sh(`docker pull 127.0.0.1:${cachePort}/e2e/cached@${cachedDigest}`);
            expect(pulled.code).toBe(0);
            expect(pulled.stdout).toContain(`Digest: ${cachedDigest}`);
            // distribution 2.8 asks the upstream for its auth challenge at start and panics when it can't.
            const restarted = await sh(`timeout 20 ${cacheRegistryRun(extraCaEnv(registryConfigDir, [upstreamCaDirName])[0])}`);
            expect(restarted.stderr).toMatch(/panic: Get "https:\/\/172\.17\.0\.1:\d+\/v2\/": dial tcp [\d.:]+: connect: connection refused/);
        } finally {
            await shOk(`docker start ${upstreamContainer}`);
        }
    });

    it("refuses a push with a clear error", async () => {
        const tag = `127.0.0.1:${cachePort}/e2e/pushed:1`;
        await buildImage(tag, 1, 64 * 1024);
        const pushed = await sh(`docker push ${tag}`);
        expect(pushed.code).not.toBe(0);
        expect(pushed.stdout + pushed.stderr).toMatch(/unsupported/i);
        console.log(`docker push to the cache: ${pushed.stderr.trim().split("\n").pop()}`);
        const api = await sh(`curl -s -k -u admin:${(cacheUp.outputs.credentials as Record<string, string>).admin} -X POST -w '\\n%{http_code}' https://127.0.0.1:${cachePort}/v2/e2e/pushed/blobs/uploads/`);
        const lines = api.stdout.trim().split("\n");
        const status = lines.pop();
        const body = lines.join("\n");
        expect(status).toBe("405");
        expect(JSON.parse(body).errors[0]).toEqual(expect.objectContaining({ code: "UNSUPPORTED" }));
    });

    it("keeps the upstream password out of docker inspect, the logs, the harness's output and unmarked state", async () => {
        for (const container of ["e2e-cache-registry", "e2e-cache-registry-init"]) {
            expect(await shOk(`docker inspect ${container}`)).not.toContain(upstreamPassword);
        }
        expect(await shOk("docker logs e2e-cache-registry 2>&1")).not.toContain(upstreamPassword);
        expect(harnessText(cacheUp)).not.toContain(upstreamPassword);
        expect(unmarkedSecretProperties(cacheStack, upstreamPassword)).toEqual([]);
        expect(await shOk("docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' e2e-cache-registry")).toContain("true");
    });

    it("cannot reach the upstream without its CA, so the trust comes from proxyCaCertPem", async () => {
        // The cache's own config volume, without SSL_CERT_DIR: distribution checks the upstream at start.
        const withoutCa = await sh(`timeout 20 ${cacheRegistryRun("")}`);
        expect(withoutCa.code).not.toBe(0);
        expect(withoutCa.stderr).toMatch(/panic: Get "https:\/\/172\.17\.0\.1:\d+\/v2\/": x509: certificate signed by unknown authority/);
    });
});
