/**
 * Scopes of the token protocol: `repository:team/app:pull,push`, `registry:catalog:*`,
 * `repository(plugin):name:pull`. The same shape is a token's `access` entry.
 */
export interface ResourceActions {
    type: string;
    /** Resource class, e.g. `plugin` in `repository(plugin)`; distribution 2.8 ignores it. */
    class?: string;
    name: string;
    actions: string[];
}

export class ScopeError extends Error {}

// distribution's repository name grammar (reference.go), without a domain: registries never ask
// for one in their challenges.
export const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
export const REPOSITORY_NAME = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
// reference.go's domain: host name labels or an IPv4 address, an optional port.
const DOMAIN_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
export const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
/**
 * A Notary GUN as the docker CLI sends it: the registry's host[:port], then the repository
 * (`reg.example.com:5000/team-a/app`).
 */
export const GUN = new RegExp(`^${DOMAIN}/${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const MAX_REPOSITORY_NAME = 255;
const RESOURCE_TYPE = /^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$/;
const RESOURCE_NAME = /^[\x21-\x7e]+$/;
const ACTION = /^(?:[a-z]+|\*)$/;

/** What a repository scope's name must look like: a registry's repository name, or a Notary GUN. */
export type RepositoryNaming = "repository" | "gun";

/**
 * Parses one scope; the name is what lies between the first and the last colon, so a GUN's
 * `host:port` stays in it.
 */
export function parseScope(text: string, naming: RepositoryNaming = "repository"): ResourceActions {
    const first = text.indexOf(":");
    const last = text.lastIndexOf(":");
    if (first <= 0 || last === first) {
        throw new ScopeError(`malformed scope ${JSON.stringify(text)}: expected type:name:actions`);
    }
    const typeMatch = RESOURCE_TYPE.exec(text.slice(0, first));
    if (!typeMatch) {
        throw new ScopeError(`malformed scope ${JSON.stringify(text)}: bad resource type`);
    }
    const name = text.slice(first + 1, last);
    const validName =
        typeMatch[1] === "repository"
            ? name.length <= MAX_REPOSITORY_NAME && (naming === "gun" ? GUN : REPOSITORY_NAME).test(name)
            : RESOURCE_NAME.test(name);
    if (!validName) {
        throw new ScopeError(`malformed scope ${JSON.stringify(text)}: bad resource name`);
    }
    const actions = text.slice(last + 1).split(",");
    if (!actions.every((action) => ACTION.test(action))) {
        throw new ScopeError(`malformed scope ${JSON.stringify(text)}: bad action list`);
    }
    const scope: ResourceActions = { type: typeMatch[1], name, actions: [...new Set(actions)] };
    if (typeMatch[2] !== undefined) scope.class = typeMatch[2];
    return scope;
}

/**
 * Parses every `scope` query parameter; one parameter may hold several scopes separated by spaces
 * (as in a WWW-Authenticate challenge). Scopes on the same resource are merged.
 */
export function parseScopes(params: readonly string[], naming: RepositoryNaming = "repository"): ResourceActions[] {
    const merged = new Map<string, ResourceActions>();
    for (const text of params.flatMap((param) => param.split(" ")).filter((text) => text !== "")) {
        const scope = parseScope(text, naming);
        const key = `${scope.type}(${scope.class ?? ""}):${scope.name}`;
        const seen = merged.get(key);
        if (seen) seen.actions = [...new Set([...seen.actions, ...scope.actions])];
        else merged.set(key, scope);
    }
    return [...merged.values()];
}

export function formatScope(scope: ResourceActions): string {
    const type = scope.class === undefined ? scope.type : `${scope.type}(${scope.class})`;
    return `${type}:${scope.name}:${scope.actions.join(",")}`;
}
