import { X509Certificate } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { TLSSocket } from "node:tls";
import { decodeJwt, jwtVerify } from "jose";
import { loadSettings, Settings } from "../src/config";
import { AccessState, handleTokenRequest, loadAccessState, parseBasicAuth, RunningService, startService, TokenContext } from "../src/server";
import { loadSigningKey } from "../src/token";
import { ACCESS_YAML, Fixture, htpasswdFor, makeFixture, PASSWORDS } from "./support/fixture";
import { makeLeaf } from "./support/pki";
import { freePort, waitFor } from "./support/processes";

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

let fixture: Fixture;
let settings: Settings;
let context: TokenContext;
beforeAll(async () => {
    fixture = makeFixture({ port: await freePort() });
    settings = loadSettings(fixture.settingsFile);
    const state = loadAccessState(settings);
    context = {
        settings,
        signingKey: loadSigningKey(readFileSync(fixture.signing.key, "utf8"), readFileSync(fixture.signing.cert, "utf8"), "kid"),
        state,
        now: () => Math.floor(Date.now() / 1000),
    };
});
afterAll(() => rmSync(fixture.dir, { recursive: true, force: true }));

describe("parseBasicAuth", () => {
    it("splits at the first colon and rejects other schemes", () => {
        expect(parseBasicAuth(basic("alice", "a:b"))).toEqual({ user: "alice", password: "a:b" });
        expect(parseBasicAuth("Bearer abc")).toBeUndefined();
        expect(parseBasicAuth(`Basic ${Buffer.from("nocolon").toString("base64")}`)).toBeUndefined();
        expect(parseBasicAuth(`Basic ${Buffer.from(":pw").toString("base64")}`)).toBeUndefined();
    });
});

describe("handleTokenRequest", () => {
    const get = (url: string, authorization?: string, method = "GET") => handleTokenRequest({ url, method, authorization }, context);

    it("issues a token with the granted intersection, verifiable with the signing certificate", async () => {
        const reply = await get("/token?service=test-registry&scope=repository:team/app:pull,push&scope=registry:catalog:*", basic("carol", PASSWORDS.carol));
        expect(reply.status).toBe(200);
        expect(reply.headers["Cache-Control"]).toBe("no-store");
        const body = reply.body as { token: string; access_token: string; expires_in: number; issued_at: string };
        expect(body.access_token).toBe(body.token);
        expect(body.expires_in).toBe(300);
        const { payload } = await jwtVerify(body.token, new X509Certificate(readFileSync(fixture.signing.cert)).publicKey, { issuer: "test-issuer", audience: "test-registry" });
        expect(payload.sub).toBe("carol");
        expect(payload.aud).toBe("test-registry");
        expect(payload.access).toEqual([{ type: "repository", name: "team/app", actions: ["pull"] }]);
        expect(new Date(body.issued_at).getTime() / 1000).toBe(payload.iat);
        expect(reply.log).toMatchObject({ status: 200, user: "carol", requested: ["repository:team/app:pull,push", "registry:catalog:*"], granted: ["repository:team/app:pull"] });
        expect(JSON.stringify(reply.log)).not.toContain(body.token.split(".")[2]);
        expect(JSON.stringify(reply.log)).not.toContain(PASSWORDS.carol);
    });

    it("gives anonymous requests only anonymous grants, with an empty subject", async () => {
        const reply = await get("/token?service=test-registry&scope=repository:public/base:pull,push&scope=repository:team/app:pull");
        expect(reply.status).toBe(200);
        const claims = decodeJwt((reply.body as { token: string }).token);
        expect(claims.sub).toBe("");
        expect(claims.access).toEqual([{ type: "repository", name: "public/base", actions: ["pull"] }]);
    });

    it("answers a login check (no scope) with an empty access list", async () => {
        const reply = await get("/token?service=test-registry&account=root&client_id=docker", basic("root", PASSWORDS.root));
        expect(decodeJwt((reply.body as { token: string }).token).access).toEqual([]);
    });

    it.each([
        ["a wrong password", basic("alice", "wrong")],
        ["an unknown user", basic("mallory", PASSWORDS.alice)],
        ["a malformed header", "Basic !!!"],
        ["a bearer token", "Bearer abc.def.ghi"],
    ])("refuses %s with 401 and a Basic challenge", async (_why, authorization) => {
        const reply = await get("/token?service=test-registry&scope=repository:team/app:pull", authorization);
        expect(reply.status).toBe(401);
        expect(reply.headers["WWW-Authenticate"]).toBe('Basic realm="test-issuer", charset="UTF-8"');
        expect(reply.body).toEqual({ errors: [{ code: "UNAUTHORIZED", message: "authentication failed" }] });
        expect(JSON.stringify(reply.log)).not.toContain(PASSWORDS.alice);
    });

    it("answers malformed scopes and unknown or missing services with 400 and a JSON error", async () => {
        const malformed = await get("/token?service=test-registry&scope=repository:Team:pull", basic("alice", PASSWORDS.alice));
        expect(malformed.status).toBe(400);
        expect(malformed.body).toEqual({ errors: [{ code: "INVALID_REQUEST", message: 'malformed scope "repository:Team:pull": bad resource name' }] });
        expect((await get("/token?service=other&scope=repository:team/app:pull")).status).toBe(400);
        expect((await get("/token?scope=repository:team/app:pull")).body).toEqual({
            errors: [{ code: "INVALID_REQUEST", message: "unknown service null; this server issues tokens for test-registry" }],
        });
    });

    describe("for Notary", () => {
        const notaryContext = () => ({ ...context, settings: { ...settings, notary: { service: "test-notary", gunPrefixes: ["reg.example.com:5000/"] } } });
        const notaryGet = (query: string, authorization?: string) => handleTokenRequest({ url: `/token?service=test-notary&${query}`, method: "GET", authorization }, notaryContext());

        it("grants on the GUN as asked, decided by the rules for the repository, with Notary's service as audience", async () => {
            const reply = await notaryGet("scope=repository:reg.example.com:5000/team/app:pull,push", basic("carol", PASSWORDS.carol));
            expect(reply.status).toBe(200);
            const { payload } = await jwtVerify((reply.body as { token: string }).token, new X509Certificate(readFileSync(fixture.signing.cert)).publicKey, { issuer: "test-issuer", audience: "test-notary" });
            expect(payload.access).toEqual([{ type: "repository", name: "reg.example.com:5000/team/app", actions: ["pull"] }]);
            expect(reply.log).toMatchObject({ service: "test-notary", granted: ["repository:reg.example.com:5000/team/app:pull"] });
        });

        it("grants nothing on a GUN of another registry", async () => {
            const reply = await notaryGet("scope=repository:other.example.com:5000/team/app:pull,push", basic("alice", PASSWORDS.alice));
            expect(decodeJwt((reply.body as { token: string }).token).access).toEqual([]);
        });

        it("expects GUNs from Notary and repositories from the registry", async () => {
            expect((await notaryGet("scope=repository:app:pull")).body).toEqual({
                errors: [{ code: "INVALID_REQUEST", message: 'malformed scope "repository:app:pull": bad resource name' }],
            });
            const registry = await handleTokenRequest({ url: "/token?service=test-registry&scope=repository:reg.example.com:5000/team/app:pull", method: "GET", authorization: undefined }, notaryContext());
            expect(registry.status).toBe(400);
        });

        it("names both services when asked for another", async () => {
            expect((await handleTokenRequest({ url: "/token?service=x", method: "GET", authorization: undefined }, notaryContext())).body).toEqual({
                errors: [{ code: "INVALID_REQUEST", message: 'unknown service "x"; this server issues tokens for test-registry, test-notary' }],
            });
        });

        it("is off without notary settings", async () => {
            expect((await get("/token?service=test-notary&scope=repository:reg.example.com:5000/team/app:pull")).status).toBe(400);
        });
    });

    it("serves the health check, 404 elsewhere and 405 for other methods", async () => {
        expect((await get("/healthz")).status).toBe(200);
        expect((await get("/v2/")).status).toBe(404);
        const post = await get("/token?service=test-registry", undefined, "POST");
        expect(post.status).toBe(405);
        expect(post.headers.Allow).toBe("GET");
    });

    it("refuses every request with 503 while the access files are invalid", async () => {
        const broken: AccessState = { error: "bad file" };
        const reply = await handleTokenRequest({ url: "/token?service=test-registry", method: "GET", authorization: basic("alice", PASSWORDS.alice) }, { ...context, state: broken });
        expect(reply.status).toBe(503);
        expect((await handleTokenRequest({ url: "/healthz", method: "GET", authorization: undefined }, { ...context, state: broken })).status).toBe(503);
    });
});

describe("loadAccessState", () => {
    it("warns of declared users without an htpasswd entry", () => {
        writeFileSync(fixture.htpasswdFile, htpasswdFor(["alice", "root"]));
        const state = loadAccessState(settings);
        expect("warnings" in state && state.warnings).toEqual([`user "carol" of ${settings.accessFile} has no entry in ${settings.htpasswdFile} and cannot log in`]);
        writeFileSync(fixture.htpasswdFile, htpasswdFor(["alice", "carol", "root"]));
    });

    it("reports the first invalid file", () => {
        writeFileSync(fixture.accessFile, "rules: [{users: [nobody], repositories: ['**'], actions: [pull]}]");
        const state = loadAccessState(settings);
        expect("error" in state && state.error).toContain('rules[0].users[0]: unknown user "nobody"');
        writeFileSync(fixture.accessFile, ACCESS_YAML);
    });
});

describe("startService over HTTPS", () => {
    let service: RunningService;
    const logs: Record<string, unknown>[] = [];
    beforeAll(async () => {
        service = await startService(settings, (fields) => logs.push(fields), 100);
    });
    afterAll(() => service.close());

    function fetchToken(authorization?: string, ca = fixture.tlsCa.cert): Promise<{ status: number; body: string; issuer: string }> {
        return new Promise((resolve, reject) => {
            const req = request(
                { host: "127.0.0.1", port: service.port, path: "/token?service=test-registry&scope=repository:team/app:pull,push", agent: false, ca: readFileSync(ca), headers: authorization ? { authorization } : {} },
                (res) => {
                    const issuer = (res.socket as TLSSocket).getPeerX509Certificate()?.issuer ?? "";
                    let body = "";
                    res.on("data", (chunk: Buffer) => (body += chunk.toString()));
                    res.on("end", () => resolve({ status: res.statusCode ?? 0, body, issuer }));
                },
            );
            req.on("error", reject);
            req.end();
        });
    }

    it("issues tokens over TLS and logs neither passwords nor tokens", async () => {
        const reply = await fetchToken(basic("alice", PASSWORDS.alice));
        expect(reply.status).toBe(200);
        const token = (JSON.parse(reply.body) as { token: string }).token;
        expect(decodeJwt(token).access).toEqual([{ type: "repository", name: "team/app", actions: ["pull", "push"] }]);
        const logText = JSON.stringify(logs);
        expect(logText).toContain('"user":"alice"');
        expect(logText).not.toContain(PASSWORDS.alice);
        expect(logText).not.toContain(token.split(".")[2]);
    });

    it("refuses a removed user at the next login, once the htpasswd file changes", async () => {
        writeFileSync(fixture.htpasswdFile, htpasswdFor(["carol", "root"]));
        await waitFor("alice to be refused", async () => (await fetchToken(basic("alice", PASSWORDS.alice))).status === 401, 5000);
        expect((await fetchToken(basic("carol", PASSWORDS.carol))).status).toBe(200);
        writeFileSync(fixture.htpasswdFile, htpasswdFor(["alice", "carol", "root"]));
        await waitFor("alice to be back", async () => (await fetchToken(basic("alice", PASSWORDS.alice))).status === 200, 5000);
    });

    it("fails closed while the access file is invalid, and recovers when it is fixed", async () => {
        writeFileSync(fixture.accessFile, "rules: [ broken");
        await waitFor("503", async () => (await fetchToken(basic("alice", PASSWORDS.alice))).status === 503, 5000);
        expect(logs.some((entry) => entry.level === "error" && String(entry.error).includes("not valid YAML"))).toBe(true);
        writeFileSync(fixture.accessFile, ACCESS_YAML);
        await waitFor("200", async () => (await fetchToken(basic("alice", PASSWORDS.alice))).status === 200, 5000);
    });

    it("changes grants when the rules change", async () => {
        writeFileSync(fixture.accessFile, ACCESS_YAML.replace("actions: [pull, push]", "actions: [pull]"));
        await waitFor("push to be dropped", async () => {
            const reply = await fetchToken(basic("alice", PASSWORDS.alice));
            return JSON.stringify(decodeJwt((JSON.parse(reply.body) as { token: string }).token).access) === JSON.stringify([{ type: "repository", name: "team/app", actions: ["pull"] }]);
        }, 5000);
        writeFileSync(fixture.accessFile, ACCESS_YAML);
    });

    it("serves a new TLS certificate after reload(true), and keeps the old keys when the new ones are broken", async () => {
        const before = await fetchToken();
        expect(before.issuer).toContain("CN=tls-ca");
        const tlsCert = readFileSync(fixture.tls.cert);
        const tlsKey = readFileSync(fixture.tls.key);
        const signingKey = readFileSync(fixture.signing.key);
        makeLeaf(fixture.dir, "tls", fixture.signingCa); // overwrites tls.crt/tls.key, issued by another CA
        service.reload(true);
        expect((await fetchToken(undefined, fixture.signingCa.cert)).issuer).toContain("CN=signing-ca");
        writeFileSync(fixture.signing.key, "not a key");
        service.reload(true);
        expect(logs.some((entry) => entry.msg === "keys not reloaded; keeping the previous ones")).toBe(true);
        expect((await fetchToken(basic("alice", PASSWORDS.alice), fixture.signingCa.cert)).status).toBe(200);
        writeFileSync(fixture.tls.cert, tlsCert);
        writeFileSync(fixture.tls.key, tlsKey);
        writeFileSync(fixture.signing.key, signingKey);
    });
});
