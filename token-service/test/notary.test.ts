import { parseAccessPolicy } from "../src/config";
import { decideNotaryAccess, GUN_PREFIX, repositoryOfGun } from "../src/notary";

const PREFIXES = ["reg.example.com:5000/", "10.0.0.5:5000/"];

describe("repositoryOfGun", () => {
    it("strips the registry's prefix", () => {
        expect(repositoryOfGun("reg.example.com:5000/team-a/app", PREFIXES)).toBe("team-a/app");
        expect(repositoryOfGun("10.0.0.5:5000/base", PREFIXES)).toBe("base");
    });

    it.each([
        ["another registry", "other.example.com:5000/team-a/app"],
        ["the same host on another port", "reg.example.com:5001/team-a/app"],
        ["no port where the prefix has one", "reg.example.com/team-a/app"],
        ["a host that only starts like the registry's", "reg.example.com:50000/team-a/app"],
        ["the prefix alone", "reg.example.com:5000/"],
        ["an upper-case repository", "reg.example.com:5000/Team/app"],
    ])("gives nothing for %s", (_why, gun) => {
        expect(repositoryOfGun(gun, PREFIXES)).toBeUndefined();
    });
});

describe("GUN_PREFIX", () => {
    it.each(["reg.example.com:5000/", "localhost/", "127.0.0.1:15000/", "reg.example.com/mirror/"])("accepts %s", (prefix) => {
        expect(GUN_PREFIX.test(prefix)).toBe(true);
    });
    it.each(["reg.example.com:5000", "/team/", "reg.example.com:port/", "https://reg.example.com/", "reg.example.com//"])("rejects %s", (prefix) => {
        expect(GUN_PREFIX.test(prefix)).toBe(false);
    });
});

describe("decideNotaryAccess", () => {
    const policy = parseAccessPolicy(`
users: [alice, bob, carol, root]
groups: { team-a: [alice], team-b: [bob], readers: [carol], admins: [root] }
adminGroup: admins
rules:
  - { groups: [team-a], repositories: ["team-a/**"], actions: ["*"] }
  - { groups: [team-b], repositories: ["team-b/**"], actions: [pull, push] }
  - { groups: [readers], repositories: ["team-a/**"], actions: [pull] }
  - { users: [anonymous], repositories: ["public/*"], actions: [pull] }
`);
    const gun = (repository: string, ...actions: string[]) => ({ type: "repository", name: `reg.example.com:5000/${repository}`, actions });

    it("applies the registry's rules to the repository and grants on the GUN as requested", () => {
        expect(decideNotaryAccess(policy, "alice", [gun("team-a/app", "pull", "push")], PREFIXES)).toEqual([gun("team-a/app", "pull", "push")]);
        expect(decideNotaryAccess(policy, "alice", [gun("team-a/app", "*")], PREFIXES)).toEqual([gun("team-a/app", "*")]);
        expect(decideNotaryAccess(policy, "carol", [gun("team-a/app", "pull", "push")], PREFIXES)).toEqual([gun("team-a/app", "pull")]);
    });

    it("gives nothing on another team's GUN, and * only where all three actions are allowed", () => {
        expect(decideNotaryAccess(policy, "bob", [gun("team-a/app", "pull")], PREFIXES)).toEqual([]);
        expect(decideNotaryAccess(policy, "bob", [gun("team-b/app", "*")], PREFIXES)).toEqual([]);
    });

    it("gives nothing on a GUN of another registry, even where the repository part would match", () => {
        expect(decideNotaryAccess(policy, "alice", [{ type: "repository", name: "evil.example.com:5000/team-a/app", actions: ["pull", "push"] }], PREFIXES)).toEqual([]);
        expect(decideNotaryAccess(policy, undefined, [{ type: "repository", name: "evil.example.com/public/base", actions: ["pull"] }], PREFIXES)).toEqual([]);
    });

    it("keeps anonymous grants and the catalog for the admin group", () => {
        expect(decideNotaryAccess(policy, undefined, [gun("public/base", "pull", "push")], PREFIXES)).toEqual([gun("public/base", "pull")]);
        const catalog = { type: "registry", name: "catalog", actions: ["*"] };
        expect(decideNotaryAccess(policy, "root", [catalog], PREFIXES)).toEqual([catalog]);
        expect(decideNotaryAccess(policy, "alice", [catalog], PREFIXES)).toEqual([]);
    });
});
