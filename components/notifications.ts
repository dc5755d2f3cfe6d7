import type * as pulumi from "@pulumi/pulumi";
import { configDeclarations } from "./configDeclarations";

/** One endpoint the registry sends its events to (distribution's `notifications.endpoints[]`). */
export interface RegistryNotificationEndpointArgs {
    /** Name of the endpoint in the registry's logs and metrics; unique among the endpoints. */
    readonly name: string;
    /** URL the registry POSTs event envelopes to, https or http, e.g. https://scanner-adapter.example.com/events. */
    readonly url: string;
    /** Headers sent with every request, one value each (e.g. Authorization). Their values go only into the registry's config file, which is a secret. Default: none. */
    readonly headers?: pulumi.Input<{ [name: string]: pulumi.Input<string> }>;
    /** How long the registry waits for the endpoint to answer, a Go duration. Default: "5s". */
    readonly timeout?: string;
    /** Failed deliveries in a row after which the registry backs off. Default: 5. */
    readonly threshold?: number;
    /** How long the registry waits before trying again after the threshold, a Go duration. Default: "10s". */
    readonly backoff?: string;
    /** Media types whose events are not sent, e.g. application/octet-stream for layer blobs. Default: []. */
    readonly ignoredMediaTypes?: string[];
    /** Actions whose events are not sent: any of pull, push, delete. Default: []. */
    readonly ignoredActions?: string[];
}

/** An endpoint with its headers resolved, as {@link notificationsConfigSection} renders it. */
export interface ResolvedNotificationEndpoint extends Omit<RegistryNotificationEndpointArgs, "headers"> {
    /** Header names mapped to their values. */
    readonly headers?: Record<string, string>;
}

/** Defaults of an endpoint's delivery settings, as Pulumi.yaml declares them for the stack's endpoint. */
export const notificationEndpointDefaults = {
    /** How long one delivery may take (a Go duration). */
    timeout: configDeclarations.notificationTimeout.default as string,
    /** Failures in a row before the endpoint counts as down. */
    threshold: configDeclarations.notificationThreshold.default as number,
    /** Wait before retrying a down endpoint (a Go duration). */
    backoff: configDeclarations.notificationBackoff.default as string,
};

/** Actions the registry reports events for. */
export const notificationActions = ["pull", "push", "delete"] as const;

/** distribution's `notifications` section; undefined without endpoints, so the config stays as before. */
export function notificationsConfigSection(endpoints: readonly ResolvedNotificationEndpoint[] | undefined): Record<string, unknown> | undefined {
    if (!endpoints || endpoints.length === 0) return undefined;
    return {
        endpoints: endpoints.map((e) => ({
            name: e.name,
            url: e.url,
            // distribution takes a list of values per header.
            headers: Object.fromEntries(Object.entries(e.headers ?? {}).map(([k, v]) => [k, [v]])),
            timeout: e.timeout ?? notificationEndpointDefaults.timeout,
            threshold: e.threshold ?? notificationEndpointDefaults.threshold,
            backoff: e.backoff ?? notificationEndpointDefaults.backoff,
            ignoredmediatypes: [...(e.ignoredMediaTypes ?? [])],
            ...(e.ignoredActions && e.ignoredActions.length > 0 ? { ignore: { actions: [...e.ignoredActions] } } : {}),
        })),
    };
}

/** A Go duration as distribution's config accepts it, e.g. 500ms, 5s, 1m30s. */
export function isGoDuration(value: string): boolean {
    return /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(value);
}

const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Problems with header names and values; values are never quoted, as they are secrets.
 * `field` is the key the problem belongs to.
 */
export function notificationHeaderProblems(headers: Record<string, unknown>, field: string): [string, string, string][] {
    const problems: [string, string, string][] = [];
    for (const [name, value] of Object.entries(headers)) {
        if (!headerName.test(name)) problems.push([field, `"${name}" is not an HTTP header name`, "use letters, digits and '-', e.g. Authorization"]);
        if (typeof value !== "string" || value === "" || /[\r\n\0]/.test(value)) {
            problems.push([field, `the value of header "${name}" is empty, not a string, or has a line break`, "give each header one single-line value"]);
        }
    }
    return problems;
}

/** Why a notification URL can't be used, or undefined. */
export function notificationUrlProblem(url: string): string | undefined {
    let parsed: URL;
    try {
        parsed = new URL(url);
    } catch {
        return `"${url}" is not a URL`;
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return `"${url}" is neither https nor http`;
    // Credentials in the URL would sit in plain config and logs; headers are secret.
    if (parsed.username !== "" || parsed.password !== "") return "the URL carries credentials";
    return undefined;
}

/**
 * Checks endpoints given as plain values (header values that are still outputs are checked by
 * the registry). Each problem is `[field, problem, fix]`, fields like `notificationEndpoints[0].url`.
 */
export function notificationEndpointProblems(endpoints: readonly RegistryNotificationEndpointArgs[]): [string, string, string][] {
    const problems: [string, string, string][] = [];
    const names = new Set<string>();
    endpoints.forEach((e, i) => {
        const at = (field: string) => `notificationEndpoints[${i}].${field}`;
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(e.name ?? "")) {
            problems.push([at("name"), `"${e.name ?? ""}" is not a name`, "use letters, digits, '_', '.', '-', e.g. scanner"]);
        } else if (names.has(e.name)) {
            problems.push([at("name"), `"${e.name}" is used by two endpoints`, "give each endpoint its own name"]);
        }
        names.add(e.name);
        const urlProblem = notificationUrlProblem(e.url ?? "");
        if (urlProblem) problems.push([at("url"), urlProblem, "use https://host[:port]/path (or http:// inside a trusted network); secrets go in headers"]);
        for (const field of ["timeout", "backoff"] as const) {
            const value = e[field];
            if (value !== undefined && (!isGoDuration(value) || /^0+(\.0+)?[a-zµ]+$/.test(value))) {
                problems.push([at(field), `"${value}" is not a positive Go duration`, `use e.g. "${notificationEndpointDefaults[field]}"`]);
            }
        }
        if (e.threshold !== undefined && (!Number.isInteger(e.threshold) || e.threshold < 1)) {
            problems.push([at("threshold"), `${e.threshold} is not a positive whole number`, `use e.g. ${notificationEndpointDefaults.threshold}`]);
        }
        (e.ignoredMediaTypes ?? []).forEach((t, j) => {
            if (!/^[\w.+-]+\/[\w.+-]+$/.test(t)) problems.push([`${at("ignoredMediaTypes")}[${j}]`, `"${t}" is not a media type`, "use e.g. application/octet-stream"]);
        });
        (e.ignoredActions ?? []).forEach((a, j) => {
            if (!(notificationActions as readonly string[]).includes(a)) {
                problems.push([`${at("ignoredActions")}[${j}]`, `"${a}" is not one of ${notificationActions.join(", ")}`, "list only pull, push or delete"]);
            }
        });
        const headers = e.headers;
        if (headers !== undefined && typeof headers === "object" && !isOutputLike(headers)) {
            problems.push(...notificationHeaderProblems(headers as Record<string, unknown>, at("headers")));
        }
    });
    return problems;
}

/** Outputs and promises are checked when they resolve, not here. */
function isOutputLike(value: object): boolean {
    return "apply" in value || "then" in value;
}

/** The stack's config keys for its one notification endpoint (Pulumi.yaml cannot declare a list of objects). */
export interface NotificationStackConfig {
    /** notificationUrl; empty sends no events. */
    readonly notificationUrl: string;
    /** notificationTimeout. */
    readonly notificationTimeout: string;
    /** notificationThreshold. */
    readonly notificationThreshold: number;
    /** notificationBackoff. */
    readonly notificationBackoff: string;
    /** notificationIgnoredMediaTypes. */
    readonly notificationIgnoredMediaTypes: string[];
    /** notificationIgnoredActions. */
    readonly notificationIgnoredActions: string[];
}

/** Name the stack's endpoint has in the registry's config. */
export const stackNotificationEndpointName = "stack";

const stackKeyOf: Record<string, string> = {
    url: "notificationUrl", timeout: "notificationTimeout", threshold: "notificationThreshold", backoff: "notificationBackoff",
    ignoredMediaTypes: "notificationIgnoredMediaTypes", ignoredActions: "notificationIgnoredActions", headers: "notificationHeaders",
};

/** An endpoint from the stack config; its headers are plain (to be checked) or a secret output (to be used). */
export interface StackNotificationEndpoint<H> extends Omit<RegistryNotificationEndpointArgs, "headers"> {
    /** Header names mapped to their values. */
    readonly headers?: H;
}

/** The endpoint the stack config describes, or none when notificationUrl is empty. */
export function stackNotificationEndpoints<H>(c: NotificationStackConfig, headers?: H): StackNotificationEndpoint<H>[] {
    if (c.notificationUrl === "") return [];
    return [{
        name: stackNotificationEndpointName,
        url: c.notificationUrl,
        timeout: c.notificationTimeout,
        threshold: c.notificationThreshold,
        backoff: c.notificationBackoff,
        ignoredMediaTypes: c.notificationIgnoredMediaTypes,
        ignoredActions: c.notificationIgnoredActions,
        ...(headers === undefined ? {} : { headers }),
    }];
}

/**
 * The headers in the secret key notificationHeaders (its raw JSON text), or undefined when unset
 * or not a JSON object. Parsed here rather than by Config.getObject, whose error quotes the value.
 */
export function parseNotificationHeaders(raw: string | undefined): Record<string, string> | undefined {
    if (raw === undefined) return undefined;
    try {
        const value: unknown = JSON.parse(raw);
        return value !== null && typeof value === "object" && !Array.isArray(value) ? value as Record<string, string> : undefined;
    } catch {
        return undefined;
    }
}

/**
 * Checks the stack's notification keys; `rawHeaders` is the text of the secret key
 * notificationHeaders, never quoted in a message. `key` turns a key into what the user edits.
 */
export function notificationStackConfigProblems(c: NotificationStackConfig, rawHeaders: string | undefined, key: (field: string) => string): string[] {
    const problems: string[] = [];
    const headers = parseNotificationHeaders(rawHeaders);
    if (rawHeaders !== undefined && headers === undefined) {
        problems.push(`${key("notificationHeaders")}: is not a JSON object of header names and values. Fix: pulumi config set --secret ${key("notificationHeaders")} '{"Authorization": "Bearer …"}'`);
    }
    if (c.notificationUrl === "") {
        if (rawHeaders !== undefined) {
            problems.push(`${key("notificationHeaders")}: is set, but notificationUrl is empty, so no endpoint would send them. Fix: pulumi config set ${key("notificationUrl")} https://…, or pulumi config rm ${key("notificationHeaders")}`);
        }
        return problems;
    }
    const endpoints = stackNotificationEndpoints(c, headers);
    for (const [field, problem, fix] of notificationEndpointProblems(endpoints)) {
        const [, prop, index] = /^notificationEndpoints\[0\]\.(\w+)(\[\d+\])?$/.exec(field) ?? [];
        problems.push(`${key(stackKeyOf[prop] ?? field)}${index ?? ""}: ${problem}. Fix: ${fix}`);
    }
    return problems;
}
