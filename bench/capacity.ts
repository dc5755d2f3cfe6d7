/**
 * Request capacity at a fixed number of connections: GET /v2/ (wrk) and HEAD of a blob (ab), each
 * with and without credentials, for every target. Each run measures a target's authenticated and
 * unauthenticated requests back to back (a pair, whose ratio is one sample of the figure), and
 * the targets take turns going first, so that a slow patch of a shared machine hits both sides of
 * a ratio alike.
 */
import { runAb } from "./ab";
import { containerCpuNs, containerId } from "./cpu";
import { authorization, RegistryTarget, scopeOf } from "./target";
import { LoadResult, LoadSpec, runWrk } from "./wrk";

export type RequestKind = "getV2" | "blobHead";

export interface CapacityPlan {
    runs: number;
    seconds: number;
    connections: number;
    warmupSeconds: number;
}

export interface KindResults {
    authenticated: LoadResult[];
    unauthenticated: LoadResult[];
}

/** target label → request kind → results. */
export type CapacityResults = Record<string, Record<RequestKind, KindResults>>;

export const requestKinds: { kind: RequestKind; method: "GET" | "HEAD"; tool: string }[] = [
    { kind: "getV2", method: "GET", tool: "wrk" },
    { kind: "blobHead", method: "HEAD", tool: "ab" },
];

function load(spec: LoadSpec, tool: string, workDir: string): Promise<LoadResult> {
    return tool === "wrk" ? runWrk(spec, workDir) : runAb(spec);
}

/** A run whose responses are not what its kind promises measured something else; fail loudly. */
function check(label: string, what: string, r: LoadResult, authenticated: boolean): void {
    if (r.requests === 0) throw new Error(`${label} ${what}: no request completed`);
    if (authenticated && r.non2xx > 0) throw new Error(`${label} ${what}: ${r.non2xx} of ${r.requests} responses were not 2xx; the credentials or the blob are wrong`);
    if (!authenticated && r.non2xx < r.requests) throw new Error(`${label} ${what}: ${r.requests - r.non2xx} of ${r.requests} responses were 2xx without credentials`);
}

/** The containers' CPU together, or undefined unless every one can be read. */
function cpuNs(ids: string[]): number | undefined {
    const each = ids.map(containerCpuNs);
    return each.every((x) => x !== undefined) ? each.reduce((a, b) => a + b, 0) : undefined;
}

/**
 * @param blobPaths target label → "/v2/<repo>/blobs/<digest>" of a blob pushed there
 */
export async function measureCapacity(
    targets: RegistryTarget[], blobPaths: Record<string, string>, plan: CapacityPlan, workDir: string,
    log: (msg: string) => void, kinds: RequestKind[] = ["getV2", "blobHead"],
): Promise<CapacityResults> {
    const results: CapacityResults = {};
    const ids: Record<string, string[]> = {};
    for (const t of targets) {
        ids[t.label] = await Promise.all((t.cpuContainers ?? [t.container]).map(containerId));
        results[t.label] = {
            getV2: { authenticated: [], unauthenticated: [] },
            blobHead: { authenticated: [], unauthenticated: [] },
        };
        if (plan.warmupSeconds > 0) {
            await runWrk({ url: `https://${t.host}/v2/`, method: "GET", authorization: await authorization(t), seconds: plan.warmupSeconds, connections: plan.connections }, workDir);
        }
    }
    for (let run = 0; run < plan.runs; run++) {
        const order = run % 2 === 0 ? targets : [...targets].reverse();
        for (const { kind, method, tool } of requestKinds.filter((k) => kinds.includes(k.kind))) {
            for (const t of order) {
                for (const authenticated of [true, false]) {
                    const path = kind === "getV2" ? "/v2/" : blobPaths[t.label];
                    const what = `${method} ${kind === "getV2" ? "/v2/" : "blob"} ${authenticated ? "authenticated" : "unauthenticated"}`;
                    const cpuBefore = cpuNs(ids[t.label]);
                    const r = await load({
                        url: `https://${t.host}${path}`,
                        method,
                        // With tokens, a fresh one per run: a run is seconds, a token lives minutes.
                        authorization: authenticated ? await authorization(t, scopeOf(path)) : undefined,
                        seconds: plan.seconds,
                        connections: plan.connections,
                    }, tool, workDir);
                    const cpuAfter = cpuNs(ids[t.label]);
                    if (cpuBefore !== undefined && cpuAfter !== undefined && r.requests > 0) {
                        r.registryCpuMsPerRequest = Math.round(((cpuAfter - cpuBefore) / 1e6 / r.requests) * 1000) / 1000;
                    }
                    check(t.label, what, r, authenticated);
                    results[t.label][kind][authenticated ? "authenticated" : "unauthenticated"].push(r);
                    log(`  run ${run + 1}/${plan.runs} ${t.label.padEnd(8)} ${what.padEnd(32)} ${r.requestsPerSecond.toFixed(1)} req/s (${tool})${r.registryCpuMsPerRequest !== undefined ? `, registry CPU ${r.registryCpuMsPerRequest.toFixed(2)} ms/request` : ""}`);
                }
            }
        }
    }
    return results;
}
