/** The HTTPS token endpoint, and the reloading of the files it decides with. */
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import { createServer, Server } from "node:https";
import { AddressInfo } from "node:net";
import { Settings, parseAccessPolicy } from "./config";
import { Htpasswd, parseHtpasswd, verifyPassword } from "./htpasswd";
import { decideNotaryAccess } from "./notary";
import { AccessPolicy, decideAccess } from "./rules";
import { formatScope, parseScopes, ScopeError } from "./scope";
import { buildClaims, loadSigningKey, signToken, SigningKey, tokenResponse } from "./token";

export type Logger = (fields: Record<string, unknown>) => void;

/** One JSON line per event on stdout. Callers never pass passwords or tokens. */
export const jsonLogger: Logger = (fields) => {
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
};

/** Who may log in and what they get; `error` while the files on disk are unreadable or invalid. */
export type AccessState = { htpasswd: Htpasswd; policy: AccessPolicy } | { error: string };

export function loadAccessState(settings: Settings): AccessState & { warnings?: string[] } {
    try {
        const htpasswd = parseHtpasswd(readFileSync(settings.htpasswdFile, "utf8"), settings.htpasswdFile);
        const policy = parseAccessPolicy(readFileSync(settings.accessFile, "utf8"), settings.accessFile);
        const warnings = [...policy.users]
            .filter((user) => !htpasswd.has(user))
            .map((user) => `user "${user}" of ${settings.accessFile} has no entry in ${settings.htpasswdFile} and cannot log in`);
        return { htpasswd, policy, warnings };
    } catch (error) {
        return { error: (error as Error).message };
    }
}

export interface TokenRequest {
    /** Path and query, as in the request line. */
    url: string;
    method: string;
    authorization: string | undefined;
}

export interface TokenReply {
    status: number;
    headers: Record<string, string>;
    body: Record<string, unknown>;
    /** What the access log records about the request. */
    log: Record<string, unknown>;
}

export interface TokenContext {
    settings: Settings;
    signingKey: SigningKey;
    state: AccessState;
    /** Seconds since the epoch. */
    now: () => number;
}

function errorReply(status: number, code: string, message: string, log: Record<string, unknown>, headers: Record<string, string> = {}): TokenReply {
    return { status, headers, body: { errors: [{ code, message }] }, log: { ...log, status, error: message } };
}

/** Username and password of a Basic authorization header; undefined when it is not one. */
export function parseBasicAuth(header: string): { user: string; password: string } | undefined {
    const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
    if (!match) return undefined;
    const decoded = Buffer.from(match[1], "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon <= 0) return undefined;
    return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Answers one request to the token service (the realm, or the health check). */
export async function handleTokenRequest(request: TokenRequest, context: TokenContext): Promise<TokenReply> {
    const url = new URL(request.url, "https://token-service.invalid");
    const { settings, state } = context;
    const log: Record<string, unknown> = { method: request.method, path: url.pathname };
    if (url.pathname === "/healthz" && request.method === "GET") {
        return "error" in state
            ? errorReply(503, "UNAVAILABLE", "the access or htpasswd file is invalid", log)
            : { status: 200, headers: {}, body: { status: "ok" }, log: { ...log, status: 200 } };
    }
    if (url.pathname !== settings.realmPath) return errorReply(404, "NOT_FOUND", "no such endpoint", log);
    if (request.method !== "GET") return errorReply(405, "UNSUPPORTED", "only GET is supported", log, { Allow: "GET" });
    if ("error" in state) return errorReply(503, "UNAVAILABLE", "the service cannot read its access files; see its log", log);

    const service = url.searchParams.get("service");
    log.service = service;
    const notary = settings.notary !== undefined && service === settings.notary.service ? settings.notary : undefined;
    if (service === null || (!notary && !settings.services.includes(service))) {
        const known = [...settings.services, ...(settings.notary ? [settings.notary.service] : [])];
        return errorReply(400, "INVALID_REQUEST", `unknown service ${JSON.stringify(service)}; this server issues tokens for ${known.join(", ")}`, log);
    }
    let requested;
    try {
        // Notary's repository scopes name GUNs (host:port/repository), the registry's plain repositories.
        requested = parseScopes(url.searchParams.getAll("scope"), notary ? "gun" : "repository");
    } catch (error) {
        if (error instanceof ScopeError) return errorReply(400, "INVALID_REQUEST", error.message, log);
        throw error;
    }
    log.requested = requested.map(formatScope);

    let user: string | undefined;
    if (request.authorization !== undefined) {
        const credentials = parseBasicAuth(request.authorization);
        log.user = credentials?.user;
        if (!credentials || !(await verifyPassword(state.htpasswd, credentials.user, credentials.password))) {
            return errorReply(401, "UNAUTHORIZED", "authentication failed", log, {
                "WWW-Authenticate": `Basic realm=${JSON.stringify(settings.issuer)}, charset="UTF-8"`,
            });
        }
        user = credentials.user;
    }

    const access = notary
        ? decideNotaryAccess(state.policy, user, requested, notary.gunPrefixes)
        : decideAccess(state.policy, user, requested);
    const claims = buildClaims({
        issuer: settings.issuer,
        subject: user,
        service,
        access,
        lifetimeSeconds: settings.tokenLifetimeSeconds,
        now: context.now(),
    });
    const token = await signToken(claims, context.signingKey);
    return {
        status: 200,
        headers: { "Cache-Control": "no-store", Pragma: "no-cache" },
        body: tokenResponse(token, claims),
        log: { ...log, status: 200, user: user ?? null, granted: access.map(formatScope), jti: claims.jti },
    };
}

export interface RunningService {
    server: Server;
    port: number;
    /** Rereads the htpasswd and access files; with `all`, the TLS and signing keys as well. */
    reload(all?: boolean): void;
    close(): Promise<void>;
}

function readKeys(settings: Settings): { tls: { cert: string; key: string }; signingKey: SigningKey } {
    return {
        tls: { cert: readFileSync(settings.tlsCert, "utf8"), key: readFileSync(settings.tlsKey, "utf8") },
        signingKey: loadSigningKey(
            readFileSync(settings.signingKey, "utf8"),
            readFileSync(settings.signingCert, "utf8"),
            settings.keyHeader,
        ),
    };
}

/**
 * Starts the service. Startup fails on any invalid file. Afterwards the htpasswd and access files
 * are polled: when they become invalid the service refuses every token request (503) until they are
 * fixed, so a broken edit never keeps a removed user in. Keys that fail to reload stay as they were.
 */
export async function startService(settings: Settings, log: Logger = jsonLogger, pollIntervalMs = 1000): Promise<RunningService> {
    let keys = readKeys(settings);
    const initial = loadAccessState(settings);
    if ("error" in initial) throw new Error(initial.error);
    let state: AccessState = initial;

    const reloadAccess = (): void => {
        const next = loadAccessState(settings);
        state = next;
        if ("error" in next) log({ level: "error", msg: "access files invalid; refusing token requests until fixed", error: next.error });
        else log({ level: "info", msg: "access files loaded", users: next.htpasswd.size, rules: next.policy.rules.length, warnings: next.warnings });
    };
    const reload = (all = false): void => {
        if (all) {
            try {
                keys = readKeys(settings);
                server.setSecureContext({ ...keys.tls, minVersion: "TLSv1.2" });
                log({ level: "info", msg: "keys reloaded", kid: keys.signingKey.kid });
            } catch (error) {
                log({ level: "error", msg: "keys not reloaded; keeping the previous ones", error: (error as Error).message });
            }
        }
        reloadAccess();
    };

    const server = createServer({ ...keys.tls, minVersion: "TLSv1.2", requestTimeout: 10_000 }, (req, res) => {
        const request = { url: req.url ?? "/", method: req.method ?? "GET", authorization: req.headers.authorization };
        const context = { settings, signingKey: keys.signingKey, state, now: () => Math.floor(Date.now() / 1000) };
        handleTokenRequest(request, context)
            .catch((error: Error): TokenReply => errorReply(500, "INTERNAL", "internal error", { path: req.url, cause: error.message }))
            .then((reply) => {
                res.writeHead(reply.status, { "Content-Type": "application/json", ...reply.headers });
                res.end(JSON.stringify(reply.body));
                log({ level: reply.status >= 500 ? "error" : "info", msg: "request", remote: req.socket.remoteAddress, ...reply.log });
            })
            .catch(() => res.destroy());
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(settings.port, settings.host, () => resolve());
    });

    const watched = [settings.htpasswdFile, settings.accessFile];
    for (const path of watched) watchFile(path, { interval: pollIntervalMs }, () => reloadAccess());
    log({ level: "info", msg: "listening", host: settings.host, port: (server.address() as AddressInfo).port, kid: keys.signingKey.kid, keyHeader: settings.keyHeader, warnings: initial.warnings });

    return {
        server,
        port: (server.address() as AddressInfo).port,
        reload,
        close: () => {
            for (const path of watched) unwatchFile(path);
            return new Promise((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
            });
        },
    };
}
