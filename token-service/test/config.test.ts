import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, parseAccessPolicy, parseSettings } from "../src/config";
import { decideAccess } from "../src/rules";

function problemsOf(parse: () => unknown): string[] {
    try {
        parse();
    } catch (error) {
        if (error instanceof ConfigError) return error.problems;
        throw error;
    }
    throw new Error("expected a ConfigError");
}

const MINIMAL_SETTINGS = `
tlsCert: tls.crt
tlsKey: tls.key
signingKey: keys/signing.key
signingCert: /etc/token/signing.crt
issuer: private-registry-token
services: [registry.example.com]
htpasswdFile: htpasswd
accessFile: access.yaml
`;

describe("parseSettings", () => {
    it("applies defaults and resolves relative paths against the settings file's folder", () => {
        expect(parseSettings(MINIMAL_SETTINGS, "/srv/token")).toEqual({
            host: "0.0.0.0",
            port: 5001,
            tlsCert: "/srv/token/tls.crt",
            tlsKey: "/srv/token/tls.key",
            signingKey: "/srv/token/keys/signing.key",
            signingCert: "/etc/token/signing.crt",
            keyHeader: "kid",
            issuer: "private-registry-token",
            services: ["registry.example.com"],
            realmPath: "/token",
            tokenLifetimeSeconds: 300,
            htpasswdFile: "/srv/token/htpasswd",
            accessFile: "/srv/token/access.yaml",
        });
    });

    it("reads JSON as well", () => {
        const json = JSON.stringify({ ...Object.fromEntries(MINIMAL_SETTINGS.trim().split("\n").map((line) => line.split(": "))), services: ["r"], port: 15443, keyHeader: "x5c" });
        expect(parseSettings(json, "/d")).toMatchObject({ port: 15443, keyHeader: "x5c", services: ["r"] });
    });

    it("reports every problem with its field and the fix", () => {
        const problems = problemsOf(() => parseSettings("port: 0\nkeyHeader: jwk\nrealmPath: token\ntokenLifetimeSeconds: 1.5\nservices: []\nissuer: ''\nlisten: x\n", "/d", "settings.yaml"));
        expect(problems).toEqual(expect.arrayContaining([
            "listen: unknown key; known keys are host, port, tlsCert, tlsKey, signingKey, signingCert, keyHeader, issuer, services, realmPath, tokenLifetimeSeconds, htpasswdFile, accessFile, notary",
            "tlsCert: required",
            "accessFile: required",
            "keyHeader: expected one of kid, x5c, both",
            'realmPath: must start with "/", e.g. /token',
            "services: name at least one service",
            "issuer: expected a non-empty string",
            "port: expected a whole number from 1 to 65535",
            "tokenLifetimeSeconds: expected a whole number from 1 to 86400",
        ]));
        expect(() => parseSettings("port: 0", "/d", "settings.yaml")).toThrow(/^settings\.yaml is invalid:\n {2}- /);
    });

    it("reads Notary's service and GUN prefixes", () => {
        const settings = parseSettings(`${MINIMAL_SETTINGS}notary: { service: notary.example.com, gunPrefixes: ["registry.example.com:5000/"] }\n`, "/d");
        expect(settings.notary).toEqual({ service: "notary.example.com", gunPrefixes: ["registry.example.com:5000/"] });
        expect(parseSettings(MINIMAL_SETTINGS, "/d").notary).toBeUndefined();
    });

    it.each([
        ["not a mapping", "notary: notary.example.com", ["notary: expected a mapping with service and gunPrefixes, e.g. {service: notary.example.com, gunPrefixes: [\"reg.example.com:5000/\"]}"]],
        ["the registry's own service", "notary: { service: registry.example.com, gunPrefixes: [\"r:5000/\"] }", ['notary.service: "registry.example.com" is also one of services; give Notary a name of its own']],
        ["no service and no prefixes", "notary: { gunPrefix: x }", [
            "notary.gunPrefix: unknown key; known keys are service, gunPrefixes",
            "notary.service: required: Notary's auth.options.service value",
            'notary.gunPrefixes: name at least one, the registry\'s host:port and a slash, e.g. ["reg.example.com:5000/"]',
        ]],
        ["a prefix without its slash", "notary: { service: n, gunPrefixes: [\"r:5000\", \"r:5000/\"] }", [
            'notary.gunPrefixes[0]: "r:5000" is not host[:port]/ (lower-case path components may follow, each ending in /), e.g. "reg.example.com:5000/"',
        ]],
    ])("refuses Notary settings with %s", (_why, notary, problems) => {
        expect(problemsOf(() => parseSettings(`${MINIMAL_SETTINGS}${notary}\n`, "/d"))).toEqual(problems);
    });

    it("names the file when it is no mapping or no YAML", () => {
        expect(problemsOf(() => parseSettings("- a\n- b", "/d"))).toEqual(["expected a mapping (key: value) at the top level"]);
        expect(problemsOf(() => parseSettings("a: [", "/d"))[0]).toMatch(/^not valid YAML or JSON/);
    });
});

describe("parseAccessPolicy", () => {
    it("builds users, groups, the admin group and rules", () => {
        const policy = parseAccessPolicy(`
users: [alice, root]
groups: { team: [alice], admins: [root] }
adminGroup: admins
rules:
  - { groups: [team], repositories: ["team/**"], actions: [pull, push] }
  - { users: [anonymous], repositories: ["public/*"], actions: [pull], catalog: true }
`);
        expect([...policy.users]).toEqual(["alice", "root"]);
        expect(policy.groups.get("team")).toEqual(new Set(["alice"]));
        expect(policy.adminGroup).toBe("admins");
        expect(policy.rules).toHaveLength(2);
        expect(policy.rules[0]).toMatchObject({ groups: ["team"], users: [], repositories: ["team/**"], catalog: false });
        expect([...policy.rules[0].actions]).toEqual(["pull", "push"]);
        expect(policy.rules[1].catalog).toBe(true);
    });

    it("accepts an empty file's worth of policy as deny-all", () => {
        expect(parseAccessPolicy("users: []").rules).toEqual([]);
    });

    it("names the field and the fix for unknown users, groups, actions and malformed patterns", () => {
        const problems = problemsOf(() => parseAccessPolicy(`
users: [alice, anonymous]
groups: { team: [alice, bob, anonymous] }
adminGroup: admin
rule: []
rules:
  - { users: [carol], repositories: ["Team/*"], actions: [pull, write] }
  - { groups: [ops], repositories: ["a//b", "x/**y"], actions: [pull] }
  - { users: [alice], repositories: ["a"] }
  - { users: [alice] }
  - { repositories: ["a"], actions: [pull], color: red }
  - just text
`, "access.yaml"));
        expect(problems).toEqual([
            "rule: unknown key; known keys are users, groups, adminGroup, rules",
            'users: "anonymous" is reserved for requests without credentials; remove it',
            'groups.team[1]: unknown user "bob"; declare it under users or fix the name',
            'groups.team[2]: "anonymous" cannot be a group member; give it rules of its own (users: [anonymous])',
            "adminGroup: must name a group defined under groups (team)",
            'rules[0].users[0]: unknown user "carol"; declare it under users, or use "anonymous" for everyone',
            `rules[0].repositories[0]: malformed pattern "Team/*": segment "Team" may hold only a-z, 0-9, '.', '_', '-' and '*'`,
            'rules[0].actions[1]: unknown action "write"; use pull, push, delete, *',
            'rules[1].groups[0]: unknown group "ops"; define it under groups',
            'rules[1].repositories[0]: malformed pattern "a//b": empty path segment (leading, trailing or double slash)',
            'rules[1].repositories[1]: malformed pattern "x/**y": "**" must be a whole path segment, not part of "**y"',
            "rules[2].actions: required with repositories, e.g. [pull]",
            "rules[3]: grants nothing; add repositories and actions, or catalog: true",
            "rules[4].color: unknown key; known keys are users, groups, repositories, actions, catalog",
            "rules[4]: names no users or groups; add users: [...] or groups: [...]",
            "rules[5]: expected a mapping with users/groups, repositories and actions",
        ]);
    });

    it("rejects wrong types with the expected shape", () => {
        expect(problemsOf(() => parseAccessPolicy("users: alice\ngroups: [a]\nrules: {}"))).toEqual([
            "users: expected a list of non-empty strings",
            "groups: expected a mapping of group name to a list of users",
            "rules: expected a list of rules",
        ]);
    });
});

describe("the README's examples", () => {
    const readme = readFileSync(join(__dirname, "..", "README.md"), "utf8");
    const yamlBlocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]);

    it("parse as documented", () => {
        const settings = parseSettings(yamlBlocks.find((block) => block.includes("signingKey:"))!, "/etc/token-service");
        expect(settings).toMatchObject({ keyHeader: "kid", services: ["registry.example.com"], tlsCert: "/etc/token-service/tls/server.crt" });
        expect(settings.notary).toEqual({ service: "notary.example.com", gunPrefixes: ["registry.example.com:5000/"] });
        const policy = parseAccessPolicy(yamlBlocks.find((block) => block.includes("adminGroup:"))!);
        expect(policy.rules).toHaveLength(6);
        expect(decideAccess(policy, "ci", [{ type: "registry", name: "catalog", actions: ["*"] }])).toHaveLength(1);
        expect(decideAccess(policy, "bob", [{ type: "repository", name: "team/a/b", actions: ["pull", "push", "delete"] }])[0].actions).toEqual(["pull", "push", "delete"]);
    });
});
