/**
 * Token authentication on the dev stack (auth: token), applied for real by the local apply harness:
 * the token service built from its Dockerfile, driven with both docker CLIs on this machine (28.x
 * and Debian's 20.10) and with curl; forged tokens made with jose (support/jwt.mjs).
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { registryTokenLeewaySeconds } from "../../components/tokenAuth";
import { dockerClient, DockerClient, dockerClis } from "./support/dockerClients";
import { buildRandomImage } from "./support/images";
import { E2eStackSession, LocalStack, StackOutputs, waitHealthy } from "./support/localStack";
import { run, runOk } from "./support/shell";
import { TestNetwork } from "./support/testNetwork";

const registryName = "token.e2e.test";
const network = new TestNetwork("toke2e", "10.252.4.1", "10.252.4.2", [registryName]);
const endpoint = `${registryName}:5000`;
const tokenLifetimeSeconds = 60;
const accessRules = (readers: string[]) => JSON.stringify({
    groups: { "team-a": ["alice"], "team-b": ["bob"], readers, admins: ["root"] },
    adminGroup: "admins",
    rules: [
        { groups: ["team-a"], repositories: ["team-a/**"], actions: ["pull", "push", "delete"] },
        { groups: ["team-b"], repositories: ["team-b/**"], actions: ["pull", "push"] },
        { groups: ["readers"], repositories: ["team-a/**"], actions: ["pull"] },
        { groups: ["admins"], repositories: ["**"], actions: ["*"] },
        { users: ["anonymous"], repositories: ["public/*"], actions: ["pull"] },
    ],
});
const stackConfig = {
    hostnames: `[${registryName}, localhost]`,
    ipAddresses: `[${network.hostAddress}, 127.0.0.1]`,
    clientTrustLocal: "true",
    users: "[alice, bob, carol, root, dave]",
    auth: "token",
    tokenLifetimeSeconds: String(tokenLifetimeSeconds),
    accessRules: accessRules(["carol", "dave"]),
};
const stack = new LocalStack("dev", stackConfig);

interface TokenStackOutputs extends StackOutputs { tokenRealm: string }
const session = new E2eStackSession<TokenStackOutputs>(stack, network, registryName, endpoint, "token-e2e-");
let outputs: TokenStackOutputs;
let work: string;
let caFile: string;

const { docker28, docker2010 } = dockerClis;
const client = (cli: string, configName: string) => dockerClient(cli, work, configName);
const inspect = (name: string, format: string) => runOk(`docker inspect -f '${format}' ${name}`).trim();

/** A token from the token service: the JSON answer, or the HTTP status when it refuses. */
function fetchToken(user: string | undefined, scopes: string[]): { status: number; token?: string; expiresIn?: number } {
    const query = [`service=${encodeURIComponent(endpoint)}`, ...scopes.map((s) => `scope=${encodeURIComponent(s)}`)].join("&");
    const auth = user === undefined ? "" : `-u '${user}:${outputs.credentials[user]}'`;
    const out = runOk(`curl -s --cacert ${caFile} ${auth} -w '\\n%{http_code}' '${outputs.tokenRealm}?${query}'`);
    const [body, status] = [out.slice(0, out.lastIndexOf("\n")), Number(out.slice(out.lastIndexOf("\n") + 1))];
    if (status !== 200) return { status };
    const json = JSON.parse(body) as { token: string; expires_in: number };
    return { status, token: json.token, expiresIn: json.expires_in };
}

/** The registry's status for a request with a bearer token. */
function registryStatus(token: string, method: string, urlPath: string): number {
    return Number(runOk(`curl -s -o /dev/null -w '%{http_code}' --cacert ${caFile} -X ${method} -H 'Authorization: Bearer ${token}' `
        + `-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' 'https://${endpoint}${urlPath}'`));
}

const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8")) as Record<string, unknown>;
/** A JWT made by jose in a process of its own (it is ESM only); unsigned without keyPem. */
function makeJwt(header: Record<string, unknown>, claims: Record<string, unknown>, keyPem?: string): string {
    const made = spawnSync("node", [path.join(__dirname, "support", "jwt.mjs")], { input: JSON.stringify({ header, claims, keyPem }), encoding: "utf8" });
    if (made.status !== 0) throw new Error(`jwt.mjs failed: ${made.stderr}`);
    return made.stdout;
}

const buildImage = (cli: DockerClient, tag: string) => buildRandomImage(tag, { layer: 65536 }, work, cli.env);

beforeAll(() => {
    session.setUp();
    ({ outputs, work, caFile } = session);
});

afterAll(() => session.tearDown());

describe("the token service", () => {
    it("runs hardened and healthy on its own port, with no secret in its environment", () => {
        expect(outputs.tokenRealm).toBe(`https://${registryName}:5002/token`);
        const container = "registry-dev-token";
        waitHealthy(container);
        expect(inspect(container, "{{.Config.User}} {{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}}"))
            .toBe("1000:1000 true [ALL] [no-new-privileges:true]");
        const env = inspect(container, "{{json .Config.Env}}");
        for (const password of Object.values(outputs.credentials)) expect(env).not.toContain(password);
        expect(runOk(`docker logs ${container} 2>&1`)).not.toMatch(new RegExp(Object.values(outputs.credentials).join("|")));
    });

    it("refuses a wrong password and answers a right one with a short-lived token", () => {
        expect(runOk(`curl -s -o /dev/null -w '%{http_code}' --cacert ${caFile} -u alice:wrong '${outputs.tokenRealm}?service=${endpoint}'`)).toBe("401");
        const answer = fetchToken("alice", ["repository:team-a/app:pull"]);
        expect(answer.status).toBe(200);
        expect(answer.expiresIn).toBe(tokenLifetimeSeconds);
    });
});

describe("access rules, with the real docker clients", () => {
    it("a team user pushes to its own repositories (docker 28) and is refused on another team's", () => {
        const alice = client(docker28, "alice");
        expect(alice.ok(`login ${endpoint} --username alice --password-stdin`, outputs.credentials.alice)).toMatch(/Login Succeeded/);
        buildImage(alice, `${endpoint}/team-a/app:1`);
        alice.ok(`push ${endpoint}/team-a/app:1`);
        alice.ok(`tag ${endpoint}/team-a/app:1 ${endpoint}/team-b/app:1`);
        const refused = alice.run(`push ${endpoint}/team-b/app:1`);
        expect(refused.code).not.toBe(0);
        expect(refused.stdout + refused.stderr).toMatch(/denied: requested access to the resource is denied/);
    });

    it("a read-only user pulls (docker 20.10) but cannot push or delete", () => {
        const carol = client(docker2010, "carol");
        expect(carol.ok(`login ${endpoint} --username carol --password-stdin`, outputs.credentials.carol)).toMatch(/Login Succeeded/);
        run(`${docker2010} rmi -f ${endpoint}/team-a/app:1`);
        carol.ok(`pull ${endpoint}/team-a/app:1`);
        carol.ok(`tag ${endpoint}/team-a/app:1 ${endpoint}/team-a/app:carol`);
        const push = carol.run(`push ${endpoint}/team-a/app:carol`);
        expect(push.code).not.toBe(0);
        expect(push.stdout + push.stderr).toMatch(/denied: requested access to the resource is denied/);
        const digest = runOk(`curl -s -I --cacert ${caFile} -H 'Authorization: Bearer ${fetchToken("carol", ["repository:team-a/app:pull"]).token}' `
            + `-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' https://${endpoint}/v2/team-a/app/manifests/1 | tr -d '\\r' | sed -n 's/^docker-content-digest: //Ip'`).trim();
        expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
        const carolToken = fetchToken("carol", ["repository:team-a/app:pull,delete"]);
        expect(decode(carolToken.token!.split(".")[1]).access).toEqual([{ type: "repository", name: "team-a/app", actions: ["pull"] }]);
        expect(registryStatus(carolToken.token!, "DELETE", `/v2/team-a/app/manifests/${digest}`)).toBe(401);
        // The team's own user may delete: the refusal above is the rule's, not the registry's.
        const alice = client(docker28, "alice");
        buildImage(alice, `${endpoint}/team-a/app:2`);
        alice.ok(`push ${endpoint}/team-a/app:2`);
        const second = runOk(`${docker28} image inspect -f '{{range .RepoDigests}}{{.}} {{end}}' ${endpoint}/team-a/app:2`).trim().split("@")[1];
        expect(registryStatus(fetchToken("alice", ["repository:team-a/app:delete"]).token!, "DELETE", `/v2/team-a/app/manifests/${second}`)).toBe(202);
    });

    it("the catalog is for admins only", () => {
        const rootToken = fetchToken("root", ["registry:catalog:*"]).token!;
        expect(registryStatus(rootToken, "GET", "/v2/_catalog")).toBe(200);
        expect(runOk(`curl -s --cacert ${caFile} -H 'Authorization: Bearer ${rootToken}' https://${endpoint}/v2/_catalog`)).toContain("team-a/app");
        const aliceToken = fetchToken("alice", ["registry:catalog:*"]);
        expect(decode(aliceToken.token!.split(".")[1]).access).toEqual([]);
        expect(registryStatus(aliceToken.token!, "GET", "/v2/_catalog")).toBe(401);
    });

    it("anonymous pulls only where a rule asks for it", () => {
        const root = client(docker28, "root");
        root.ok(`login ${endpoint} --username root --password-stdin`, outputs.credentials.root);
        buildImage(root, `${endpoint}/public/tool:1`);
        root.ok(`push ${endpoint}/public/tool:1`);
        run(`${docker28} rmi -f ${endpoint}/public/tool:1 ${endpoint}/team-a/app:1`);
        const anonymous = client(docker28, "anonymous");
        anonymous.ok(`pull ${endpoint}/public/tool:1`);
        const refused = anonymous.run(`pull ${endpoint}/team-a/app:1`);
        expect(refused.code).not.toBe(0);
        expect(refused.stdout + refused.stderr).toMatch(/pull access denied|unauthorized|authentication required/);
    });
});

describe("forged tokens", () => {
    const manifest = "/v2/team-a/app/manifests/1";
    let genuine: string;
    let signingKeyPem: string;
    let claims: Record<string, unknown>;
    let header: Record<string, unknown>;
    const now = () => Math.floor(Date.now() / 1000);
    const freshKey = () => runOk("openssl ecparam -name prime256v1 -genkey -noout");

    beforeAll(() => {
        genuine = fetchToken("alice", ["repository:team-a/app:pull"]).token!;
        header = decode(genuine.split(".")[0]);
        claims = decode(genuine.split(".")[1]);
        // The test reads the real signing key from the config volume, so each forgery below differs from a valid token in one way only.
        signingKeyPem = runOk("docker run --rm --network none --user 1000:1000 -v registry-dev-token-config:/c:ro --entrypoint cat registry:2.8.3 /c/signing.key");
    });

    it("a genuine token, and one signed again with the real key, are accepted", () => {
        expect(header).toMatchObject({ alg: "ES256", typ: "JWT", kid: expect.stringMatching(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/) });
        expect(registryStatus(genuine, "GET", manifest)).toBe(200);
        expect(registryStatus(makeJwt(header, { ...claims, jti: "resigned" }, signingKeyPem), "GET", manifest)).toBe(200);
    });

    it.each([
        ["a wrong signature (another key, the same kid)", () => makeJwt(header, claims, freshKey())],
        ["an expired token", () => makeJwt(header, { ...claims, iat: now() - 600, nbf: now() - 600, exp: now() - 300 }, signingKeyPem)],
        ["a wrong issuer", () => makeJwt(header, { ...claims, iss: "someone-else" }, signingKeyPem)],
        ["a wrong audience", () => makeJwt(header, { ...claims, aud: "other.registry:5000" }, signingKeyPem)],
        ["alg: none", () => makeJwt({ alg: "none" }, claims)],
        ["a token for team-a/app used on team-b/app", () => genuine],
    ])("%s is refused", (label, forge) => {
        const target = label.includes("team-b") ? "/v2/team-b/app/manifests/1" : manifest;
        expect(registryStatus(forge(), "GET", target)).toBe(401);
    });
});

describe("a removed user", () => {
    it("is refused at login at once, and by the registry once its token expires (and the leeway passes); the registry is not restarted", () => {
        const daveToken = fetchToken("dave", ["repository:team-a/app:pull"]);
        expect(registryStatus(daveToken.token!, "GET", "/v2/team-a/app/manifests/1")).toBe(200);
        const expiresAt = (decode(daveToken.token!.split(".")[1]).exp as number) * 1000;
        const registryId = inspect("registry-dev", "{{.Id}}");
        const daveCredential = outputs.credentials.dave;

        stack.up({ users: "[alice, bob, carol, root]", accessRules: accessRules(["carol"]) });
        outputs = session.refreshOutputs();
        expect(Object.keys(outputs.credentials)).not.toContain("dave");
        expect(inspect("registry-dev", "{{.Id}}")).toBe(registryId);
        waitHealthy("registry-dev-token");
        expect(runOk(`curl -s -o /dev/null -w '%{http_code}' --cacert ${caFile} -u 'dave:${daveCredential}' '${outputs.tokenRealm}?service=${endpoint}'`)).toBe("401");

        // Tokens already issued stay valid until they expire: the registry only checks their signature.
        expect(Date.now()).toBeLessThan(expiresAt);
        expect(registryStatus(daveToken.token!, "GET", "/v2/team-a/app/manifests/1")).toBe(200);
        // The registry honours a token up to its leeway past exp, for clock skew.
        const refusedFrom = expiresAt + registryTokenLeewaySeconds * 1000;
        runOk(`sleep ${Math.max(0, Math.ceil((refusedFrom - Date.now()) / 1000) + 2)}`, { timeoutMs: (tokenLifetimeSeconds + registryTokenLeewaySeconds + 30) * 1000 });
        expect(registryStatus(daveToken.token!, "GET", "/v2/team-a/app/manifests/1")).toBe(401);
    });
});
