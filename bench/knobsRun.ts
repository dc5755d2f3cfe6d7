/**
// (Not named knobs.ts: Node would resolve "./knobs" to the knobs.json results beside it.)
 * `npm run bench -- --knobs`: the stack under each bcrypt cost and knob setting, each next to the
 * same baseline in the same window, so the settings can be compared with each other and against
 * the targets. Request capacity and the layered image's push/pull (where per-request costs
 * show). The single big layer is measured only for the memory limit, and only its pull: a handful of
 * requests move its gigabyte, so neither the bcrypt cost nor the cache can move its time, docker
 * speaks HTTP/1.1, and its push is bound by dockerd compressing the layer; but the registry reads
 * it through the page cache, which the container's memory limit caps.
 */
import { measureCapacity } from "./capacity";
import { assertDataVolumeWritable } from "./dataVolume";
import { Cleanup } from "./cleanup";
import { runOk } from "./exec";
import { TestImage } from "./images";
import { machineInfo, versions } from "./machine";
import { BenchOptions } from "./options";
import { measurePulls, measurePushPull } from "./pushPull";
import { capacityFigure, capacityTarget, CapacityFigure, pullFigure, pushPullFigures, Results, TimeFigure, timeTarget } from "./report";
import type { Session } from "./run";
import { stackAppliedSettings } from "./applied";
import { stackSetting } from "./stackSettings";

export interface KnobVariant {
    name: string;
    config: string[];
}

/** The settings a knob variant pins; each is a stack config key. */
export interface KnobSettings {
    bcryptCost: number;
    blobDescriptorCache: boolean;
    http2: boolean;
    logLevel: string;
    goGcPercent: number;
}

export const knobKeys: (keyof KnobSettings)[] = ["bcryptCost", "blobDescriptorCache", "http2", "logLevel", "goGcPercent"];

function knobVariant(s: KnobSettings): KnobVariant {
    const onOff = (b: boolean) => (b ? "on" : "off");
    return {
        name: `cost ${s.bcryptCost}, cache ${onOff(s.blobDescriptorCache)}, HTTP/2 ${onOff(s.http2)}, log ${s.logLevel}, GOGC ${s.goGcPercent}`,
        config: knobKeys.map((k) => `${k}=${s[k]}`),
    };
}

/**
 * The stack's defaults, then each knob changed on its own: bcrypt costs 5 and 10, the cache and
 * HTTP/2 flipped, the log level info (or warn), GOGC 100 (Go's default; or 400). Every variant
 * sets all knobs explicitly, so a default changing in Pulumi.yaml meanwhile cannot change what a
 * variant measures.
 */
export function knobVariants(d: KnobSettings): KnobVariant[] {
    const changes: Partial<KnobSettings>[] = [
        {},
        { bcryptCost: 5 },
        { bcryptCost: 10 },
        { blobDescriptorCache: !d.blobDescriptorCache },
        { http2: !d.http2 },
        { logLevel: d.logLevel === "info" ? "warn" : "info" },
        { goGcPercent: d.goGcPercent === 100 ? 400 : 100 },
    ];
    const variants = changes.map((c) => knobVariant({ ...d, ...c }));
    return variants.filter((v, i) => variants.findIndex((w) => w.name === v.name) === i);
}

/**
 * Memory limits to pull the big layer under, other knobs at their defaults: below, near and above
 * the layer's size, and the stack's default. The container's limit counts the page cache the
 * registry reads blobs through, so a layer bigger than the limit is read from disk again.
 */
export function memoryVariants(defaultMb: number, d: KnobSettings): KnobVariant[] {
    return [...new Set([512, 1024, 2048, defaultMb])].sort((a, b) => a - b).map((mb) => ({
        name: `memory ${mb} MiB`,
        config: [`memoryLimitMb=${mb}`, ...knobVariant(d).config],
    }));
}

/** The stack's resolved knob settings (Pulumi.yaml defaults < Pulumi.<stack>.yaml < --config). */
export function stackKnobDefaults(o: BenchOptions): KnobSettings {
    const value = (k: keyof KnobSettings) => stackSetting(k, o.stack, o.stackConfig);
    return {
        bcryptCost: Number(value("bcryptCost")),
        blobDescriptorCache: value("blobDescriptorCache") === true,
        http2: value("http2") === true,
        logLevel: String(value("logLevel")),
        goGcPercent: Number(value("goGcPercent")),
    };
}

export interface KnobDeps {
    setUp(o: BenchOptions, cleanup: Cleanup, withSingle: boolean): Promise<{ session: Session; images: TestImage[] }>;
    pushProbe(client: Session["client"], probe: TestImage, targets: Session["targets"]): Promise<Record<string, string>>;
    log: (msg: string) => void;
    commandLine: string;
}

export async function runKnobs(o: BenchOptions, cleanup: Cleanup, deps: KnobDeps): Promise<Results> {
    const machine = machineInfo();
    const { session: s, images } = await deps.setUp(o, cleanup, true);
    const vers = await versions(o.image);
    const [, layered, single] = images;
    const figures: Results["figures"] = {};
    const settings: Record<string, unknown> = {};
    let blobPaths = s.blobPaths;
    const upVariant = async (v: KnobVariant) => {
        deps.log(`variant ${v.name}: npm run local -- up --stack ${o.stack}${[...o.stackConfig, ...v.config].map((c) => ` --config ${c}`).join("")}`);
        const target = await s.stack.up(v.config);
        await assertDataVolumeWritable(target.container);
        return target;
    };
    const defaults = stackKnobDefaults(o);
    const variants = knobVariants(defaults);
    for (const v of variants) {
        const stackTarget = await upVariant(v);
        const targets = [stackTarget, s.baselineTarget];
        if (v !== variants[0]) blobPaths = await deps.pushProbe(s.client, s.probe, targets);
        const applied = await stackAppliedSettings(stackTarget.container);
        settings[v.name] = { configOverrides: [...o.stackConfig, ...v.config], applied };
        deps.log(`  running with bcrypt cost ${applied.bcryptCosts.join("/")}, blob descriptor cache ${applied.blobDescriptorCache ? "on" : "off"}, HTTP/2 ${applied.http2 ? "on" : "off"}, log ${applied.logLevel}, GOGC ${applied.goGc}, GOMEMLIMIT ${applied.goMemLimit}`);
        const cap = await measureCapacity(targets, blobPaths, { runs: o.loadRuns, seconds: o.loadSeconds, connections: o.connections, warmupSeconds: 1 }, s.workDir, deps.log);
        const pp = await measurePushPull(s.client, layered, "bench/layered", targets, o.pushPullRuns, deps.log);
        figures[`${v.name}.authCapacityGetV2`] = capacityFigure("getV2", cap, o.connections, o.loadSeconds);
        figures[`${v.name}.authCapacityBlobHead`] = capacityFigure("blobHead", cap, o.connections, o.loadSeconds);
        for (const [k, f] of Object.entries(pushPullFigures("LayeredImage", `a ${layered.layers}-layer image (${o.layerKiB} KiB of random data per layer)`, { layers: layered.layers, bytesPerLayer: layered.bytesPerLayer }, pp))) {
            figures[`${v.name}.${k}`] = f;
        }
    }
    const defaultMb = Number(stackSetting("memoryLimitMb", o.stack, o.stackConfig));
    const memVariants = memoryVariants(defaultMb, defaults);
    for (const v of memVariants) {
        const stackTarget = await upVariant(v);
        const memory = (await runOk("docker", ["inspect", "--format", "{{.HostConfig.Memory}}", stackTarget.container])).stdout.trim();
        settings[v.name] = { configOverrides: [...o.stackConfig, ...v.config], applied: { ...(await stackAppliedSettings(stackTarget.container)), memoryBytes: Number(memory) } };
        const pulls = await measurePulls(s.client, single, "bench/single", [stackTarget, s.baselineTarget], o.pushPullRuns, deps.log);
        figures[`${v.name}.pullSingleLayerImage`] = pullFigure(`a 1-layer image (${o.bigMiB} MiB of random data)`, { layers: 1, bytesPerLayer: single.bytesPerLayer }, pulls);
    }
    return {
        title: "private-registry benchmark: bcrypt cost and knobs of the stack",
        mode: "knobs",
        date: new Date().toISOString(),
        command: deps.commandLine,
        durationSeconds: 0,
        machine,
        versions: vers,
        setup: {
            stack: { stack: o.stack, defaults, variants: settings },
            baseline: { host: s.baselineTarget.host, bcryptCost: s.baselineBcryptCost },
            load: { connections: o.connections, runs: o.loadRuns, secondsPerRun: o.loadSeconds, getTool: "wrk", headTool: "ab" },
            pushPullRuns: o.pushPullRuns,
            variants,
            memoryVariants: memVariants,
        },
        figures,
        observations: {},
    };
}

export function renderKnobsMarkdown(r: Results): string {
    const L: string[] = [];
    const m = r.machine;
    const v = r.versions;
    const load = (r.setup as { load: { connections: number; runs: number; secondsPerRun: number } }).load;
    L.push("# Benchmark: bcrypt cost and knobs of the stack", "");
    L.push(`Produced by \`${r.command}\` on ${r.date} (${Math.round(r.durationSeconds / 6) / 10} min). Raw runs: [knobs.json](knobs.json). The main figures, with the stack's defaults, are in [RESULTS.md](RESULTS.md).`, "");
    L.push(`- **Machine:** ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM; kernel ${m.kernel}. Load average at start ${m.loadAverageAtStart.join(" / ")}${m.loadAverageAtEnd ? `, at end ${m.loadAverageAtEnd.join(" / ")}` : ""}.`);
    L.push(`- **Versions:** ${v.registryBinary} (\`${v.registryImage}\`) for both; Docker ${v.dockerServer}; ${v.wrk}; ${v.ab}.`);
    L.push(`- **Method:** each variant is an \`up\` of the stack, first at its defaults, then with one setting changed (the harness replaces the container), then, next to the same baseline (\`htpasswd -Bbn\`, cost 5) in the same window: request capacity at ${load.connections} connections (${load.runs} run(s) × ${load.secondsPerRun} s; GET with wrk, HEAD with ab) and the layered image's push and pull (${(r.setup as { pushPullRuns: number }).pushPullRuns} runs, medians).`);
    L.push("");
    L.push(`| Variant | GET /v2/ auth req/s | GET auth ÷ unauth | GET CPU-implied ratio | HEAD blob auth req/s | HEAD auth ÷ unauth | HEAD CPU-implied ratio | push stack ÷ baseline | pull stack ÷ baseline | Targets (≥ ${capacityTarget}; ≤ ${timeTarget}) |`);
    L.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    const variants = (r.setup as { variants: KnobVariant[] }).variants;
    for (const kv of variants) {
        const g = r.figures[`${kv.name}.authCapacityGetV2`] as CapacityFigure;
        const h = r.figures[`${kv.name}.authCapacityBlobHead`] as CapacityFigure;
        const push = r.figures[`${kv.name}.pushLayeredImage`] as TimeFigure;
        const pull = r.figures[`${kv.name}.pullLayeredImage`] as TimeFigure;
        if (!g || !h || !push || !pull) continue;
        const met = g.target.met && h.target.met && push.target.met && pull.target.met;
        const cpu = (f: CapacityFigure) => f.stack.registryCpuMsPerRequest ? `${f.stack.registryCpuMsPerRequest.cpuImpliedRatio} (${f.stack.registryCpuMsPerRequest.authenticated.median} / ${f.stack.registryCpuMsPerRequest.unauthenticated.median} ms)` : "—";
        L.push(`| ${kv.name} | ${g.stack.authenticated.median} | ${g.stack.ratio} | ${cpu(g)} | ${h.stack.authenticated.median} | ${h.stack.ratio} | ${cpu(h)} | ${push.ratio} (${push.stack.median} s / ${push.baseline.median} s) | ${pull.ratio} (${pull.stack.median} s / ${pull.baseline.median} s) | ${met ? "all met" : "not all met"} |`);
    }
    L.push("");
    L.push("Baseline in the same windows (authenticated ÷ unauthenticated, GET / HEAD): " + variants.map((kv) => {
        const g = r.figures[`${kv.name}.authCapacityGetV2`] as CapacityFigure | undefined;
        const h = r.figures[`${kv.name}.authCapacityBlobHead`] as CapacityFigure | undefined;
        return g && h ? `${kv.name}: ${g.baseline.ratio} / ${h.baseline.ratio}` : "";
    }).filter(Boolean).join("; ") + ".");
    L.push("");
    const mem = (r.setup as { memoryVariants?: KnobVariant[] }).memoryVariants ?? [];
    if (mem.length) {
        L.push(`Pull of the 1-layer image (${Math.round(((r.figures[`${mem[0].name}.pullSingleLayerImage`] as TimeFigure | undefined)?.image.bytesPerLayer ?? 0) / 2 ** 20)} MiB) under the container's memory limit (other settings at their defaults; pushed once, then pulled with the local image removed each time):`, "");
        L.push("| Variant | pull stack s | pull baseline s | stack ÷ baseline | registry CPU stack s | registry CPU baseline s |", "| --- | ---: | ---: | ---: | ---: | ---: |");
        for (const kv of mem) {
            const f = r.figures[`${kv.name}.pullSingleLayerImage`] as TimeFigure | undefined;
            if (!f) continue;
            L.push(`| ${kv.name} | ${f.stack.median} | ${f.baseline.median} | ${f.ratio} | ${f.registryCpuSeconds?.stack.median ?? "—"} | ${f.registryCpuSeconds?.baseline.median ?? "—"} |`);
        }
        L.push("");
    }
    L.push("CPU-implied ratio: the registry container's CPU per unauthenticated request ÷ per authenticated request (ms per request, authenticated / unauthenticated, in brackets), from its cgroup; the capacity ratio a CPU-bound registry shows, and much less moved by other work on the machine than requests/s.");
    L.push("");
    return L.join("\n");
}
