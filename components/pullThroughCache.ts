import * as crypto from "crypto";
import type * as pulumi from "@pulumi/pulumi";
import { notificationEndpointProblems, RegistryNotificationEndpointArgs } from "./notifications";
import { RegistryS3StorageArgs, s3StorageProblems } from "./s3Storage";

/** The upstream registry a pull-through cache serves (distribution's `proxy` section). */
export interface RegistryPullThroughCacheArgs {
    /** URL of the upstream registry, https only, e.g. https://registry-1.docker.io. */
    readonly remoteUrl: string;
    /** User the cache logs in to the upstream as. Default: none (anonymous pulls). */
    readonly username?: string;
    /** That user's password (pass it as a secret); it goes only into the registry's config file, which is a secret. Default: none. */
    readonly password?: pulumi.Input<string>;
    /** PEM of the CA that signed the upstream's certificate, when it is not a public one; the cache trusts it besides the system CAs. Default: none. */
    readonly caCertPem?: pulumi.Input<string>;
}

/** The cache with its secrets resolved, as {@link proxyConfigSection} renders it. */
export interface ResolvedPullThroughCache {
    /** URL of the upstream registry. */
    readonly remoteUrl: string;
    /** Upstream username. */
    readonly username?: string;
    /** Upstream password. */
    readonly password?: string;
}

/** distribution's `proxy` section; undefined for a registry that is not a cache. */
export function proxyConfigSection(cache: ResolvedPullThroughCache | undefined): Record<string, unknown> | undefined {
    if (!cache) return undefined;
    return {
        remoteurl: cache.remoteUrl,
        ...(cache.username ? { username: cache.username, password: cache.password ?? "" } : {}),
    };
}

/** Directory in the config volume that holds the upstream's CA; only certificates go in it. */
export const upstreamCaDirName = "upstream-ca";


/** Host and port a URL connects to (default ports filled in), lower-cased; undefined if not a URL. */
function hostPort(url: string): { host: string; port: number } | undefined {
    try {
        const u = new URL(url);
        const port = u.port !== "" ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
        return { host: u.hostname.replace(/^\[|\]$/g, "").toLowerCase(), port };
    } catch {
        return undefined;
    }
}

/** What the cache checks besides its own args: where the registry itself answers, and who it notifies. */
export interface PullThroughCacheContext {
    /** The registry's own DNS names. */
    readonly hostnames: readonly string[];
    /** The registry's own IP addresses. */
    readonly ipAddresses: readonly string[];
    /** The host port the registry is published on. */
    readonly port: number;
    /** The registry's notification endpoints. */
    readonly notificationEndpoints?: readonly Pick<RegistryNotificationEndpointArgs, "name" | "ignoredActions">[];
    /** Whether the registry runs with maintenance windows (front, standby, gc and backup). */
    readonly maintenanceEnabled?: boolean;
}

/** Why a PEM is not a CA certificate, or undefined. */
export function caCertificateProblem(pem: string): string | undefined {
    try {
        const cert = new crypto.X509Certificate(pem);
        if (!cert.ca) return "is a certificate, but not a CA's (basicConstraints CA:FALSE)";
        return undefined;
    } catch {
        return "is not a PEM certificate";
    }
}

/**
 * Problems with a registry's notification endpoints, pull-through cache and S3 storage, as
 * messages naming `<argsName>.<field>` and the fix; the components check them before registering anything.
 */
export function registryOptionProblems(
    argsName: string,
    notificationEndpoints: readonly RegistryNotificationEndpointArgs[] | undefined,
    cache: RegistryPullThroughCacheArgs | undefined,
    registry: Omit<PullThroughCacheContext, "notificationEndpoints">,
    s3Storage?: RegistryS3StorageArgs,
): string[] {
    return [
        ...notificationEndpointProblems(notificationEndpoints ?? []),
        ...pullThroughCacheProblems(cache, { ...registry, notificationEndpoints }),
        ...s3StorageProblems(s3Storage),
    ].map(([field, problem, fix]) => `${argsName}.${field}: ${problem}. Fix: ${fix}`);
}

/**
 * Checks a cache. Each problem is `[field, problem, fix]` with fields like
 * `pullThroughCache.remoteUrl`. A cache accepts no pushes (the registry answers 405 UNSUPPORTED),
 * so config that only makes sense with pushes is refused here, before anything is created.
 */
export function pullThroughCacheProblems(cache: RegistryPullThroughCacheArgs | undefined, context: PullThroughCacheContext): [string, string, string][] {
    if (!cache) return [];
    const problems: [string, string, string][] = [];
    const remote = hostPort(cache.remoteUrl ?? "");
    let parsed: URL | undefined;
    try {
        parsed = new URL(cache.remoteUrl ?? "");
    } catch {
        parsed = undefined;
    }
    if (!parsed || !remote) {
        problems.push(["pullThroughCache.remoteUrl", `"${cache.remoteUrl ?? ""}" is not a URL`, "use the upstream's base URL, e.g. https://registry-1.docker.io"]);
    } else {
        if (parsed.protocol !== "https:") {
            problems.push(["pullThroughCache.remoteUrl", `"${cache.remoteUrl}" is not https, so upstream credentials and images would cross the network unprotected`, "use https://, with caCertPem for a private CA"]);
        }
        if (parsed.username !== "" || parsed.password !== "") {
            problems.push(["pullThroughCache.remoteUrl", "the URL carries credentials", "give them as username and password (secret)"]);
        }
        if ((parsed.pathname !== "/" && parsed.pathname !== "") || parsed.search !== "" || parsed.hash !== "") {
            problems.push(["pullThroughCache.remoteUrl", `"${cache.remoteUrl}" has a path, query or fragment; distribution proxies a whole registry`, `use ${parsed.protocol}//${parsed.host}`]);
        }
        const own = new Set([...context.hostnames, ...context.ipAddresses, "localhost", "127.0.0.1", "::1"].map((h) => h.toLowerCase()));
        if (own.has(remote.host) && remote.port === context.port) {
            problems.push(["pullThroughCache.remoteUrl", `"${cache.remoteUrl}" is this registry itself`, "point the cache at another registry"]);
        }
    }
    const hasUser = cache.username !== undefined && cache.username !== "";
    const hasPassword = cache.password !== undefined && cache.password !== "";
    if (hasUser !== hasPassword) {
        problems.push([hasUser ? "pullThroughCache.password" : "pullThroughCache.username", "upstream username and password go together", "give both, or neither for anonymous pulls"]);
    }
    if (hasUser && /[\s:]/.test(cache.username ?? "")) {
        problems.push(["pullThroughCache.username", `"${cache.username}" contains whitespace or ':'`, "use the upstream's user name"]);
    }
    if (typeof cache.caCertPem === "string" && cache.caCertPem !== "") {
        const problem = caCertificateProblem(cache.caCertPem);
        if (problem) problems.push(["pullThroughCache.caCertPem", problem, "give the PEM of the CA that signed the upstream's certificate (its ca.crt)"]);
    }
    if (context.maintenanceEnabled) {
        problems.push(["maintenanceEnabled", "is on, but a pull-through cache expires its own blobs and holds nothing that needs a backup, and its read-only standby could not fill misses from the upstream",
            "turn maintenance off for the cache (pulumi config set maintenanceEnabled false; in code maintenanceEnabled: false)"]);
    }
    // An endpoint that ignores pulls only waits for pushes and deletes, which a cache refuses.
    (context.notificationEndpoints ?? []).forEach((e, i) => {
        if ((e.ignoredActions ?? []).includes("pull")) {
            problems.push([`notificationEndpoints[${i}].ignoredActions`, `endpoint "${e.name}" ignores pulls, and a pull-through cache accepts no pushes or deletes, so it would never hear an event`, "send pushes to the upstream registry and its endpoints; on the cache, stop ignoring pull"]);
        }
    });
    return problems;
}

/** The stack's config keys for a pull-through cache. */
export interface PullThroughCacheStackConfig {
    /** proxyRemoteUrl; empty runs a normal registry. */
    readonly proxyRemoteUrl: string;
    /** proxyUsername. */
    readonly proxyUsername: string;
    /** proxyCaCertPem. */
    readonly proxyCaCertPem: string;
}

/** A cache from the stack config; its password is plain (to be checked) or a secret output (to be used). */
export interface StackPullThroughCache<P> extends Omit<RegistryPullThroughCacheArgs, "password"> {
    /** The upstream password. */
    readonly password?: P;
}

/** The cache the stack config describes, or undefined when proxyRemoteUrl is empty. */
export function stackPullThroughCache<P>(c: PullThroughCacheStackConfig, password?: P): StackPullThroughCache<P> | undefined {
    if (c.proxyRemoteUrl === "") return undefined;
    return {
        remoteUrl: c.proxyRemoteUrl,
        ...(c.proxyUsername === "" ? {} : { username: c.proxyUsername }),
        ...(password === undefined ? {} : { password }),
        ...(c.proxyCaCertPem === "" ? {} : { caCertPem: c.proxyCaCertPem }),
    };
}

const cacheStackKeyOf: Record<string, string> = {
    "pullThroughCache.remoteUrl": "proxyRemoteUrl", "pullThroughCache.username": "proxyUsername",
    "pullThroughCache.password": "proxyPassword", "pullThroughCache.caCertPem": "proxyCaCertPem",
    "notificationEndpoints[0].ignoredActions": "notificationIgnoredActions",
};

/** Checks the stack's cache keys (password: the plain value of the secret key proxyPassword, never quoted). */
export function pullThroughCacheStackConfigProblems(
    c: PullThroughCacheStackConfig, password: string | undefined, context: PullThroughCacheContext, key: (field: string) => string,
): string[] {
    const cache = stackPullThroughCache(c, password);
    if (!cache) {
        const stray = [c.proxyUsername !== "" && "proxyUsername", password !== undefined && "proxyPassword", c.proxyCaCertPem !== "" && "proxyCaCertPem"].filter(Boolean);
        return stray.map((k) => `${key(k as string)}: is set, but proxyRemoteUrl is empty, so the registry is not a cache. Fix: pulumi config set ${key("proxyRemoteUrl")} https://…, or pulumi config rm ${key(k as string)}`);
    }
    return pullThroughCacheProblems(cache, context).map(([field, problem, fix]) => `${key(cacheStackKeyOf[field] ?? field)}: ${problem}. Fix: ${fix}`);
}
