/**
 * The service against the real registry: Debian's docker-registry (distribution 2.8.2) with
 * auth.token, driven with curl. The service runs as built (tsc, then `node main.js`), twice: with
 * the `kid` header and with `x5c`.
 */
import { execFileSync } from "node:child_process";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { buildClaims, ClaimSet, loadSigningKey, signToken, SigningKey } from "../src/token";
import { Fixture, htpasswdFor, makeFixture, PASSWORDS } from "./support/fixture";
import { makeLeaf, makeSelfSigned } from "./support/pki";
import { curl, CurlResult, freePort, start, Started, stop, waitFor } from "./support/processes";

const PACKAGE_DIR = join(__dirname, "..");
const SERVICE = "test-registry";
const ISSUER = "test-issuer";

let fixture: Fixture;
let tokenPort: number;
let x5cPort: number;
let registryPort: number;
let tokenService: Started | undefined;
let x5cService: Started | undefined;
let registry: Started | undefined;
let signingKey: SigningKey;

const tokenUrl = (port = tokenPort) => `https://127.0.0.1:${port}/token`;
const registryUrl = (path: string) => `https://127.0.0.1:${registryPort}${path}`;

function startTokenService(settingsFile: string): Started {
    // Compiled CommonJS finds its dependencies through NODE_PATH, the build being outside the package.
    return start(process.execPath, [join(fixture.dir, "dist", "main.js"), settingsFile], { PATH: process.env.PATH, NODE_PATH: join(PACKAGE_DIR, "node_modules") });
}

beforeAll(async () => {
    tokenPort = await freePort();
    x5cPort = await freePort([tokenPort]);
    registryPort = await freePort([tokenPort, x5cPort]);
    fixture = makeFixture({ port: tokenPort, issuer: ISSUER, services: [SERVICE] });
    const settings = JSON.parse(readFileSync(fixture.settingsFile, "utf8")) as Record<string, unknown>;
    const x5cSettings = join(fixture.dir, "settings-x5c.json");
    writeFileSync(x5cSettings, JSON.stringify({ ...settings, port: x5cPort, keyHeader: "x5c" }));
    signingKey = loadSigningKey(readFileSync(fixture.signing.key, "utf8"), readFileSync(fixture.signing.cert, "utf8"), "kid");

    execFileSync(join(PACKAGE_DIR, "node_modules", ".bin", "tsc"), ["-p", join(PACKAGE_DIR, "tsconfig.build.json"), "--outDir", join(fixture.dir, "dist")]);
    tokenService = startTokenService(fixture.settingsFile);
    x5cService = startTokenService(x5cSettings);

    // kid tokens need the signing certificate itself in the bundle; x5c tokens chain up to its CA.
    const bundle = join(fixture.dir, "rootcertbundle.pem");
    writeFileSync(bundle, readFileSync(fixture.signingCa.cert, "utf8") + readFileSync(fixture.signing.cert, "utf8"));
    const config = join(fixture.dir, "registry.yml");
    writeFileSync(config, JSON.stringify({
        version: 0.1,
        log: { level: "info", accesslog: { disabled: true } },
        storage: { filesystem: { rootdirectory: join(fixture.dir, "data") }, delete: { enabled: true }, maintenance: { uploadpurging: { enabled: false } } },
        http: { addr: `127.0.0.1:${registryPort}`, secret: randomBytes(16).toString("hex"), tls: { certificate: fixture.tls.cert, key: fixture.tls.key } },
        auth: { token: { realm: tokenUrl(), service: SERVICE, issuer: ISSUER, rootcertbundle: bundle } },
    }));
    // The registry panics when AWS_CA_BUNDLE is set, and reads REGISTRY_* variables as configuration.
    const registryEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "AWS_CA_BUNDLE" && !name.startsWith("REGISTRY_")));
    registry = start("/usr/bin/docker-registry", ["serve", config], registryEnv);

    const up = (url: string, status: number) => async () => (await curl(fixture.tlsCa.cert, [url])).status === status;
    await waitFor(`token service (${tokenPort}): ${tokenService.output()}`, up(`https://127.0.0.1:${tokenPort}/healthz`, 200));
    await waitFor(`x5c token service (${x5cPort}): ${x5cService.output()}`, up(`https://127.0.0.1:${x5cPort}/healthz`, 200));
    await waitFor(`registry (${registryPort}): ${registry.output()}`, up(registryUrl("/v2/"), 401));
}, 120_000);

afterAll(async () => {
    await Promise.all([stop(tokenService), stop(x5cService), stop(registry)]);
    if (fixture) rmSync(fixture.dir, { recursive: true, force: true });
});

async function getToken(user: keyof typeof PASSWORDS | undefined, scopes: string[], port = tokenPort): Promise<string> {
    const auth = user === undefined ? [] : ["-u", `${user}:${PASSWORDS[user]}`];
    const reply = await curl(fixture.tlsCa.cert, [...auth, "-G", tokenUrl(port), "--data-urlencode", `service=${SERVICE}`, ...scopes.flatMap((scope) => ["--data-urlencode", `scope=${scope}`])]);
    expect(reply.status).toBe(200);
    return (JSON.parse(reply.body) as { token: string }).token;
}

function call(token: string | undefined, method: string, path: string, extra: string[] = []): Promise<CurlResult> {
    const auth = token === undefined ? [] : ["-H", `Authorization: Bearer ${token}`];
    return curl(fixture.tlsCa.cert, ["-X", method, ...auth, "-H", "Expect:", ...extra, path.startsWith("https:") ? path : registryUrl(path)]);
}

const sha256 = (data: Buffer | string) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** Monolithic blob upload: POST for an upload URL, then one PUT with the whole blob and its digest. */
async function pushBlob(token: string, repository: string, data: Buffer): Promise<string> {
    const started = await call(token, "POST", `/v2/${repository}/blobs/uploads/`);
    expect(started.status).toBe(202);
    const file = join(fixture.dir, `blob-${randomBytes(4).toString("hex")}`);
    writeFileSync(file, data);
    const digest = sha256(data);
    const location = new URL(started.headers.location, registryUrl("/"));
    location.searchParams.set("digest", digest);
    const put = await call(token, "PUT", location.toString(), ["-H", "Content-Type: application/octet-stream", "--data-binary", `@${file}`]);
    expect(put.status).toBe(201);
    return digest;
}

const MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json";
const layer = randomBytes(1024);
const imageConfig = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(layer)] } }));
let manifestDigest: string;

function bearerChallenge(reply: CurlResult): string {
    expect(reply.status).toBe(401);
    return reply.headers["www-authenticate"];
}

describe("a registry with token auth", () => {
    it("challenges anonymous requests with the realm and service", async () => {
        expect(bearerChallenge(await call(undefined, "GET", "/v2/"))).toBe(`Bearer realm="${tokenUrl()}",service="${SERVICE}"`);
        expect(bearerChallenge(await call(undefined, "GET", "/v2/team/app/tags/list"))).toBe(
            `Bearer realm="${tokenUrl()}",service="${SERVICE}",scope="repository:team/app:pull"`,
        );
    });

    it("lets a team user push a blob and a manifest", async () => {
        const token = await getToken("alice", ["repository:team/app:pull,push"]);
        expect(decodeProtectedHeader(token).kid).toBe(signingKey.kid);
        const configDigest = await pushBlob(token, "team/app", imageConfig);
        const layerDigest = await pushBlob(token, "team/app", layer);
        const manifest = JSON.stringify({
            schemaVersion: 2,
            mediaType: MANIFEST_TYPE,
            config: { mediaType: "application/vnd.docker.container.image.v1+json", size: imageConfig.length, digest: configDigest },
            layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: layer.length, digest: layerDigest }],
        });
        manifestDigest = sha256(manifest);
        const put = await call(token, "PUT", "/v2/team/app/manifests/v1", ["-H", `Content-Type: ${MANIFEST_TYPE}`, "--data-binary", manifest]);
        expect(put.status).toBe(201);
        expect(put.headers["docker-content-digest"]).toBe(manifestDigest);
    });

    it("lets the team user and a read-only user pull it", async () => {
        for (const user of ["alice", "carol"] as const) {
            const token = await getToken(user, ["repository:team/app:pull"]);
            const manifest = await call(token, "GET", "/v2/team/app/manifests/v1", ["-H", `Accept: ${MANIFEST_TYPE}`]);
            expect(manifest.status).toBe(200);
            expect(sha256(manifest.body)).toBe(manifestDigest);
            const blob = await call(token, "GET", `/v2/team/app/blobs/${sha256(imageConfig)}`, ["-L"]);
            expect(blob.status).toBe(200);
            expect(blob.body).toBe(imageConfig.toString());
        }
    });

    it("refuses a push by the read-only user with insufficient_scope", async () => {
        const token = await getToken("carol", ["repository:team/app:pull,push"]);
        expect(decodeJwt(token).access).toEqual([{ type: "repository", name: "team/app", actions: ["pull"] }]);
        // The registry lists the actions from a Go map, in either order.
        const challenge = bearerChallenge(await call(token, "POST", "/v2/team/app/blobs/uploads/"));
        expect([`pull,push`, `push,pull`].map((actions) => `Bearer realm="${tokenUrl()}",service="${SERVICE}",scope="repository:team/app:${actions}",error="insufficient_scope"`)).toContain(challenge);
    });

    it("gives anonymous nothing on team repositories, and pull on public ones", async () => {
        const token = await getToken(undefined, ["repository:team/app:pull"]);
        expect(bearerChallenge(await call(token, "GET", "/v2/team/app/manifests/v1"))).toContain('error="insufficient_scope"');
        const publicToken = await getToken(undefined, ["repository:public/base:pull"]);
        // Authorized, and the repository is empty.
        expect((await call(publicToken, "GET", "/v2/public/base/manifests/v1")).status).toBe(404);
    });

    it("lists the catalog for the admin group only", async () => {
        const adminToken = await getToken("root", ["registry:catalog:*"]);
        const catalog = await call(adminToken, "GET", "/v2/_catalog");
        expect(catalog.status).toBe(200);
        expect(JSON.parse(catalog.body)).toEqual({ repositories: ["team/app"] });
        const teamToken = await getToken("alice", ["registry:catalog:*"]);
        expect(decodeJwt(teamToken).access).toEqual([]);
        expect(bearerChallenge(await call(teamToken, "GET", "/v2/_catalog"))).toContain('error="insufficient_scope"');
    });

    it("accepts x5c tokens (the signing certificate, verified up to its CA)", async () => {
        const token = await getToken("carol", ["repository:team/app:pull"], x5cPort);
        const header = decodeProtectedHeader(token);
        expect(header.kid).toBeUndefined();
        expect(header.x5c).toHaveLength(1);
        expect((await call(token, "GET", "/v2/team/app/manifests/v1", ["-H", `Accept: ${MANIFEST_TYPE}`])).status).toBe(200);
    });
});

describe("forged tokens", () => {
    const pull = [{ type: "repository", name: "team/app", actions: ["pull"] }];
    const now = () => Math.floor(Date.now() / 1000);
    const claims = (overrides: Partial<ClaimSet> = {}): ClaimSet => ({
        ...buildClaims({ issuer: ISSUER, subject: "carol", service: SERVICE, access: pull, lifetimeSeconds: 300, now: now() }),
        ...overrides,
    });
    const manifest = (token: string) => call(token, "GET", "/v2/team/app/manifests/v1", ["-H", `Accept: ${MANIFEST_TYPE}`]);
    const invalid = () => `Bearer realm="${tokenUrl()}",service="${SERVICE}",scope="repository:team/app:pull",error="invalid_token"`;

    it("control: the forging helper's honest token is accepted", async () => {
        expect((await manifest(await signToken(claims(), signingKey))).status).toBe(200);
    });

    it("refuses a token signed by another key under the trusted kid", async () => {
        const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
        expect(bearerChallenge(await manifest(await signToken(claims(), { ...signingKey, privateKey })))).toBe(invalid());
    });

    it("refuses an x5c with a self-signed certificate of the attacker's key", async () => {
        const attacker = makeSelfSigned(fixture.dir, "attacker");
        const key = loadSigningKey(readFileSync(attacker.key, "utf8"), readFileSync(attacker.cert, "utf8"), "x5c");
        expect(bearerChallenge(await manifest(await signToken(claims(), key)))).toBe(invalid());
    });

    it("refuses an expired token (past the registry's 60 s leeway)", async () => {
        expect(bearerChallenge(await manifest(await signToken(claims({ exp: now() - 120, nbf: now() - 420, iat: now() - 420 }), signingKey)))).toBe(invalid());
    });

    it("refuses a token not yet valid", async () => {
        expect(bearerChallenge(await manifest(await signToken(claims({ nbf: now() + 300, exp: now() + 600 }), signingKey)))).toBe(invalid());
    });

    it("refuses a wrong issuer and a wrong audience", async () => {
        expect(bearerChallenge(await manifest(await signToken(claims({ iss: "someone-else" }), signingKey)))).toBe(invalid());
        expect(bearerChallenge(await manifest(await signToken(claims({ aud: "other-registry" }), signingKey)))).toBe(invalid());
    });

    it("refuses an aud array, as distribution 2.8 does (why aud is one string)", async () => {
        const arrayAud = { ...claims(), aud: [SERVICE] } as unknown as ClaimSet;
        expect(bearerChallenge(await manifest(await signToken(arrayAud, signingKey)))).toBe(invalid());
    });

    it("refuses alg none", async () => {
        const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
        const unsigned = `${encode({ alg: "none", typ: "JWT", kid: signingKey.kid })}.${encode(claims())}.`;
        expect(bearerChallenge(await manifest(unsigned))).toBe(invalid());
    });

    it("refuses a token for one repository on another", async () => {
        const token = await getToken("alice", ["repository:team/app:pull,push"]);
        expect(bearerChallenge(await call(token, "GET", "/v2/team/other/tags/list"))).toBe(
            `Bearer realm="${tokenUrl()}",service="${SERVICE}",scope="repository:team/other:pull",error="insufficient_scope"`,
        );
    });
});

describe("the running service", () => {
    it("refuses a removed user at the next login; tokens already issued last until they expire", async () => {
        const earlier = await getToken("alice", ["repository:team/app:pull"]);
        writeFileSync(fixture.htpasswdFile, htpasswdFor(["carol", "root"]));
        await waitFor("alice to be refused", async () => {
            const reply = await curl(fixture.tlsCa.cert, ["-u", `alice:${PASSWORDS.alice}`, `${tokenUrl()}?service=${SERVICE}`]);
            return reply.status === 401 && reply.headers["www-authenticate"] === `Basic realm="${ISSUER}", charset="UTF-8"`;
        });
        expect((await call(earlier, "GET", "/v2/team/app/tags/list")).status).toBe(200);
        writeFileSync(fixture.htpasswdFile, htpasswdFor(["alice", "carol", "root"]));
    });

    it("reloads its TLS certificate on SIGHUP", async () => {
        makeLeaf(fixture.dir, "tls", fixture.signingCa); // a new tls.crt/tls.key, from another CA
        process.kill(tokenService!.child.pid!, "SIGHUP");
        await waitFor("the new certificate", async () => (await curl(fixture.signingCa.cert, [`https://127.0.0.1:${tokenPort}/healthz`])).status === 200);
        await expect(curl(fixture.tlsCa.cert, [`https://127.0.0.1:${tokenPort}/healthz`])).rejects.toThrow(/certificate/);
    });

    it("logs requests without passwords or tokens", () => {
        const log = tokenService!.output() + x5cService!.output();
        expect(log).toContain('"msg":"request"');
        expect(log).toContain('"user":"alice"');
        for (const password of Object.values(PASSWORDS)) expect(log).not.toContain(password);
        expect(log).not.toMatch(/eyJ[\w-]+\.eyJ/);
    });
});
