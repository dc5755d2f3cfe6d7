import { parseAccessPolicy } from "../src/config";
import { allowedActions, compilePattern, decideAccess, matchesPattern, normaliseActions, PatternError } from "../src/rules";

describe("repository patterns", () => {
    it.each([
        ["team/*", "team/app", true],
        ["team/*", "team/app/sub", false],
        ["team/*", "team", false],
        ["team/**", "team/app", true],
        ["team/**", "team/app/sub/deep", true],
        ["team/**", "team", false],
        ["team/**", "teamx/app", false],
        ["**", "anything/at/all", true],
        ["**/base", "base", true],
        ["**/base", "a/b/base", true],
        ["**/base", "a/b/base2", false],
        ["a/**/b", "a/b", true],
        ["a/**/b", "a/x/y/b", true],
        ["a/**/b", "a/x/y/c", false],
        ["app-*", "app-web", true],
        ["app-*", "app.web", false],
        ["lib.x", "libyx", false],
        ["lib.x", "lib.x", true],
        ["exact/name", "exact/name", true],
        ["exact/name", "exact/name2", false],
    ])("%s against %s: %s", (pattern, name, expected) => {
        expect(matchesPattern(pattern, name)).toBe(expected);
    });

    it.each([
        ["a//b", /empty path segment/],
        ["/a", /empty path segment/],
        ["a/", /empty path segment/],
        ["Team/*", /may hold only/],
        ["a/b**", /whole path segment/],
        ["a/[bc]", /may hold only/],
    ])("rejects %s", (pattern, message) => {
        expect(() => compilePattern(pattern)).toThrow(PatternError);
        expect(() => compilePattern(pattern)).toThrow(message);
    });
});

describe("normaliseActions", () => {
    it("expands * and folds the complete list into *", () => {
        expect([...normaliseActions(["*"])].sort()).toEqual(["*", "delete", "pull", "push"]);
        expect(normaliseActions(["pull", "push", "delete"]).has("*")).toBe(true);
        expect([...normaliseActions(["pull", "push"])].sort()).toEqual(["pull", "push"]);
    });
});

const policy = parseAccessPolicy(`
users: [alice, bob, carol, root]
groups:
  team: [alice, bob]
  readers: [carol]
  admins: [root]
adminGroup: admins
rules:
  - groups: [team]
    repositories: ["team/**"]
    actions: [pull, push]
  - users: [bob]
    repositories: ["team/**"]
    actions: [delete]
  - groups: [readers]
    repositories: ["team/**", "tools/*"]
    actions: [pull]
  - groups: [admins]
    repositories: ["**"]
    actions: ["*"]
  - users: [anonymous]
    repositories: ["public/*"]
    actions: [pull]
`);

const repo = (name: string, ...actions: string[]) => ({ type: "repository", name, actions });
const catalog = { type: "registry", name: "catalog", actions: ["*"] };

describe("decideAccess", () => {
    it("grants the intersection of asked and allowed (docker push asks pull,push)", () => {
        expect(decideAccess(policy, "alice", [repo("team/app", "pull", "push")])).toEqual([repo("team/app", "pull", "push")]);
        expect(decideAccess(policy, "carol", [repo("team/app", "pull", "push")])).toEqual([repo("team/app", "pull")]);
    });

    it("unites the rules of a user and of their groups", () => {
        expect([...allowedActions(policy, "bob", repo("team/x/y", "pull"))].sort()).toEqual(["delete", "pull", "push"]);
        expect(decideAccess(policy, "alice", [repo("team/app", "delete")])).toEqual([]);
    });

    it("denies by default: no rule, unknown user, other resource types", () => {
        expect(decideAccess(policy, "alice", [repo("other/app", "pull")])).toEqual([]);
        expect(decideAccess(policy, "mallory", [repo("team/app", "pull")])).toEqual([]);
        expect(decideAccess(policy, "root", [{ type: "plugin", name: "x", actions: ["pull"] }])).toEqual([]);
    });

    it("gives anonymous only what a rule grants anonymous, and gives it to everyone", () => {
        expect(decideAccess(policy, undefined, [repo("public/base", "pull", "push")])).toEqual([repo("public/base", "pull")]);
        expect(decideAccess(policy, undefined, [repo("team/app", "pull")])).toEqual([]);
        expect(decideAccess(policy, "alice", [repo("public/base", "pull")])).toEqual([repo("public/base", "pull")]);
    });

    it("grants a requested * only to who may do everything", () => {
        expect(decideAccess(policy, "root", [repo("any/thing", "*")])).toEqual([repo("any/thing", "*")]);
        expect(decideAccess(policy, "alice", [repo("team/app", "*")])).toEqual([]);
    });

    it("lets only the admin group, or a catalog rule, list the catalog", () => {
        expect(decideAccess(policy, "root", [catalog])).toEqual([catalog]);
        expect(decideAccess(policy, "alice", [catalog])).toEqual([]);
        expect(decideAccess(policy, undefined, [catalog])).toEqual([]);
        const withRule = parseAccessPolicy(`{users: [ci], rules: [{users: [ci], catalog: true}]}`);
        expect(decideAccess(withRule, "ci", [catalog])).toEqual([catalog]);
        expect(decideAccess(withRule, "ci", [repo("a", "pull")])).toEqual([]);
    });

    it("keeps the resource class in the granted entry", () => {
        expect(decideAccess(policy, "alice", [{ type: "repository", class: "plugin", name: "team/p", actions: ["pull"] }])).toEqual([
            { type: "repository", class: "plugin", name: "team/p", actions: ["pull"] },
        ]);
    });
});
