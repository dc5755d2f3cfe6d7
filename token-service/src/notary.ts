/**
 * Tokens for a Notary server (Docker Content Trust). The docker CLI asks Notary's realm for
 * `repository:<GUN>:<actions>`, the GUN being the registry's `host:port/` and the repository, and
 * notary-server checks the token's access entries against that GUN. The same access rules decide:
 * the registry's prefix is stripped before they apply, and a GUN under another prefix gets nothing.
 */
import { decideAccess, AccessPolicy } from "./rules";
import { DOMAIN, PATH_COMPONENT, REPOSITORY_NAME, ResourceActions } from "./scope";

export interface NotarySettings {
    /** Notary's auth.options.service: the `service` (and the tokens' audience) of its token requests. */
    service: string;
    /** GUN prefixes of the registry, each `host[:port]/`, e.g. `reg.example.com:5000/`. */
    gunPrefixes: string[];
}

/** `host[:port]/`, optionally followed by whole path components, each ending in `/`. */
export const GUN_PREFIX = new RegExp(`^${DOMAIN}/(?:${PATH_COMPONENT}/)*$`);

/** The repository a GUN stands for (its prefix stripped), or undefined when no prefix is the registry's. */
export function repositoryOfGun(gun: string, gunPrefixes: readonly string[]): string | undefined {
    for (const prefix of gunPrefixes) {
        if (!gun.startsWith(prefix)) continue;
        const repository = gun.slice(prefix.length);
        if (REPOSITORY_NAME.test(repository)) return repository;
    }
    return undefined;
}

/**
 * The access claim of a Notary token: each repository scope decided by the rules for the
 * repository its GUN names, and granted on the GUN as requested; other resources (the catalog)
 * decided as for the registry.
 */
export function decideNotaryAccess(
    policy: AccessPolicy,
    user: string | undefined,
    requested: readonly ResourceActions[],
    gunPrefixes: readonly string[],
): ResourceActions[] {
    const granted: ResourceActions[] = [];
    for (const resource of requested) {
        if (resource.type !== "repository") {
            granted.push(...decideAccess(policy, user, [resource]));
            continue;
        }
        const repository = repositoryOfGun(resource.name, gunPrefixes);
        if (repository === undefined) continue;
        for (const decided of decideAccess(policy, user, [{ ...resource, name: repository }])) {
            granted.push({ ...decided, name: resource.name });
        }
    }
    return granted;
}
