/**
 * replicated.json and REPLICATED.md (`npm run bench -- --replicated`): requests/s through the load
 * balancer by replica count, a big layer's push, and its pull with s3Redirect off and on, with
 * where the machine's CPU went in each phase.
 */
import { KindResults, RequestKind, requestKinds } from "./capacity";
import { CapacitySide, capacitySide, notesSection, ResultsOf } from "./report";
import { ratio, round, Series, series } from "./stats";

export interface ReplicaCapacityFigure {
    description: string;
    unit: "requests/s";
    tool: string;
    connections: number;
    secondsPerRun: number;
    /** Replica count ("1", "2") → the stack measured through the front with that many replicas. */
    byReplicas: Record<string, CapacitySide>;
    /** Most replicas ÷ one replica, of the authenticated and of the unauthenticated medians. */
    scaling: { replicas: number; authenticated: number; unauthenticated: number };
}

export interface TransferRuns {
    seconds: Series;
    /** The blob's bytes ÷ each run's seconds. */
    mibPerSecond: Series;
}

export interface PushFigure {
    description: string;
    unit: "s";
    blobBytes: number;
    seconds: Series;
    mibPerSecond: Series;
}

export interface BigPullFigure {
    description: string;
    unit: "s";
    blobBytes: number;
    /** curl GET of the layer blob through the front into a file in RAM, its sha256 checked against the digest afterwards. */
    curl: TransferRuns;
    /** docker pull with the image removed locally before each run (download, decompress, unpack). */
    dockerPull: TransferRuns;
    /** With redirect on: the blob GET's answer, and the origin its Location points at. */
    redirectAnswer?: { status: number; locationOrigin: string };
    /** With redirect on: on ÷ off, of the medians. */
    toRedirectOff?: { curl: number; dockerPull: number };
}

export type ReplicatedFigure = ReplicaCapacityFigure | PushFigure | BigPullFigure;

export type ReplicatedResults = ResultsOf<ReplicatedFigure>;

/** CPU seconds each party used in a phase (only the timed work: pulls without the removals before them). */
export interface CpuPhase {
    phase: string;
    wallSeconds: number;
    cores: number;
    cpuSeconds: Record<string, number>;
    /** 1, 5 and 15 minute load averages when the phase began: others' work on the machine shows here. */
    loadAverageAtStart?: number[];
}

/** The parties whose CPU is read, in the order the report shows them. */
export const cpuPartyNames = [
    "replicas", "front (HAProxy)", "Redis", "Ceph (mon, OSD, RGW)", "docker-proxy", "Docker daemon", "clients (wrk, ab, curl)", "this run",
] as const;

/** The key of the whole machine's busy CPU seconds in CpuPhase.cpuSeconds (not a party: it includes them). */
export const machineParty = "machine";

/** Adds one measured stretch (snapshots before and after) to a phase's totals; a party unreadable at either end is left out. */
export function addCpuStretch(
    phase: CpuPhase, wallSeconds: number, before: Record<string, number | undefined>, after: Record<string, number | undefined>,
): CpuPhase {
    const cpuSeconds = { ...phase.cpuSeconds };
    for (const [name, b] of Object.entries(before)) {
        const a = after[name];
        if (a === undefined || b === undefined || !Number.isFinite(a - b)) continue;
        cpuSeconds[name] = round((cpuSeconds[name] ?? 0) + Math.max(0, a - b), 3);
    }
    return { ...phase, wallSeconds: round(phase.wallSeconds + wallSeconds, 3), cpuSeconds };
}

export function replicaCapacityFigure(kind: RequestKind, byReplicas: Record<string, KindResults>, connections: number, seconds: number): ReplicaCapacityFigure {
    const sides = Object.fromEntries(Object.entries(byReplicas).map(([n, k]) => [n, capacitySide(k)]));
    const counts = Object.keys(sides).map(Number).sort((a, b) => a - b);
    const one = sides[String(counts[0])];
    const most = sides[String(counts[counts.length - 1])];
    return {
        description: kind === "getV2"
            ? "GET /v2/ through the load balancer at a fixed number of keep-alive connections, with and without basic-auth credentials (unauthenticated requests get 401)"
            : "HEAD of a pushed layer blob, /v2/<repo>/blobs/<digest>, through the load balancer, with and without basic-auth credentials",
        unit: "requests/s",
        tool: requestKinds.find((k) => k.kind === kind)!.tool,
        connections,
        secondsPerRun: seconds,
        byReplicas: sides,
        scaling: {
            replicas: counts[counts.length - 1],
            authenticated: ratio(most.authenticated.median, one.authenticated.median),
            unauthenticated: ratio(most.unauthenticated.median, one.unauthenticated.median),
        },
    };
}

export function transferRuns(seconds: number[], bytes: number): TransferRuns {
    return { seconds: series(seconds), mibPerSecond: series(seconds.map((s) => bytes / 2 ** 20 / s), 1) };
}

/** Pull figures with redirect off and on; the second carries on ÷ off. */
export function bigPullFigures(
    bytes: number, off: { curl: number[]; dockerPull: number[] }, on: { curl: number[]; dockerPull: number[] },
    redirectAnswer: { status: number; locationOrigin: string },
): { pullBigLayerRedirectOff: BigPullFigure; pullBigLayerRedirectOn: BigPullFigure } {
    const offFigure: BigPullFigure = {
        description: "s3Redirect off (the stack file's default): every byte streamed from the bucket through a replica, the front and docker-proxy",
        unit: "s",
        blobBytes: bytes,
        curl: transferRuns(off.curl, bytes),
        dockerPull: transferRuns(off.dockerPull, bytes),
    };
    const onFigure: BigPullFigure = {
        description: "s3Redirect on: the blob GET answers 307 to a presigned URL of the RGW, which the client fetches directly",
        unit: "s",
        blobBytes: bytes,
        curl: transferRuns(on.curl, bytes),
        dockerPull: transferRuns(on.dockerPull, bytes),
        redirectAnswer,
    };
    onFigure.toRedirectOff = {
        curl: ratio(onFigure.curl.seconds.median, offFigure.curl.seconds.median),
        dockerPull: ratio(onFigure.dockerPull.seconds.median, offFigure.dockerPull.seconds.median),
    };
    return { pullBigLayerRedirectOff: offFigure, pullBigLayerRedirectOn: onFigure };
}

function size(bytes: number): string {
    return bytes >= 2 ** 30 ? `${round(bytes / 2 ** 30, 2)} GiB` : `${round(bytes / 2 ** 20, 1)} MiB`;
}

/** What the renderer reads of the run's setup. */
export interface ReplicatedSetup {
    stack: {
        stack: string;
        configOverrides: string[];
        host: string;
        replicaContainers: Record<string, string[]>;
        bcryptCost: number;
        logLevel: string;
        goGc: string;
        s3ChunkSizeMb?: number;
    };
    rgw: { endpoint: string; namespace: string; memstoreMiB: number; startSeconds: number };
    load: { connections: number; runs: number; secondsPerRun: number };
    pullRuns: number;
    bigMiB: number;
}

export function renderReplicatedMarkdown(r: ReplicatedResults): string {
    const L: string[] = [];
    const m = r.machine;
    const v = r.versions as ReplicatedResults["versions"] & Record<string, string>;
    const s = r.setup as unknown as ReplicatedSetup;
    const f = r.figures;
    const get = f.authCapacityGetV2 as ReplicaCapacityFigure;
    const head = f.authCapacityBlobHead as ReplicaCapacityFigure;
    const push = f.pushBigLayer as PushFigure;
    const off = f.pullBigLayerRedirectOff as BigPullFigure;
    const on = f.pullBigLayerRedirectOn as BigPullFigure;
    const counts = Object.keys(get.byReplicas).sort((a, b) => Number(a) - Number(b));
    const [one, most] = [counts[0], counts[counts.length - 1]];
    const plural = (n: string) => `${n} replica${n === "1" ? "" : "s"}`;

    L.push("# Benchmark: the replicated form (replicas on S3 behind the load balancer)", "");
    L.push(`Produced by \`${r.command}\` on ${r.date} (${r.mode} run, ${round(r.durationSeconds / 60, 1)} min including set-up and clean-up). Raw runs: [replicated.json](replicated.json). The single registry against the seed guide's: [RESULTS.md](RESULTS.md).`, "");
    L.push(`- **Machine:** ${m.cpuModel}, **${m.cores} cores**, ${m.memoryGiB} GiB RAM; kernel ${m.kernel}; ${m.os}. Load average at start ${m.loadAverageAtStart.join(" / ")}${m.loadAverageAtEnd ? `, at end ${m.loadAverageAtEnd.join(" / ")}` : ""} (1/5/15 min).`);
    L.push(`- **Versions:** ${v.registryBinary} (\`${v.registryImage}\`); ${v.haproxy ?? "HAProxy"}; ${v.redis ?? "Redis"}; ${v.ceph ?? "Ceph"}; Docker ${v.dockerServer} (client ${v.dockerClient}); ${v.wrk}; ${v.ab}; ${v.curl ?? "curl"}.`);
    L.push(`- **Stack:** \`${s.stack.stack}\` (Pulumi.${s.stack.stack}.yaml) via the local apply harness, with ${s.stack.configOverrides.map((c) => `\`${c}\``).join(", ")}, and \`replicas\` and \`s3Redirect\` set per phase: bcrypt cost ${s.stack.bcryptCost}, log level ${s.stack.logLevel}, GOGC ${s.stack.goGc}${s.stack.s3ChunkSizeMb ? `, S3 chunk size ${s.stack.s3ChunkSizeMb} MiB` : ""}; the front (HAProxy, TCP pass-through, least connections) at ${s.stack.host}.`);
    L.push(`- **Object storage:** a throwaway single-node Ceph (one monitor, one memstore OSD holding objects in RAM, up to ${s.rgw.memstoreMiB} MiB; the RADOS Gateway at ${s.rgw.endpoint}), started by tests/setup/ceph-rgw.sh in the network namespace \`${s.rgw.namespace}\` in ${round(s.rgw.startSeconds, 1)} s; the replicas reach it through the host. The stack made its RGW user and bucket.`);
    L.push(`- **Load:** ${s.load.connections} connections, ${s.load.runs} run(s) of ${s.load.secondsPerRun} s per figure and replica count, authenticated and unauthenticated back to back; GET with wrk, HEAD with ab -k -i. With ${most} replicas the front spreads the connections over them (least connections).`);
    L.push("");
    L.push(`**Read this first.** Everything here runs on the same ${m.cores} cores: the registry replicas, HAProxy, Redis, Ceph (monitor, OSD and gateway), the Docker daemon and its docker-proxy, and the load generator. A second replica on the same host adds no CPU, so the ${most}-replica figures show what replication costs and how the work is spread, not what replicas on ${most} hosts would serve. The table "Where the CPU went" says how busy the cores were and who used them.`);
    L.push("");

    L.push("## Requests through the load balancer", "");
    L.push(`| Figure | ${plural(one)} | ${plural(most)} | ${most} ÷ ${one} |`);
    L.push("| --- | ---: | ---: | ---: |");
    for (const [name, fig] of [["GET /v2/", get], ["HEAD blob", head]] as const) {
        const a = fig.byReplicas[one];
        const b = fig.byReplicas[most];
        L.push(`| ${name} authenticated, req/s (median) | ${a.authenticated.median} | ${b.authenticated.median} | **${fig.scaling.authenticated}** |`);
        L.push(`| ${name} unauthenticated, req/s (median) | ${a.unauthenticated.median} | ${b.unauthenticated.median} | ${fig.scaling.unauthenticated} |`);
        L.push(`| ${name}: authenticated ÷ unauthenticated (median of per-run pairs) | ${a.ratio} | ${b.ratio} | |`);
        const ca = a.registryCpuMsPerRequest;
        const cb = b.registryCpuMsPerRequest;
        if (ca && cb) L.push(`| ${name} replicas' CPU per request (all replicas together), authenticated / unauthenticated, ms | ${ca.authenticated.median} / ${ca.unauthenticated.median} | ${cb.authenticated.median} / ${cb.unauthenticated.median} | ${ratio(cb.authenticated.median, ca.authenticated.median)} / ${ratio(cb.unauthenticated.median, ca.unauthenticated.median)} |`);
    }
    L.push("");

    L.push(`## One ${size(push.blobBytes)} layer (${s.bigMiB} MiB of random data)`, "");
    L.push(`Pushed once with \`docker push\` through the front, ${plural(most)}: **${push.seconds.median} s** (${push.mibPerSecond.median} MiB/s of blob). Then pulled ${s.pullRuns} time(s) each way, with ${plural(most)}:`, "");
    L.push("| Pull | s3Redirect off: streamed through a replica | s3Redirect on: 307 to the RGW | on ÷ off |");
    L.push("| --- | ---: | ---: | ---: |");
    L.push(`| \`curl\` GET of the blob (sha256 checked), s (median) | ${off.curl.seconds.median} | ${on.curl.seconds.median} | ${on.toRedirectOff?.curl ?? ""} |`);
    L.push(`| … MiB/s (median) | ${off.curl.mibPerSecond.median} | ${on.curl.mibPerSecond.median} | |`);
    L.push(`| \`docker pull\` (image removed locally first), s (median) | ${off.dockerPull.seconds.median} | ${on.dockerPull.seconds.median} | ${on.toRedirectOff?.dockerPull ?? ""} |`);
    L.push(`| … MiB/s of blob (median) | ${off.dockerPull.mibPerSecond.median} | ${on.dockerPull.mibPerSecond.median} | |`);
    L.push("");
    if (on.redirectAnswer) {
        const statuses = r.observations.dockerBlobGetStatuses as Record<string, Record<string, number>> | undefined;
        const said = (mode: string) => Object.entries(statuses?.[mode] ?? {}).map(([code, n]) => `${n} × ${code}`).join(", ") || "—";
        L.push(`With redirect on, a GET of the blob through the front answered ${on.redirectAnswer.status} with a Location on ${on.redirectAnswer.locationOrigin} (the RGW), and \`curl -L\` followed it there (curl keeps the registry's credentials for the first host). The replicas' access logs show the docker daemon's GETs of the blob answered ${said("redirect on")} with redirect on and ${said("redirect off")} with it off. Every curl download hashed to the blob's digest.`);
        L.push("");
    }

    const phases = (r.observations.cpuByPhase as CpuPhase[] | undefined) ?? [];
    if (phases.length) {
        L.push("## Where the CPU went", "");
        L.push(`CPU seconds each party used during the timed work of each phase, from cgroups (containers) and /proc (processes), and in brackets its share of the ${m.cores} cores over that time (CPU seconds ÷ (wall seconds × ${m.cores})). "Machine busy" is the same share for everything on the machine (/proc/stat: these parties, containerd and its shims, the kernel's network work, and any other session's jobs); "parties" is the sum of the columns after it. The clients are this run's own children (wrk, ab, curl, which writes the blob to a file in RAM); "this run" is the benchmark's own process (it hashes each download after the timed part). The Docker daemon's share of a pull is decompressing and unpacking the layer; during the request phases it is the log driver taking the access log lines.`, "");
        L.push(`| Phase | load average at start | wall s | machine busy | parties | ${cpuPartyNames.join(" | ")} |`);
        L.push(`| --- | ---: | ---: | ---: | ---: | ${cpuPartyNames.map(() => "---:").join(" | ")} |`);
        const share = (p: CpuPhase, c: number) => `${Math.round((100 * c) / (p.wallSeconds * p.cores))} %`;
        for (const p of phases) {
            const parties = cpuPartyNames.reduce((sum, n) => sum + (p.cpuSeconds[n] ?? 0), 0);
            const cell = (n: string) => {
                const c = p.cpuSeconds[n];
                return c === undefined ? "—" : `${round(c, 1)} (${share(p, c)})`;
            };
            const machine = p.cpuSeconds[machineParty];
            L.push(`| ${p.phase} | ${p.loadAverageAtStart?.[0] ?? "—"} | ${round(p.wallSeconds, 1)} | ${machine === undefined ? "—" : share(p, machine)} | ${share(p, parties)} | ${cpuPartyNames.map(cell).join(" | ")} |`);
        }
        L.push("");
    }

    L.push("## Raw runs", "");
    L.push("| Figure | Runs |", "| --- | --- |");
    for (const [name, fig] of [["authCapacityGetV2", get], ["authCapacityBlobHead", head]] as const) {
        for (const n of counts) {
            const side = fig.byReplicas[n];
            L.push(`| ${name}, ${plural(n)}, authenticated req/s | ${side.authenticated.runs.join(", ")} |`);
            L.push(`| ${name}, ${plural(n)}, unauthenticated req/s | ${side.unauthenticated.runs.join(", ")} |`);
            const cpu = side.registryCpuMsPerRequest;
            if (cpu) L.push(`| ${name}, ${plural(n)}, replicas' CPU ms/request, authenticated; unauthenticated | ${cpu.authenticated.runs.join(", ")}; ${cpu.unauthenticated.runs.join(", ")} |`);
        }
    }
    L.push(`| pushBigLayer s | ${push.seconds.runs.join(", ")} |`);
    for (const [name, fig] of [["pullBigLayerRedirectOff", off], ["pullBigLayerRedirectOn", on]] as const) {
        L.push(`| ${name} curl s | ${fig.curl.seconds.runs.join(", ")} |`);
        L.push(`| ${name} docker pull s | ${fig.dockerPull.seconds.runs.join(", ")} |`);
    }
    L.push("");
    L.push(...notesSection(r.observations.notes as string[] | undefined));
    return L.join("\n");
}
