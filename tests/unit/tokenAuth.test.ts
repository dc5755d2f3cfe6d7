/**
 * Token authentication: the checks of the access rules and the token service's settings, what is
 * rendered for the token service and the registry, and, under Pulumi's mocks, what the stack
 * declares with `auth: token`. For real (docker clients, forged tokens) in tests/e2e/tokenAuth.e2e.test.ts.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { compilePattern } from "../../token-service/src/rules";
import { registryConfigObject } from "../../components/registryConfig";
import {
    registryTokenAuthProblems, RegistryTokenAuthArgs, renderTokenAccessFile, tokenAuthDefaults, renderTokenServiceSettings, repositoryPatternProblem, tokenAuthProblems,
} from "../../components/tokenAuth";
import { tokenServiceSourceDigest, tokenServiceSourceDir } from "../../components/tokenService";
import { byType, evaluateProgram, EvaluatedProgram, one } from "./support/program";

const users = ["alice", "bob", "carol", "root"];
const valid: RegistryTokenAuthArgs = {
    accessRules: {
        groups: { team: ["alice", "bob"], admins: ["root"] },
        adminGroup: "admins",
        rules: [
            { groups: ["team"], repositories: ["team/**"], actions: ["pull", "push"] },
            { users: ["carol"], repositories: ["team/**", "tools/*"], actions: ["pull"] },
            { groups: ["admins"], repositories: ["**"], actions: ["*"] },
            { users: ["anonymous"], repositories: ["public/*"], actions: ["pull"] },
        ],
    },
};
const context = { users, takenPorts: { "registry port": 5000, "SSH port": 22 } };
const field = (f: string) => `private-registry:${f}`;

describe("tokenAuthProblems", () => {
    it("accepts rules that name known users, groups, patterns and actions", () => {
        expect(tokenAuthProblems(valid, context, field)).toEqual([]);
    });

    it("refuses rules that name unknown users or groups, naming where and the fix", () => {
        const problems = tokenAuthProblems({
            accessRules: {
                groups: { team: ["alice", "mallory"] },
                adminGroup: "admins",
                rules: [{ users: ["dave"], groups: ["ops"], repositories: ["x/*"], actions: ["pull"] }],
            },
        }, context, field);
        expect(problems).toEqual([
            'private-registry:accessRules.groups.team[1]: unknown user "mallory". Fix: add it to private-registry:users, or remove it from the group',
            'private-registry:accessRules.adminGroup: "admins" is not a group. Fix: name one of team',
            'private-registry:accessRules.rules[0].users[0]: unknown user "dave". Fix: add it to private-registry:users, or use "anonymous" for everyone',
            'private-registry:accessRules.rules[0].groups[0]: unknown group "ops". Fix: define it under groups',
        ]);
    });

    it("refuses malformed patterns, unknown actions and rules that grant nothing", () => {
        const problems = tokenAuthProblems({
            accessRules: {
                rules: [
                    { users: ["alice"], repositories: ["Team/App", "a//b", "a**/b"], actions: ["pull", "write"] },
                    { users: ["bob"], repositories: ["x"] },
                    { users: ["bob"] },
                    { repositories: ["x"], actions: ["pull"] },
                ],
            },
        }, context, field);
        expect(problems).toEqual([
            `private-registry:accessRules.rules[0].repositories[0]: malformed pattern "Team/App": segment "Team" may hold only a-z, 0-9, '.', '_', '-' and '*'. Fix: e.g. "team-a/**" or "tools/*"`,
            'private-registry:accessRules.rules[0].repositories[1]: malformed pattern "a//b": it has an empty path segment (a leading, trailing or double slash). Fix: e.g. "team-a/**" or "tools/*"',
            'private-registry:accessRules.rules[0].repositories[2]: malformed pattern "a**/b": "**" must be a whole path segment, not part of "a**". Fix: e.g. "team-a/**" or "tools/*"',
            'private-registry:accessRules.rules[0].actions[1]: unknown action "write". Fix: use pull, push, delete, *',
            "private-registry:accessRules.rules[1].actions: missing. Fix: e.g. [pull] or [pull, push]",
            "private-registry:accessRules.rules[2]: grants nothing. Fix: add repositories and actions, or catalog: true",
            "private-registry:accessRules.rules[3]: names no users or groups. Fix: add users: [...] or groups: [...]",
        ]);
    });

    it("refuses missing rules, typos in keys, and a stack user called anonymous", () => {
        expect(tokenAuthProblems({ accessRules: undefined as never }, context, field)[0]).toMatch(/^private-registry:accessRules: is missing; .* Fix: give rules/);
        expect(tokenAuthProblems({ accessRules: { rules: [], group: {} } as never }, context, field)).toEqual([
            "private-registry:accessRules.group: unknown key. Fix: use groups, adminGroup, rules",
            "private-registry:accessRules.rules: no rules, so nobody could pull or push. Fix: give at least one rule",
        ]);
        expect(tokenAuthProblems({ accessRules: { rules: [{ user: ["alice"], catalog: true }] } as never }, context, field)[0])
            .toBe("private-registry:accessRules.rules[0].user: unknown key. Fix: use users, groups, repositories, actions, catalog");
        expect(tokenAuthProblems(valid, { ...context, users: ["anonymous"] }, field)[0]).toMatch(/^private-registry:users: "anonymous" is reserved/);
    });

    it("checks the port, the token lifetime and the base image", () => {
        expect(registryTokenAuthProblems({ ...valid, hostPort: 5001, tokenLifetimeSeconds: 10, nodeImage: "node:22-alpine" },
            { users, port: 5000, sshPort: 22, metricsBindAddress: "127.0.0.1", metricsPort: 5001 }, field)).toEqual([
            "private-registry:tokenPort: 5001 is also the metrics port. Fix: use another port, e.g. 5002",
            "private-registry:tokenLifetimeSeconds: 10 is outside 60-86400; shorter tokens could expire within one push. Fix: use 300",
            'private-registry:tokenServiceNodeImage: "node:22-alpine" is not pinned by digest. Fix: use a reference such as node:22-alpine@sha256:<64 hex digits>',
        ]);
        expect(registryTokenAuthProblems({ ...valid, hostPort: 5000 }, { users, port: 5000, sshPort: 22, metricsBindAddress: "", metricsPort: 5001 }, field))
            .toEqual(["private-registry:tokenPort: 5000 is also the registry port. Fix: use another port, e.g. 5002"]);
        expect(registryTokenAuthProblems(undefined, { users, port: 5000, sshPort: 22, metricsBindAddress: "", metricsPort: 5001 }, field)).toEqual([]);
    });
});

describe("repositoryPatternProblem", () => {
    it("accepts exactly the patterns the token service compiles", () => {
        const patterns = ["team/**", "**", "**/base", "a/**/b", "tools/*", "a.b_c-d/*x*", "Team", "a//b", "/a", "a/", "a**", "a/**b", "a b", "ü", ""];
        for (const pattern of patterns) {
            let compiles = true;
            try {
                compilePattern(pattern);
            } catch {
                compiles = false;
            }
            expect([pattern, repositoryPatternProblem(pattern) === undefined]).toEqual([pattern, compiles]);
        }
    });
});

describe("rendered files", () => {
    it("the access file lists the registry's users and keeps the rules as given", () => {
        const doc = YAML.parse(renderTokenAccessFile(valid.accessRules, users));
        expect(doc).toEqual({ users, groups: valid.accessRules.groups, adminGroup: "admins", rules: valid.accessRules.rules });
    });

    it("the settings name the files beside them, the one service and the kid header", () => {
        expect(YAML.parse(renderTokenServiceSettings({ service: "registry.example.com:5000", tokenLifetimeSeconds: 120 }))).toEqual({
            host: "0.0.0.0", port: 5001, tlsCert: "server.crt", tlsKey: "server.key", signingKey: "signing.key", signingCert: "signing.crt",
            htpasswdFile: "htpasswd", accessFile: "access.yaml", keyHeader: "kid", issuer: "private-registry-token-service",
            services: ["registry.example.com:5000"], realmPath: "/token", tokenLifetimeSeconds: 120,
        });
    });

    it("the registry trusts the token service instead of htpasswd", () => {
        const auth = registryConfigObject({ httpSecret: "s", tokenAuth: { realm: "https://r.example.com:5002/token", service: "r.example.com:5000" } }).auth;
        expect(auth).toEqual({ token: {
            realm: "https://r.example.com:5002/token", service: "r.example.com:5000", issuer: "private-registry-token-service", rootcertbundle: "/etc/distribution/token-signing.crt",
        } });
        expect(registryConfigObject({ httpSecret: "s" }).auth).toEqual({ htpasswd: { realm: "private-registry", path: "/etc/distribution/htpasswd" } });
    });
});

describe("the token service's base image", () => {
    it("is the same in its Dockerfile and in Pulumi.yaml", () => {
        const dockerfile = fs.readFileSync(path.join(tokenServiceSourceDir, "Dockerfile"), "utf8");
        expect(/^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1]).toBe(tokenAuthDefaults.nodeImage);
    });
});

describe("tokenServiceSourceDigest", () => {
    it("changes with a source file and not with tests or build output", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "token-digest-"));
        try {
            fs.cpSync(tokenServiceSourceDir, dir, { recursive: true, filter: (src) => !src.includes("node_modules") });
            const before = tokenServiceSourceDigest(dir);
            fs.mkdirSync(path.join(dir, "dist"), { recursive: true });
            fs.writeFileSync(path.join(dir, "dist", "x.js"), "1");
            fs.writeFileSync(path.join(dir, "test", "x.test.ts"), "1");
            expect(tokenServiceSourceDigest(dir)).toBe(before);
            fs.appendFileSync(path.join(dir, "src", "main.ts"), "\n");
            expect(tokenServiceSourceDigest(dir)).not.toBe(before);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("a stack with auth: token", () => {
    const accessRules = { groups: { team: ["admin"] }, rules: [{ groups: ["team"], repositories: ["**"], actions: ["*"] }] };
    let program: EvaluatedProgram;
    beforeAll(async () => {
        program = await evaluateProgram({ stack: "dev", config: { "private-registry:auth": "token", "private-registry:accessRules": accessRules } });
    });

    const uploads = (suffix: string) => Object.fromEntries((one(program.resources, "docker:index/container:Container", suffix).inputs.uploads as any[])
        .map((u) => [path.basename(u.file), u.content as string]));

    it("builds the token service from the package's Dockerfile, pinned base, rebuilt when the sources change", () => {
        const image = one(program.resources, "docker:index/remoteImage:RemoteImage", "-token-image");
        const digest = tokenServiceSourceDigest(tokenServiceSourceDir);
        expect(image.inputs.build).toEqual({ context: tokenServiceSourceDir, dockerfile: "Dockerfile", buildArgs: { NODE_IMAGE: expect.stringMatching(/^node:22-alpine@sha256:[0-9a-f]{64}$/) } });
        expect(image.inputs.triggers.sourceSha256).toBe(digest);
        expect(image.inputs.name).toBe(`private-registry-token-service:${digest.substring(0, 16)}`);
    });

    it("runs it hardened, published on the token port, with its files in a secret upload", () => {
        const container = one(program.resources, "docker:index/container:Container", "-token-container");
        expect(container.inputs).toMatchObject({
            name: "registry-dev-token", user: "1000:1000", readOnly: true, capabilities: { drops: ["ALL"] }, securityOpts: ["no-new-privileges:true"],
            ports: [{ internal: 5001, external: 5002, ip: "0.0.0.0", protocol: "tcp" }], restart: "always",
        });
        expect(JSON.stringify(container.inputs.envs ?? [])).not.toMatch(/password|KEY/i);
        const files = uploads("-token-init");
        expect(Object.keys(files).sort()).toEqual(["access.yaml", "htpasswd", "server.crt", "server.key", "settings.yaml", "signing.crt", "signing.key"]);
        expect(YAML.parse(files["access.yaml"]).users).toEqual(["admin", "ci"]);
        expect(YAML.parse(files["settings.yaml"]).services).toEqual(["localhost:5000"]);
        expect(files["htpasswd"]).toMatch(/^admin:\$2[aby]\$/);
    });

    it("gives the registry the realm and the signing certificate, and no password file", () => {
        const files = uploads("-server-init");
        const config = YAML.parse(files["config.yml"]);
        expect(config.auth.token).toMatchObject({ realm: "https://localhost:5002/token", service: "localhost:5000" });
        expect(files["token-signing.crt"]).toContain("BEGIN CERTIFICATE");
        expect(files["htpasswd"]).not.toMatch(/\$2[aby]\$/);
        expect(program.outputs.tokenRealm).toBe("https://localhost:5002/token");
        const signingCert = byType(program.resources, "tls:index/locallySignedCert:LocallySignedCert").find((r) => r.name.endsWith("-token-signing-cert"));
        expect(signingCert?.inputs.allowedUses).toEqual(["digital_signature"]);
        // Renewed with the server certificate, by the same CA.
        const serverCert = byType(program.resources, "tls:index/locallySignedCert:LocallySignedCert").find((r) => r.name.endsWith("-server-cert"));
        expect(signingCert?.inputs).toMatchObject({
            validityPeriodHours: serverCert?.inputs.validityPeriodHours, earlyRenewalHours: serverCert?.inputs.earlyRenewalHours, caCertPem: serverCert?.inputs.caCertPem,
        });
        const signingKey = byType(program.resources, "tls:index/privateKey:PrivateKey").find((r) => r.name.endsWith("-token-signing-key"));
        expect(signingKey?.inputs).toMatchObject({ algorithm: "ECDSA", ecdsaCurve: "P256" });
    });

    it("refuses rules naming an unknown user, before anything is declared", async () => {
        const bad = { rules: [{ users: ["mallory"], repositories: ["**"], actions: ["pull"] }] };
        await expect(evaluateProgram({ stack: "dev", config: { "private-registry:auth": "token", "private-registry:accessRules": bad } }))
            .rejects.toMatchObject({ message: expect.stringContaining('private-registry:accessRules.rules[0].users[0]: unknown user "mallory"'), registered: 0 });
    });

    it("refuses access rules with htpasswd, and an unknown auth", async () => {
        await expect(evaluateProgram({ stack: "dev", config: { "private-registry:accessRules": accessRules } }))
            .rejects.toThrow(/private-registry:accessRules: is set, but private-registry:auth is htpasswd/);
        await expect(evaluateProgram({ stack: "dev", config: { "private-registry:auth": "oauth" } }))
            .rejects.toThrow(/private-registry:auth: "oauth" is not htpasswd or token/);
    });
});

describe("a stack with contentTrust", () => {
    const accessRules = { rules: [{ users: ["admin"], repositories: ["**"], actions: ["*"] }] };
    let program: EvaluatedProgram;
    beforeAll(async () => {
        program = await evaluateProgram({ stack: "dev", config: { "private-registry:auth": "token", "private-registry:accessRules": accessRules, "private-registry:contentTrust": true } });
    });
    const container = (suffix: string) => one(program.resources, "docker:index/container:Container", suffix).inputs;
    const files = (suffix: string) => Object.fromEntries((container(suffix).uploads as any[]).map((u) => [path.basename(u.file), u]));

    it("publishes only the Notary server, and exports its endpoint", () => {
        expect(program.outputs.notaryEndpoint).toBe("localhost:4443");
        expect(container("-notary-server-container").ports).toEqual([{ internal: 4443, external: 4443, ip: "0.0.0.0", protocol: "tcp" }]);
        expect(container("-notary-signer-container").ports ?? []).toEqual([]);
        expect(container("-notary-db-container").ports ?? []).toEqual([]);
        for (const part of ["server", "signer", "db"]) {
            expect(container(`-notary-${part}-container`)).toMatchObject({ readOnly: true, capabilities: { drops: ["ALL"] }, restart: "always" });
        }
    });

    it("gives the signer its passphrase in a file its start script reads, never in its configuration", () => {
        const signer = container("-notary-signer-container");
        expect(JSON.stringify([signer.envs ?? [], signer.command ?? [], signer.entrypoints])).not.toMatch(/NOTARY_SIGNER_/);
        const signerFiles = files("-notary-signer-init");
        expect(signerFiles["start-signer.sh"].content).toContain('NOTARY_SIGNER_TIMESTAMP_1="$(cat \'/etc/notary/passphrase-timestamp_1\')"');
        expect(signerFiles["passphrase-timestamp_1"]).toMatchObject({ permissions: "0400", owner: "1000" });
        expect(signerFiles["passphrase-timestamp_1"].content).toMatch(/^[A-Za-z0-9]{48}$/);
    });

    it("lets the token service issue Notary's tokens for the registry's GUNs, and Notary trust its signing certificate", () => {
        const settings = YAML.parse(files("-token-init")["settings.yaml"].content);
        expect(settings.notary).toEqual({ service: "localhost:4443", gunPrefixes: ["localhost:5000/", "127.0.0.1:5000/"] });
        const server = JSON.parse(files("-notary-server-init")["server-config.json"].content);
        expect(server.auth).toEqual({ type: "token", options: {
            realm: "https://localhost:5002/token", service: "localhost:4443", issuer: "private-registry-token-service", rootcertbundle: "/etc/notary/token-signing.crt",
        } });
        expect(server.storage.db_url).toMatch(/^postgres:\/\/notary_server@registry-dev-notary-db:5432\/notaryserver\?sslmode=verify-full&/);
    });

    it("keeps the database volume through destroys, and opens the Notary port in the firewall's allowlist", async () => {
        // dev sets protectData false, so a test can destroy it; prod keeps the default.
        expect(one(program.resources, "docker:index/volume:Volume", "-notary-db-data")).toMatchObject({ protect: false, retainOnDelete: false });
        const firewalled = await evaluateProgram({ stack: "prod", config: {
            "private-registry:auth": "token", "private-registry:accessRules": accessRules, "private-registry:contentTrust": true,
        } });
        expect(one(firewalled.resources, "docker:index/volume:Volume", "-notary-db-data")).toMatchObject({ protect: true, retainOnDelete: true });
        const rules = one(firewalled.resources, "command:remote:Command", "-firewall-rules").inputs.create as string;
        expect(rules).toContain("tcp dport { 5000, 5002, 4443 }");
    });

    it("refuses content trust without token authentication, naming the keys", async () => {
        await expect(evaluateProgram({ stack: "dev", config: { "private-registry:contentTrust": true } }))
            .rejects.toThrow(/private-registry:contentTrust: notary-server only checks tokens .* Fix: set private-registry:auth to token/);
    });
});
