/**
 * ApacheBench (apache2-utils) for HEAD: `ab -i` sends HEAD and, unlike wrk 4.1, reads a HEAD
 * response's headers without waiting for the body its Content-Length announces. `-k` keeps
 * connections alive (HTTP/1.0 keep-alive, which the registry honours), as wrk does.
 * ab takes headers only on its command line, so the credentials are visible in `ps` while it runs.
 */
import { runOk } from "./exec";
import { LoadResult, LoadSpec } from "./wrk";

export function parseAb(out: string): LoadResult {
    const rps = /Requests per second:\s+([\d.]+)/.exec(out);
    const complete = /Complete requests:\s+(\d+)/.exec(out);
    const taken = /Time taken for tests:\s+([\d.]+) seconds/.exec(out);
    if (!rps || !complete || !taken) throw new Error(`ab output has no Requests per second:\n${out}`);
    return {
        tool: "ab",
        requestsPerSecond: Number(rps[1]),
        requests: Number(complete[1]),
        seconds: Number(taken[1]),
        non2xx: Number(/Non-2xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0),
        errors: Number(/Failed requests:\s+(\d+)/.exec(out)?.[1] ?? 0),
    };
}

export async function runAb(spec: LoadSpec): Promise<LoadResult> {
    const args = ["-q", "-k", "-c", String(spec.connections), "-t", String(spec.seconds), "-n", "100000000", "-s", "10"];
    if (spec.method === "HEAD") args.push("-i");
    if (spec.authorization) args.push("-H", `Authorization: ${spec.authorization}`);
    args.push(spec.url);
    const r = await runOk("ab", args, { timeoutMs: (spec.seconds + 30) * 1000 });
    return parseAb(r.stdout);
}
