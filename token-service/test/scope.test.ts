import { formatScope, parseScope, parseScopes, ScopeError } from "../src/scope";

describe("parseScope", () => {
    it("splits type, name and actions", () => {
        expect(parseScope("repository:team/app:pull,push")).toEqual({ type: "repository", name: "team/app", actions: ["pull", "push"] });
        expect(parseScope("registry:catalog:*")).toEqual({ type: "registry", name: "catalog", actions: ["*"] });
    });

    it("reads a resource class and drops repeated actions", () => {
        expect(parseScope("repository(plugin):tools/x:pull,pull")).toEqual({ type: "repository", class: "plugin", name: "tools/x", actions: ["pull"] });
    });

    it("takes the name up to the last colon", () => {
        expect(parseScope("other:a:b:pull").name).toBe("a:b");
    });

    it("reads a Notary GUN, host:port and all, when GUNs are expected", () => {
        expect(parseScope("repository:reg.example.com:5000/team-a/app:pull,push", "gun")).toEqual({
            type: "repository", name: "reg.example.com:5000/team-a/app", actions: ["pull", "push"],
        });
        expect(parseScope("repository:127.0.0.1:15000/base:*", "gun").name).toBe("127.0.0.1:15000/base");
        expect(parseScope("repository:Reg-1.example.com/base:pull", "gun").name).toBe("Reg-1.example.com/base");
        expect(parseScope("registry:catalog:*", "gun").name).toBe("catalog");
    });

    it.each([
        ["a GUN for the registry", "repository", "repository:reg.example.com:5000/team-a/app:pull"],
        ["a bare repository for Notary", "gun", "repository:team-a:pull"],
        ["a GUN without a repository", "gun", "repository:reg.example.com:5000/:pull"],
        ["a GUN with a bad port", "gun", "repository:reg.example.com:50a/app:pull"],
        ["a GUN with an upper-case repository", "gun", "repository:reg.example.com/App:pull"],
    ] as const)("rejects %s", (_why, naming, text) => {
        expect(() => parseScope(text, naming)).toThrow(ScopeError);
    });

    it.each([
        ["no actions part", "repository:team/app"],
        ["empty type", ":team/app:pull"],
        ["upper-case repository", "repository:Team/app:pull"],
        ["empty path segment", "repository:team//app:pull"],
        ["empty action", "repository:team/app:pull,"],
        ["action with odd characters", "repository:team/app:pu-ll"],
        ["bad type", "repo sitory:x:pull"],
        ["empty name", "registry::*"],
        ["over-long repository name", `repository:${"a".repeat(256)}:pull`],
    ])("rejects %s", (_why, text) => {
        expect(() => parseScope(text)).toThrow(ScopeError);
    });
});

describe("parseScopes", () => {
    it("accepts several parameters, space-separated scopes, and merges a resource's actions", () => {
        const scopes = parseScopes(["repository:a:pull", "repository:b:push repository:a:push", ""]);
        expect(scopes).toEqual([
            { type: "repository", name: "a", actions: ["pull", "push"] },
            { type: "repository", name: "b", actions: ["push"] },
        ]);
    });

    it("is empty without scopes (docker login asks for none)", () => {
        expect(parseScopes([])).toEqual([]);
    });

    it("fails on one malformed scope among good ones", () => {
        expect(() => parseScopes(["repository:a:pull", "bogus"])).toThrow(/malformed scope "bogus"/);
    });

    it("formats scopes back", () => {
        expect(formatScope({ type: "repository", class: "plugin", name: "a/b", actions: ["pull", "push"] })).toBe("repository(plugin):a/b:pull,push");
    });
});
