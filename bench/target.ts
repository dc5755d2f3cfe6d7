/** A registry under test, as the measurements see it. */
import * as https from "https";
import { runOk, sleep } from "./exec";

export interface RegistryTarget {
    /** "stack" or "baseline". */
    readonly label: string;
    /** host:port on loopback, as docker and the load generators address it. */
    readonly host: string;
    readonly username: string;
    readonly password: string;
    /** PEM of the CA (or self-signed certificate) clients trust. */
    readonly caPem: string;
    /** Name of the registry's container. */
    readonly container: string;
    /** Containers whose CPU is the registry's, where it is more than one (replicas behind a front); default: container. */
    readonly cpuContainers?: string[];
    /** With token authentication: the token service's realm and the registry's service name. */
    readonly token?: { readonly realm: string; readonly service: string };
}

export function basicAuth(t: RegistryTarget): string {
    return `Basic ${Buffer.from(`${t.username}:${t.password}`).toString("base64")}`;
}

/** The scope a request for `path` needs: none for /v2/, pull of the repository otherwise. */
export function scopeOf(path: string): string[] {
    const m = /^\/v2\/(.+?)\/(blobs|manifests|tags)\//.exec(path);
    return m ? [`repository:${m[1]}:pull`] : [];
}

/**
 * The Authorization header a client sends: Basic with htpasswd; with token authentication, a
 * Bearer token fetched as docker does (Basic to the realm, for `scopes`).
 */
export async function authorization(t: RegistryTarget, scopes: string[] = []): Promise<string> {
    if (!t.token) return basicAuth(t);
    const query = new URLSearchParams([["service", t.token.service], ...scopes.map((scope) => ["scope", scope])]);
    const a = await httpsRequest(`${t.token.realm}?${query.toString()}`, { authorization: basicAuth(t), caPem: t.caPem || undefined, timeoutMs: 5000 });
    if (a?.status !== 200) throw new Error(`${t.label}: the token service answered ${a?.status ?? "nothing"} for ${scopes.join(" ") || "a login"}`);
    return `Bearer ${(JSON.parse(a.body) as { token: string }).token}`;
}

export interface HttpAnswer {
    status: number;
    headers: Record<string, string | string[] | undefined>;
    body: string;
}

/** One HTTPS request on a fresh connection; undefined when nothing answers. */
export function httpsRequest(url: string, opts: {
    method?: string; authorization?: string; caPem?: string; accept?: string; timeoutMs?: number;
} = {}): Promise<HttpAnswer | undefined> {
    return new Promise((resolve) => {
        const headers: Record<string, string> = {};
        if (opts.authorization) headers.Authorization = opts.authorization;
        if (opts.accept) headers.Accept = opts.accept;
        const req = https.request(url, {
            method: opts.method ?? "GET",
            headers,
            agent: false,
            ca: opts.caPem,
            // While a stack comes up its CA is not known yet; the status is all that is asked then.
            rejectUnauthorized: opts.caPem !== undefined,
            timeout: opts.timeoutMs ?? 2000,
        }, (res) => {
            let body = "";
            res.setEncoding("utf8").on("data", (d: string) => { body += d; });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
            res.on("error", () => resolve(undefined));
        });
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", () => resolve(undefined));
        req.end();
    });
}

/** Polls GET /v2/ until it answers 200 with the target's credentials; returns when it did. */
export async function waitForAuthenticated200(t: RegistryTarget, timeoutMs = 60_000, intervalMs = 50): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        // The token service may start after the registry: a refused token request is one more poll.
        const header = await authorization(t).catch(() => undefined);
        const a = header === undefined ? undefined : await httpsRequest(`https://${t.host}/v2/`, { authorization: header, caPem: t.caPem, timeoutMs: 1000 });
        if (a?.status === 200) return;
        if (Date.now() > deadline) throw new Error(`${t.label}: no authenticated 200 from https://${t.host}/v2/ within ${timeoutMs / 1000} s (last: ${a?.status ?? "no answer"})`);
        await sleep(intervalMs);
    }
}

/** Digest of the first layer of a pushed image, read from its (schema 2) manifest. */
export async function firstLayerDigest(t: RegistryTarget, repository: string, tag: string): Promise<string> {
    const a = await httpsRequest(`https://${t.host}/v2/${repository}/manifests/${tag}`, {
        authorization: await authorization(t, [`repository:${repository}:pull`]),
        caPem: t.caPem,
        accept: "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json",
    });
    if (a?.status !== 200) throw new Error(`${t.label}: manifest ${repository}:${tag} answered ${a?.status ?? "nothing"}`);
    const manifest = JSON.parse(a.body) as { layers?: { digest: string }[] };
    const digest = manifest.layers?.[0]?.digest;
    if (!digest) throw new Error(`${t.label}: manifest ${repository}:${tag} has no layers`);
    return digest;
}

/**
 * Empties the registry's storage (keeping /var/lib/registry/docker, so the volume never becomes
 * empty, which would let Docker's copy-up reset its owner) and restarts it (its in-memory blob descriptor cache would
 * otherwise still vouch for the deleted blobs), so the next push uploads every layer again.
 */
export async function wipeRegistry(t: RegistryTarget): Promise<void> {
    await runOk("docker", ["exec", t.container, "rm", "-rf", "/var/lib/registry/docker/registry"]);
    await runOk("docker", ["restart", "-t", "2", t.container]);
    await waitForAuthenticated200(t, 60_000);
}
