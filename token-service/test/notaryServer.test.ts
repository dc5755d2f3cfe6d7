/**
 * The service against a real Notary server: Debian's notary-server (0.7.0, `apt-get install
 * notary`) with `auth.type: token`, memory storage and its local signer, on 127.0.0.1. Trust data
 * is published with Debian's notary client (as the docker CLI would, with the user's login), then
 * read and deleted with curl and tokens from the service.
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { buildClaims, loadSigningKey, signToken } from "../src/token";
import { Fixture, makeFixture, PASSWORDS } from "./support/fixture";
import { curl, CurlResult, freePort, start, Started, stop, waitFor } from "./support/processes";

const PACKAGE_DIR = join(__dirname, "..");
const REGISTRY_SERVICE = "test-registry";
const NOTARY_SERVICE = "test-notary";
const ISSUER = "test-issuer";
const PREFIX = "reg.example.com:5000/";
const GUN = `${PREFIX}team-a/app`;

// alice may do everything on team-a, carol may push to team-b only.
const ACCESS = `
users: [alice, carol, root]
groups: { team-a: [alice], team-b: [carol], admins: [root] }
adminGroup: admins
rules:
  - { groups: [team-a], repositories: ["team-a/**"], actions: ["*"] }
  - { groups: [team-b], repositories: ["team-b/**"], actions: [pull, push] }
`;

let fixture: Fixture;
let tokenPort: number;
let notaryPort: number;
let tokenService: Started | undefined;
let notaryServer: Started | undefined;

const tokenUrl = () => `https://127.0.0.1:${tokenPort}/token`;
const notaryUrl = (path: string) => `https://127.0.0.1:${notaryPort}${path}`;
const trustPath = (gun: string, file = "") => `/v2/${gun}/_trust/tuf/${file}`;

beforeAll(async () => {
    tokenPort = await freePort();
    notaryPort = await freePort([tokenPort]);
    fixture = makeFixture({ port: tokenPort, issuer: ISSUER, services: [REGISTRY_SERVICE] });
    writeFileSync(fixture.accessFile, ACCESS);
    const settings = JSON.parse(readFileSync(fixture.settingsFile, "utf8")) as Record<string, unknown>;
    writeFileSync(fixture.settingsFile, JSON.stringify({ ...settings, notary: { service: NOTARY_SERVICE, gunPrefixes: [PREFIX] } }));

    execFileSync(join(PACKAGE_DIR, "node_modules", ".bin", "tsc"), ["-p", join(PACKAGE_DIR, "tsconfig.build.json"), "--outDir", join(fixture.dir, "dist")]);
    tokenService = start(process.execPath, [join(fixture.dir, "dist", "main.js"), fixture.settingsFile], { PATH: process.env.PATH, NODE_PATH: join(PACKAGE_DIR, "node_modules") });

    const config = join(fixture.dir, "notary-server.json");
    writeFileSync(config, JSON.stringify({
        server: { http_addr: `127.0.0.1:${notaryPort}`, tls_cert_file: fixture.tls.cert, tls_key_file: fixture.tls.key },
        trust_service: { type: "local" },
        storage: { backend: "memory" },
        auth: { type: "token", options: { realm: tokenUrl(), service: NOTARY_SERVICE, issuer: ISSUER, rootcertbundle: fixture.signing.cert } },
        logging: { level: "info" },
    }));
    // notary-server reads NOTARY_SERVER_* variables as configuration.
    const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("NOTARY_")));
    notaryServer = start("/usr/bin/notary-server", [`-config=${config}`], env);

    const up = (url: string, status: number) => async () => (await curl(fixture.tlsCa.cert, [url])).status === status;
    await waitFor(`token service (${tokenPort}): ${tokenService.output()}`, up(`https://127.0.0.1:${tokenPort}/healthz`, 200));
    await waitFor(`notary-server (${notaryPort}): ${notaryServer.output()}`, up(notaryUrl("/_notary_server/health"), 200));
}, 120_000);

afterAll(async () => {
    await Promise.all([stop(tokenService), stop(notaryServer)]);
    if (fixture) rmSync(fixture.dir, { recursive: true, force: true });
});

async function getToken(user: keyof typeof PASSWORDS | undefined, scope: string, service = NOTARY_SERVICE): Promise<string> {
    const auth = user === undefined ? [] : ["-u", `${user}:${PASSWORDS[user]}`];
    const reply = await curl(fixture.tlsCa.cert, [...auth, "-G", tokenUrl(), "--data-urlencode", `service=${service}`, "--data-urlencode", `scope=${scope}`]);
    expect(reply.status).toBe(200);
    return (JSON.parse(reply.body) as { token: string }).token;
}

function call(token: string | undefined, method: string, path: string): Promise<CurlResult> {
    const auth = token === undefined ? [] : ["-H", `Authorization: Bearer ${token}`];
    return curl(fixture.tlsCa.cert, ["-X", method, ...auth, notaryUrl(path)]);
}

/** Debian's notary client, logging in as `user` through NOTARY_AUTH, as the docker CLI does with its login. */
function notaryClient(user: keyof typeof PASSWORDS, args: string[]): Promise<{ code: number; output: string }> {
    const trustDir = join(fixture.dir, `trust-${user}`);
    mkdirSync(trustDir, { recursive: true });
    const env = {
        PATH: process.env.PATH,
        HOME: fixture.dir,
        NOTARY_AUTH: Buffer.from(`${user}:${PASSWORDS[user]}`).toString("base64"),
        NOTARY_ROOT_PASSPHRASE: "root-passphrase-1",
        NOTARY_TARGETS_PASSPHRASE: "targets-passphrase-1",
        NOTARY_SNAPSHOT_PASSPHRASE: "snapshot-passphrase-1",
    };
    const command = ["-s", notaryUrl(""), "-d", trustDir, "--tlscacert", fixture.tlsCa.cert, ...args];
    return new Promise((resolve) => {
        execFile("/usr/bin/notary", command, { env, timeout: 60_000 }, (error, stdout, stderr) => {
            resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
        });
    });
}

function challenge(reply: CurlResult): string {
    expect(reply.status).toBe(401);
    return reply.headers["www-authenticate"];
}

describe("notary-server with the token service", () => {
    it("challenges a request without a token with the realm, Notary's service and the GUN", async () => {
        expect(challenge(await call(undefined, "GET", trustPath(GUN, "root.json")))).toBe(
            `Bearer realm="${tokenUrl()}",service="${NOTARY_SERVICE}",scope="repository:${GUN}:pull"`,
        );
    });

    it("lets a team member publish trust data with the notary client", async () => {
        const init = await notaryClient("alice", ["init", GUN, "-p"]);
        expect(init).toMatchObject({ code: 0 });
        // The client asked the service for the GUN as the docker CLI does, and got it.
        const logged = tokenService!.output().split("\n").filter((line) => line.includes('"user":"alice"') && line.includes(`"service":"${NOTARY_SERVICE}"`));
        expect(logged.map((line) => (JSON.parse(line) as { granted: string[] }).granted)).toContainEqual([`repository:${GUN}:push,pull`]);
    }, 90_000);

    it("refuses another team's member the trust data, and gives the team member it", async () => {
        const carol = await getToken("carol", `repository:${GUN}:pull`);
        expect(decodeJwt(carol).access).toEqual([]);
        expect(challenge(await call(carol, "GET", trustPath(GUN, "root.json")))).toContain('error="insufficient_scope"');
        const alice = await getToken("alice", `repository:${GUN}:pull`);
        const root = await call(alice, "GET", trustPath(GUN, "root.json"));
        expect(root.status).toBe(200);
        expect((JSON.parse(root.body) as { signed: { _type: string } }).signed._type).toBe("Root");
    });

    it("refuses a publish by another team's member", async () => {
        const push = await notaryClient("carol", ["init", `${PREFIX}team-a/other`, "-p"]);
        expect(push.code).not.toBe(0);
        expect(push.output).toContain("you are not authorized to perform this operation: server returned 401");
    }, 90_000);

    it("refuses a GUN under another registry's prefix, even for the repository's team", async () => {
        const token = await getToken("alice", "repository:other.example.com:5000/team-a/app:pull");
        expect(decodeJwt(token).access).toEqual([]);
        expect((await call(token, "GET", trustPath("other.example.com:5000/team-a/app", "root.json"))).status).toBe(401);
    });

    it("refuses a registry token (another audience), though it names the GUN", async () => {
        const signingKey = loadSigningKey(readFileSync(fixture.signing.key, "utf8"), readFileSync(fixture.signing.cert, "utf8"), "kid");
        const claims = buildClaims({
            issuer: ISSUER, subject: "alice", service: REGISTRY_SERVICE, access: [{ type: "repository", name: GUN, actions: ["pull"] }],
            lifetimeSeconds: 300, now: Math.floor(Date.now() / 1000),
        });
        expect(challenge(await call(await signToken(claims, signingKey), "GET", trustPath(GUN, "root.json")))).toContain('error="invalid_token"');
    });

    it("refuses a DELETE of the trust data without credentials, or with push only", async () => {
        expect(challenge(await call(undefined, "DELETE", trustPath(GUN)))).toBe(
            `Bearer realm="${tokenUrl()}",service="${NOTARY_SERVICE}",scope="repository:${GUN}:*"`,
        );
        const pushOnly = await getToken("alice", `repository:${GUN}:pull,push`);
        expect(challenge(await call(pushOnly, "DELETE", trustPath(GUN)))).toContain('error="insufficient_scope"');
        expect((await call(pushOnly, "GET", trustPath(GUN, "root.json"))).status).toBe(200);
    });

    it("deletes it with a team member's * token", async () => {
        const all = await getToken("alice", `repository:${GUN}:*`);
        expect(decodeJwt(all).access).toEqual([{ type: "repository", name: GUN, actions: ["*"] }]);
        expect((await call(all, "DELETE", trustPath(GUN))).status).toBe(200);
        expect((await call(all, "GET", trustPath(GUN, "root.json"))).status).toBe(404);
    });

    it("gives carol no * on her own team's GUNs, where delete is not hers", async () => {
        expect(decodeJwt(await getToken("carol", `repository:${PREFIX}team-b/app:*`)).access).toEqual([]);
        expect(decodeJwt(await getToken("carol", `repository:${PREFIX}team-b/app:pull,push`)).access).toEqual([
            { type: "repository", name: `${PREFIX}team-b/app`, actions: ["pull", "push"] },
        ]);
    });
});
