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
const PATH_COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
export const REPOSITORY_NAME = new RegExp(`^${PATH_COMPONENT}(?:/${PATH_COMPONENT})*$`);
const MAX_REPOSITORY_NAME = 255;
const RESOURCE_TYPE = /^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$/;
const RESOURCE_NAME = /^[\x21-\x7e]+$/;
const ACTION = /^(?:[a-z]+|\*)$/;

/** Parses one scope; the name is what lies between the first and the last colon. */
export function parseScope(text: string): ResourceActions {
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
            ? name.length <= MAX_REPOSITORY_NAME && REPOSITORY_NAME.test(name)
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
export function parseScopes(params: readonly string[]): ResourceActions[] {
    const merged = new Map<string, ResourceActions>();
    for (const text of params.flatMap((param) => param.split(" ")).filter((text) => text !== "")) {
        const scope = parseScope(text);
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
