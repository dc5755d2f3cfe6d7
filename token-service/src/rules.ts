/** Access decisions: which of the requested actions a user gets, from users, groups and rules. */
import { ResourceActions } from "./scope";

/** The pseudo-user of requests without credentials; rules for it apply to everyone. */
export const ANONYMOUS = "anonymous";
export const REPOSITORY_ACTIONS = ["pull", "push", "delete"] as const;
/** `*` in a rule stands for every repository action; a client may also ask for `*` itself. */
export const ALL_ACTIONS = "*";

export interface Rule {
    users: string[];
    groups: string[];
    /** Glob patterns as written, and what they compile to. */
    repositories: string[];
    repositoryMatchers: RegExp[];
    /** Normalised: holds `*` exactly when it holds every repository action. */
    actions: Set<string>;
    /** Grants `registry:catalog:*`. */
    catalog: boolean;
}

export interface AccessPolicy {
    users: Set<string>;
    groups: Map<string, Set<string>>;
    /** Members of this group may list the catalog. */
    adminGroup?: string;
    rules: Rule[];
}

export class PatternError extends Error {}

const SEGMENT = /^[a-z0-9._*-]+$/;

/**
 * Compiles a repository pattern: `*` matches within one path segment, a `**` segment matches
 * across segments (`team/**` matches everything below team/ but not `team`; `**` matches every
 * repository; `a/** /b` matches `a/b` and `a/x/y/b`, written without the space).
 */
export function compilePattern(pattern: string): RegExp {
    const segments = pattern.split("/");
    let regex = "";
    segments.forEach((segment, index) => {
        const last = index === segments.length - 1;
        if (segment === "**") {
            if (index === 0) regex += last ? ".+" : "(?:[^/]+/)*";
            else regex += last ? "/.+" : "(?:/[^/]+)*/";
            return;
        }
        if (!SEGMENT.test(segment)) {
            throw new PatternError(
                segment === ""
                    ? "empty path segment (leading, trailing or double slash)"
                    : `segment "${segment}" may hold only a-z, 0-9, '.', '_', '-' and '*'`,
            );
        }
        if (segment.includes("**")) throw new PatternError(`"**" must be a whole path segment, not part of "${segment}"`);
        const afterGlobstar = index > 0 && segments[index - 1] === "**";
        if (index > 0 && !afterGlobstar) regex += "/";
        regex += segment.replace(/[.]/g, "\\.").replace(/\*/g, "[^/]*");
    });
    return new RegExp(`^${regex}$`);
}

export function matchesPattern(pattern: string, repository: string): boolean {
    return compilePattern(pattern).test(repository);
}

/** Expands `*` and folds a complete list into `*`, so one set comparison decides a request. */
export function normaliseActions(actions: readonly string[]): Set<string> {
    const set = new Set(actions);
    if (set.has(ALL_ACTIONS) || REPOSITORY_ACTIONS.every((action) => set.has(action))) {
        return new Set([...REPOSITORY_ACTIONS, ALL_ACTIONS]);
    }
    return set;
}

export function groupsOf(policy: AccessPolicy, user: string): Set<string> {
    const groups = new Set<string>();
    for (const [group, members] of policy.groups) if (members.has(user)) groups.add(group);
    return groups;
}

function ruleApplies(rule: Rule, user: string | undefined, groups: Set<string>): boolean {
    if (rule.users.includes(ANONYMOUS)) return true;
    if (user === undefined) return false;
    return rule.users.includes(user) || rule.groups.some((group) => groups.has(group));
}

/** What `user` (undefined: anonymous) may do on one resource. Default deny. */
export function allowedActions(policy: AccessPolicy, user: string | undefined, resource: ResourceActions): Set<string> {
    const groups = user === undefined ? new Set<string>() : groupsOf(policy, user);
    const rules = policy.rules.filter((rule) => ruleApplies(rule, user, groups));
    if (resource.type === "registry" && resource.name === "catalog") {
        const admin = policy.adminGroup !== undefined && groups.has(policy.adminGroup);
        return admin || rules.some((rule) => rule.catalog) ? new Set([ALL_ACTIONS]) : new Set();
    }
    if (resource.type !== "repository") return new Set();
    const allowed = new Set<string>();
    for (const rule of rules) {
        if (rule.repositoryMatchers.some((matcher) => matcher.test(resource.name))) {
            for (const action of rule.actions) allowed.add(action);
        }
    }
    return allowed;
}

/**
 * The token's access claim: for each requested resource the intersection of the requested and the
 * allowed actions; resources with nothing granted are left out (the spec's "subset is no error").
 */
export function decideAccess(
    policy: AccessPolicy,
    user: string | undefined,
    requested: readonly ResourceActions[],
): ResourceActions[] {
    const granted: ResourceActions[] = [];
    for (const resource of requested) {
        const allowed = allowedActions(policy, user, resource);
        const actions = resource.actions.filter((action) => allowed.has(action));
        if (actions.length > 0) granted.push({ ...resource, actions });
    }
    return granted;
}
