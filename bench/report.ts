/** results.json and RESULTS.md: one key per figure with the raw runs, the median and the ratio. */
import * as fs from "fs";
import * as path from "path";
import { CapacityResults, KindResults, RequestKind, requestKinds } from "./capacity";
import { MachineInfo, Versions } from "./machine";
import { PushPullResults } from "./pushPull";
import { UpTiming } from "./stack";
import { median, ratio, round, Series, series } from "./stats";

export const capacityTarget = 0.6;
/** The issue's target for bearer tokens: the registry verifies a signature per request, and rebuilds its router (about 0.6 ms) for authenticated and 401 answers alike. */
export const tokenCapacityTarget = 0.75;
export const timeTarget = 1.0;

export interface CapacitySide {
    authenticated: Series;
    unauthenticated: Series;
    /**
     * authenticated ÷ unauthenticated: the median of the per-run ratios (each run measures the two
     * back to back), which a shared machine's changing load moves less than the medians' ratio.
     */
    ratio: number;
    /** The per-run ratios. */
    pairedRatios: number[];
    /** authenticated ÷ unauthenticated of the two medians. */
    ratioOfMedians: number;
    /**
     * CPU the registry's container used per request (its cgroup), in ms: the registry's own cost,
     * which the machine's other work moves much less than requests/s. cpuImpliedRatio is
     * unauthenticated ÷ authenticated CPU per request, the capacity ratio a CPU-bound registry
     * would show.
     */
    registryCpuMsPerRequest?: { authenticated: Series; unauthenticated: Series; cpuImpliedRatio: number };
}

export interface CapacityFigure {
    description: string;
    unit: "requests/s";
    tool: string;
    connections: number;
    secondsPerRun: number;
    stack: CapacitySide;
    baseline: CapacitySide;
    /** Stack ÷ baseline, of the authenticated medians. */
    stackToBaselineAuthenticated: number;
    target: { what: string; met: boolean };
}

export interface TimeFigure {
    description: string;
    unit: "s";
    image: { layers: number; bytesPerLayer: number };
    stack: Series;
    baseline: Series;
    /** Stack ÷ baseline, of the medians. */
    ratio: number;
    target: { what: string; met: boolean };
    /** CPU seconds the registry's container used during each run (its cgroup): the registry's share of the work. */
    registryCpuSeconds?: { stack: Series; baseline: Series };
    /**
     * CPU seconds the Docker daemon used during each run: the client side (compressing for a push,
     * decompressing and unpacking for a pull), the same work for both targets.
     */
    dockerDaemonCpuSeconds?: { stack: Series; baseline: Series };
    /**
     * Wall seconds per second of Docker daemon CPU (median of the runs), and stack ÷ baseline of it:
     * the wall-time ratio with the client's speed at the time taken out. A slower registry raises it
     * however fast the machine happened to be.
     */
    wallPerDaemonCpuSecond?: { stack: number; baseline: number; ratio: number };
}

export interface UpFigure {
    description: string;
    unit: "s";
    stack: Series & { phases: UpTiming; harnessStartSeconds: number };
    baseline: Series & { what: string };
    note?: string;
}

/** A results file of any mode; the figures differ by mode. */
export interface ResultsOf<F extends object> {
    title: string;
    mode: string;
    date: string;
    command: string;
    durationSeconds: number;
    machine: MachineInfo;
    versions: Versions;
    setup: Record<string, unknown>;
    figures: Record<string, F>;
    observations: Record<string, unknown>;
}

/** The token service's own capacity: token requests (a login: one bcrypt check, one signature) per second. */
export interface TokenEndpointFigure {
    description: string;
    unit: "tokens/s";
    tool: string;
    connections: number;
    secondsPerRun: number;
    stack: Series;
    /** CPU the token service's container used per token, ms. */
    cpuMsPerToken?: Series;
}

export type Results = ResultsOf<CapacityFigure | TimeFigure | UpFigure | TokenEndpointFigure>;

/** One target's side of a capacity figure: medians, the per-run ratios and the registry's CPU per request. */
export function capacitySide(k: KindResults): CapacitySide {
    const a = series(k.authenticated.map((r) => r.requestsPerSecond), 1);
    const u = series(k.unauthenticated.map((r) => r.requestsPerSecond), 1);
    const paired = k.authenticated.map((x, i) => ratio(x.requestsPerSecond, k.unauthenticated[i].requestsPerSecond));
    const side: CapacitySide = {
        authenticated: a, unauthenticated: u, ratio: round(median(paired), 3), pairedRatios: paired, ratioOfMedians: ratio(a.median, u.median),
    };
    const cpuA = k.authenticated.map((r) => r.registryCpuMsPerRequest);
    const cpuU = k.unauthenticated.map((r) => r.registryCpuMsPerRequest);
    if ([...cpuA, ...cpuU].every((x) => x !== undefined)) {
        const ca = series(cpuA as number[]);
        const cu = series(cpuU as number[]);
        side.registryCpuMsPerRequest = { authenticated: ca, unauthenticated: cu, cpuImpliedRatio: ratio(cu.median, ca.median) };
    }
    return side;
}

export function capacityFigure(kind: RequestKind, cap: CapacityResults, connections: number, seconds: number, withTokens = false): CapacityFigure {
    const tool = requestKinds.find((k) => k.kind === kind)!.tool;
    const stack = capacitySide(cap.stack[kind]);
    const baseline = capacitySide(cap.baseline[kind]);
    const credentials = withTokens ? "credentials (the stack: a bearer token from its token service; the baseline: basic auth)" : "basic-auth credentials";
    const target = withTokens ? tokenCapacityTarget : capacityTarget;
    return {
        description: kind === "getV2"
            ? `GET /v2/ at a fixed number of keep-alive connections, with and without ${credentials} (unauthenticated requests get 401)`
            : `HEAD of a pushed layer blob, /v2/<repo>/blobs/<digest>, with and without ${credentials} (unauthenticated requests get 401)`,
        unit: "requests/s",
        tool,
        connections,
        secondsPerRun: seconds,
        stack,
        baseline,
        stackToBaselineAuthenticated: ratio(stack.authenticated.median, baseline.authenticated.median),
        target: { what: `stack authenticated ÷ unauthenticated ≥ ${target}`, met: stack.ratio >= target },
    };
}

type PerTarget = Record<string, number[]>;

/**
 * Series of a stack/baseline pair of CPU times, or undefined unless every run of both was measured.
 * A zero is a run too short for the clock (the daemon's is counted in 10 ms ticks), not a measurement.
 */
function bothSides(x: PerTarget, runs: number): { stack: Series; baseline: Series } | undefined {
    const all = [...(x.stack ?? []), ...(x.baseline ?? [])];
    if (all.length !== 2 * runs || !all.every((v) => Number.isFinite(v) && v > 0)) return undefined;
    return { stack: series(x.stack), baseline: series(x.baseline) };
}

export function timeFigure(
    description: string, image: { layers: number; bytesPerLayer: number }, wall: PerTarget,
    cpu: { registry: PerTarget; daemon: PerTarget },
): TimeFigure {
    const stack = series(wall.stack);
    const baseline = series(wall.baseline);
    const r = ratio(stack.median, baseline.median);
    const f: TimeFigure = { description, unit: "s", image, stack, baseline, ratio: r, target: { what: `stack ÷ baseline ≤ ${timeTarget}`, met: r <= timeTarget } };
    const registry = bothSides(cpu.registry, stack.runs.length);
    if (registry) f.registryCpuSeconds = registry;
    const daemon = bothSides(cpu.daemon, stack.runs.length);
    if (daemon) {
        f.dockerDaemonCpuSeconds = daemon;
        const perCpu = (w: number[], c: number[]) => round(median(w.map((x, i) => x / c[i])), 3);
        const st = perCpu(wall.stack, cpu.daemon.stack);
        const bl = perCpu(wall.baseline, cpu.daemon.baseline);
        f.wallPerDaemonCpuSecond = { stack: st, baseline: bl, ratio: ratio(st, bl) };
    }
    return f;
}

function pushFigure(what: string, image: { layers: number; bytesPerLayer: number }, pp: PushPullResults): TimeFigure {
    return timeFigure(`docker push of ${what}: wall time, registry emptied before each run`, image, pp.push,
        { registry: pp.pushRegistryCpuSeconds, daemon: pp.pushDaemonCpuSeconds });
}

export function pullFigure(what: string, image: { layers: number; bytesPerLayer: number }, pp: PushPullResults): TimeFigure {
    return timeFigure(`docker pull of ${what}: wall time, local image removed before each pull`, image, pp.pull,
        { registry: pp.pullRegistryCpuSeconds, daemon: pp.pullDaemonCpuSeconds });
}

export function pushPullFigures(prefix: string, what: string, image: { layers: number; bytesPerLayer: number }, pp: PushPullResults): Record<string, TimeFigure> {
    return { [`push${prefix}`]: pushFigure(what, image, pp), [`pull${prefix}`]: pullFigure(what, image, pp) };
}

function size(bytes: number): string {
    if (bytes >= 2 ** 30) return `${round(bytes / 2 ** 30, 2)} GiB`;
    if (bytes >= 2 ** 20) return `${round(bytes / 2 ** 20, 2)} MiB`;
    return `${round(bytes / 1024, 1)} KiB`;
}

function imageText(image: { layers: number; bytesPerLayer: number }): string {
    return image.layers === 1 ? `1 layer of ${size(image.bytesPerLayer)}` : `${image.layers} layers × ${size(image.bytesPerLayer)}`;
}

function yesNo(met: boolean): string {
    return met ? "**met**" : "**not met**";
}

function isCapacity(f: unknown): f is CapacityFigure {
    return (f as CapacityFigure).unit === "requests/s";
}

function isTokenEndpoint(f: unknown): f is TokenEndpointFigure {
    return (f as TokenEndpointFigure).unit === "tokens/s";
}

function isTime(f: unknown): f is TimeFigure {
    return (f as TimeFigure).image !== undefined;
}

/** What renderMarkdown reads of a run's setup; results files from before the log and Go fields lack them. */
interface RunSetup {
    stack: {
        stack: string; configOverrides: string[]; host: string; bcryptCost: number; blobDescriptorCache: boolean; http2: boolean;
        logLevel?: string; goGc?: string; goMemLimit?: string; memoryLimitMb: number;
        /** "token" for the token run; absent before it existed. */
        auth?: string;
    };
    baseline: { command: string; host: string; bcryptCost: number };
    load: { connections: number; runs: number; secondsPerRun: number };
}

export function renderMarkdown(r: Results): string {
    const L: string[] = [];
    const v = r.versions;
    const m = r.machine;
    const s = r.setup as unknown as RunSetup;
    const tokens = s.stack.auth === "token";
    L.push(`# Benchmark: ${tokens ? "token authentication, " : ""}the stack against the seed guide's registry`, "");
    L.push(`Produced by \`${r.command}\` on ${r.date} (${r.mode} run, ${round(r.durationSeconds / 60, 1)} min including set-up and clean-up). Raw runs: [${tokens ? "token" : "results"}.json](${tokens ? "token" : "results"}.json). The stack's bcrypt cost, blob descriptor cache, HTTP/2, log level, GOGC and memory limit, each measured against the same baseline: [KNOBS.md](KNOBS.md) (\`npm run bench -- --knobs\`).`, "");
    L.push(`- **Machine:** ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM; kernel ${m.kernel}; ${m.os}. Load average at start ${m.loadAverageAtStart.join(" / ")}${m.loadAverageAtEnd ? `, at end ${m.loadAverageAtEnd.join(" / ")}` : ""} (1/5/15 min).`);
    L.push(`- **Versions:** ${v.registryBinary} in image \`${v.registryImage}\` (${v.registryImageId.slice(0, 19)}…) for both; Docker ${v.dockerServer} (client ${v.dockerClient}); Node ${v.node}; ${v.wrk}; ${v.ab}; ${v.openssl}.`);
    L.push(`- **Stack:** \`${s.stack.stack}\` stack via the local apply harness${s.stack.configOverrides.length ? ` with ${s.stack.configOverrides.map((c) => `\`${c}\``).join(", ")}` : ", its own defaults (no overrides)"}: ${tokens ? `token authentication (ES256 tokens; the token service checks bcrypt cost ${s.stack.bcryptCost} once per login)` : `bcrypt cost ${s.stack.bcryptCost}`}, blob descriptor cache ${s.stack.blobDescriptorCache ? "on" : "off"}, HTTP/2 ${s.stack.http2 ? "on" : "off"}, log level ${s.stack.logLevel ?? "info"}, GOGC ${s.stack.goGc ?? "unset"} with GOMEMLIMIT ${s.stack.goMemLimit ?? "unset"}, memory limit ${s.stack.memoryLimitMb} MiB, ECDSA P-256 certificate; at ${s.stack.host}.`);
    L.push(`- **Baseline:** \`${s.baseline.command}\`; htpasswd from \`htpasswd -Bbn\` (bcrypt cost ${s.baseline.bcryptCost}), self-signed RSA 4096 certificate from \`openssl req\`; at ${s.baseline.host}.`);
    L.push(`- **Load:** ${s.load.connections} connections, ${s.load.runs} run(s) of ${s.load.secondsPerRun} s per figure and target, interleaved; GET with wrk (Lua script for the Authorization header), HEAD with ab -k -i (wrk 4.1 hangs on HEAD responses that carry a Content-Length).`);
    L.push("");
    L.push("## Results", "");
    L.push("| Figure | Stack | Baseline | Stack ÷ baseline | Target |");
    L.push("| --- | ---: | ---: | ---: | --- |");
    for (const [key, f] of Object.entries(r.figures)) {
        if (isCapacity(f)) {
            const name = key === "authCapacityGetV2" ? "GET /v2/" : "HEAD blob";
            L.push(`| ${name} authenticated, req/s (median) | ${f.stack.authenticated.median} | ${f.baseline.authenticated.median} | ${f.stackToBaselineAuthenticated} | |`);
            L.push(`| ${name} unauthenticated, req/s (median) | ${f.stack.unauthenticated.median} | ${f.baseline.unauthenticated.median} | ${ratio(f.stack.unauthenticated.median, f.baseline.unauthenticated.median)} | |`);
            L.push(`| ${name}: authenticated ÷ unauthenticated (median of per-run pairs) | ${f.stack.ratio} | ${f.baseline.ratio} | | ${f.target.what.replace(" authenticated ÷ unauthenticated", "")}: ${yesNo(f.target.met)} |`);
            const cs = f.stack.registryCpuMsPerRequest;
            const cb = f.baseline.registryCpuMsPerRequest;
            if (cs && cb) {
                L.push(`| ${name} registry CPU per request, authenticated / unauthenticated, ms | ${cs.authenticated.median} / ${cs.unauthenticated.median} | ${cb.authenticated.median} / ${cb.unauthenticated.median} | | |`);
                L.push(`| ${name}: CPU-implied authenticated ÷ unauthenticated | ${cs.cpuImpliedRatio} | ${cb.cpuImpliedRatio} | | (cross-check) |`);
            }
        } else if (isTime(f)) {
            const verb = key.startsWith("push") ? "push" : "pull";
            L.push(`| docker ${verb}, ${imageText(f.image)}, s (median of ${f.stack.runs.length}) | ${f.stack.median} | ${f.baseline.median} | ${f.ratio} | ≤ ${timeTarget}: ${yesNo(f.target.met)} |`);
            if (f.registryCpuSeconds) L.push(`| … registry CPU during it, s | ${f.registryCpuSeconds.stack.median} | ${f.registryCpuSeconds.baseline.median} | ${ratio(f.registryCpuSeconds.stack.median, f.registryCpuSeconds.baseline.median)} | |`);
            if (f.dockerDaemonCpuSeconds) L.push(`| … docker daemon CPU during it (client side), s | ${f.dockerDaemonCpuSeconds.stack.median} | ${f.dockerDaemonCpuSeconds.baseline.median} | ${ratio(f.dockerDaemonCpuSeconds.stack.median, f.dockerDaemonCpuSeconds.baseline.median)} | |`);
            const w = f.wallPerDaemonCpuSecond;
            if (w) L.push(`| … wall seconds per daemon CPU second (the client's speed taken out) | ${w.stack} | ${w.baseline} | ${w.ratio} | (cross-check) |`);
        } else if (isTokenEndpoint(f)) {
            L.push(`| token service: tokens/s (logins with basic auth, median) | ${f.stack.median} | | | |`);
            if (f.cpuMsPerToken) L.push(`| … token service CPU per token, ms | ${f.cpuMsPerToken.median} | | | |`);
        } else {
            L.push(`| \`up\` (image already local) → first authenticated 200 from /v2/, s | ${f.stack.median} | ${f.baseline.median} (\`docker run\`) | | |`);
        }
    }
    L.push("");
    const up = r.figures.upToFirstAuthenticated200 as UpFigure | undefined;
    if (up) {
        const p = up.stack.phases;
        const fmt = (x: number | undefined) => (x === undefined ? "—" : `${round(x, 2)} s`);
        L.push("### Where the time to the first authenticated 200 goes", "");
        L.push(`Seconds from starting \`npm run local -- up --stack ${s.stack.stack}\`:`, "");
        L.push("| Point | At |", "| --- | ---: |");
        L.push(`| first Docker event of the stack (harness start-up: ts-node, the program, keys, bcrypt) | ${fmt(p.firstDockerEvent)} |`);
        L.push(`| registry container started | ${fmt(p.registryContainerStart)} |`);
        L.push(`| first answer from /v2/ (registry listening) | ${fmt(p.firstAnswer)} |`);
        L.push(`| **first authenticated 200 from /v2/** | **${fmt(p.firstAuthenticated200)}** |`);
        L.push(`| container healthy (first healthcheck; the harness waits for it) | ${fmt(p.healthy)} |`);
        L.push(`| \`up\` exited | ${fmt(p.upExited)} |`);
        L.push("");
        L.push(`The harness CLI alone (\`npm run local -- --help\`: npm, ts-node, loading the harness) takes ${round(up.stack.harnessStartSeconds, 2)} s, a fixed cost of this harness; a real \`pulumi up\` has its own (CLI, plugins, language host) instead. The password for the poll was read from ${p.passwordFrom === "state-file" ? "the harness's state file as soon as it was written" : "`npm run local -- output` after `up`"}.`);
        L.push("");
    }
    L.push("## Raw runs", "");
    L.push("| Figure | Target | Runs |", "| --- | --- | --- |");
    for (const [key, f] of Object.entries(r.figures)) {
        if (isCapacity(f)) {
            for (const side of ["stack", "baseline"] as const) {
                L.push(`| ${key} authenticated | ${side} | ${f[side].authenticated.runs.join(", ")} |`);
                L.push(`| ${key} unauthenticated | ${side} | ${f[side].unauthenticated.runs.join(", ")} |`);
                L.push(`| ${key} authenticated ÷ unauthenticated, per run | ${side} | ${f[side].pairedRatios.join(", ")} |`);
                const cpu = f[side].registryCpuMsPerRequest;
                if (cpu) L.push(`| ${key} registry CPU ms/request, authenticated; unauthenticated | ${side} | ${cpu.authenticated.runs.join(", ")}; ${cpu.unauthenticated.runs.join(", ")} |`);
            }
        } else if (isTime(f)) {
            L.push(`| ${key} | stack | ${f.stack.runs.join(", ")} |`);
            L.push(`| ${key} | baseline | ${f.baseline.runs.join(", ")} |`);
            if (f.registryCpuSeconds) {
                L.push(`| ${key} registry CPU s | stack | ${f.registryCpuSeconds.stack.runs.join(", ")} |`);
                L.push(`| ${key} registry CPU s | baseline | ${f.registryCpuSeconds.baseline.runs.join(", ")} |`);
            }
            if (f.dockerDaemonCpuSeconds) {
                L.push(`| ${key} docker daemon CPU s | stack | ${f.dockerDaemonCpuSeconds.stack.runs.join(", ")} |`);
                L.push(`| ${key} docker daemon CPU s | baseline | ${f.dockerDaemonCpuSeconds.baseline.runs.join(", ")} |`);
            }
        } else if (isTokenEndpoint(f)) {
            L.push(`| ${key} | stack | ${f.stack.runs.join(", ")} |`);
        } else {
            L.push(`| ${key} | stack | ${f.stack.runs.join(", ")} |`);
            L.push(`| ${key} | baseline | ${f.baseline.runs.join(", ")} |`);
        }
    }
    L.push("");
    L.push(...notesSection(r.observations.notes as string[] | undefined));
    return L.join("\n");
}

/** The report's closing "Notes" section (none without notes), as markdown lines. */
export function notesSection(notes: string[] | undefined): string[] {
    return notes?.length ? ["## Notes", "", ...notes.map((n) => `- ${n}`), ""] : [];
}

export function writeResults<R extends ResultsOf<object>>(dir: string, r: R, basename: string, render: (r: R) => string): { json: string; md: string } {
    fs.mkdirSync(dir, { recursive: true });
    const json = path.join(dir, `${basename}.json`);
    const md = path.join(dir, basename === "results" ? "RESULTS.md" : `${basename.toUpperCase()}.md`);
    fs.writeFileSync(json, JSON.stringify(r, null, 2) + "\n");
    fs.writeFileSync(md, render(r));
    return { json, md };
}

/** Every number a figure reports, with its path; the smoke run checks all are positive. */
export function figureNumbers(r: ResultsOf<object>): { path: string; value: unknown }[] {
    const out: { path: string; value: unknown }[] = [];
    const walk = (prefix: string, v: unknown) => {
        if (Array.isArray(v)) v.forEach((x, i) => walk(`${prefix}[${i}]`, x));
        else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(`${prefix}.${k}`, x);
        else if (typeof v === "number" || v === null || v === undefined) out.push({ path: prefix, value: v });
    };
    for (const [key, f] of Object.entries(r.figures)) {
        const { description: _d, unit: _u, ...rest } = f as unknown as Record<string, unknown>;
        walk(key, rest);
    }
    return out;
}

/** The figures' numbers that are not positive finite numbers: a smoke run fails on any. */
export function nonPositiveFigures(r: ResultsOf<object>): { path: string; value: unknown }[] {
    return figureNumbers(r).filter((n) => !(typeof n.value === "number" && Number.isFinite(n.value) && n.value > 0));
}
