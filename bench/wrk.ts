/**
 * wrk (HTTP/1.1 keep-alive, C, multi-threaded) for GET. The Authorization header comes from a
 * small Lua script, so the credentials stay out of the command line.
 *
 * wrk 4.1 cannot measure HEAD against the registry: its parser waits for a body of the
 * Content-Length a HEAD response announces but never sends, so every connection hangs after
 * one request (autocannon 9 and h2load 1.52 do the same). Blob HEADs go through ab (ab.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { runOk } from "./exec";

export interface LoadResult {
    tool: string;
    requestsPerSecond: number;
    requests: number;
    seconds: number;
    /** Responses outside 2xx/3xx. */
    non2xx: number;
    /** Connect, read, write errors and timeouts. */
    errors: number;
    /** CPU the registry's container used per completed request, in milliseconds (from its cgroup). */
    registryCpuMsPerRequest?: number;
}

export interface LoadSpec {
    url: string;
    method: "GET" | "HEAD";
    /** Authorization header value, or none for an unauthenticated run. */
    authorization?: string;
    seconds: number;
    connections: number;
}

export function wrkScript(method: string, authorization?: string): string {
    const lines = [`wrk.method = "${method}"`];
    if (authorization) lines.push(`wrk.headers["Authorization"] = "${authorization.replace(/["\\]/g, "")}"`);
    return lines.join("\n") + "\n";
}

export function parseWrk(out: string): LoadResult {
    const rps = /Requests\/sec:\s+([\d.]+)/.exec(out);
    const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)\b/.exec(out);
    if (!rps || !total) throw new Error(`wrk output has no Requests/sec:\n${out}`);
    const unit = { us: 1e-6, ms: 1e-3, s: 1, m: 60 }[total[3] as "us" | "ms" | "s" | "m"];
    const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const errors = socket ? socket.slice(1, 5).reduce((s, x) => s + Number(x), 0) : 0;
    return { tool: "wrk", requestsPerSecond: Number(rps[1]), requests: Number(total[1]), seconds: Number(total[2]) * unit, non2xx, errors };
}

export async function runWrk(spec: LoadSpec, workDir: string): Promise<LoadResult> {
    const script = path.join(workDir, `wrk-${spec.method.toLowerCase()}-${spec.authorization ? "auth" : "anon"}.lua`);
    fs.writeFileSync(script, wrkScript(spec.method, spec.authorization), { mode: 0o600 });
    const threads = Math.min(2, spec.connections);
    const r = await runOk("wrk", [
        "-t", String(threads), "-c", String(spec.connections), "-d", `${spec.seconds}s`, "--timeout", "10s",
        "-s", script, spec.url,
    ], { timeoutMs: (spec.seconds + 30) * 1000 });
    return parseWrk(r.stdout);
}
