import { KindResults } from "../../bench/capacity";
import { dockerGetStatuses } from "../../bench/observations";
import { parseOptions } from "../../bench/options";
import { PushPullResults } from "../../bench/pushPull";
import {
    addCpuStretch, bigPullFigures, CpuPhase, PushFigure, renderReplicatedMarkdown, replicaCapacityFigure, ReplicatedResults, transferRuns,
} from "../../bench/replicatedReport";
import { memstoreMiB } from "../../bench/replicatedRun";
import { capacityFigure, figureNumbers, nonPositiveFigures, pushPullFigures } from "../../bench/report";
import { scopeOf } from "../../bench/target";

const image = { layers: 1, bytesPerLayer: 2 ** 30 };

function results(daemon: { stack: number[]; baseline: number[] }): PushPullResults {
    return {
        push: { stack: [40, 44, 42], baseline: [48, 46, 52] },
        pull: { stack: [12, 13, 11], baseline: [12, 12, 13] },
        pushRegistryCpuSeconds: { stack: [8, 9, 9], baseline: [9, 9, 10] },
        pullRegistryCpuSeconds: { stack: [1, 1, 1], baseline: [1, 1, 1] },
        pushDaemonCpuSeconds: daemon,
        pullDaemonCpuSeconds: { stack: [14, 15, 13], baseline: [14, 14, 15] },
    };
}

describe("bench push/pull figures", () => {
    it("takes the client's speed out: equal wall time per daemon CPU second gives a cross-check of 1 whatever the wall-time ratio", () => {
        // Wall time = 1.05 × daemon CPU on both sides; the stack happened to get the faster CPU.
        const f = pushPullFigures("SingleLayerImage", "x", image, results({ stack: [40, 44, 42].map((w) => w / 1.05), baseline: [48, 46, 52].map((w) => w / 1.05) }));
        expect(f.pushSingleLayerImage.ratio).toBeCloseTo(42 / 48, 3);
        expect(f.pushSingleLayerImage.wallPerDaemonCpuSecond).toEqual({ stack: 1.05, baseline: 1.05, ratio: 1 });
    });

    it("shows a registry that keeps the client waiting: more wall time per daemon CPU second", () => {
        const f = pushPullFigures("SingleLayerImage", "x", image, results({ stack: [20, 22, 21], baseline: [48, 46, 52] }));
        expect(f.pushSingleLayerImage.wallPerDaemonCpuSecond!.ratio).toBeCloseTo(2, 1);
    });

    it("leaves the CPU rows out when a run read zero or could not be read, instead of dividing by it", () => {
        const zero = pushPullFigures("SingleLayerImage", "x", image, results({ stack: [40, 0, 42], baseline: [48, 46, 52] }));
        expect(zero.pushSingleLayerImage.dockerDaemonCpuSeconds).toBeUndefined();
        expect(zero.pushSingleLayerImage.wallPerDaemonCpuSecond).toBeUndefined();
        expect(zero.pushSingleLayerImage.registryCpuSeconds).toBeDefined();
        const unread = pushPullFigures("SingleLayerImage", "x", image, results({ stack: [40, NaN, 42], baseline: [48, 46, 52] }));
        expect(unread.pushSingleLayerImage.wallPerDaemonCpuSecond).toBeUndefined();
        expect(unread.pullSingleLayerImage.wallPerDaemonCpuSecond).toBeDefined();
    });
});

describe("bench --replicated options", () => {
    it("runs the replicated stack with a 1 GiB layer, 3 pulls each way and 5 load runs by default", () => {
        const o = parseOptions(["--replicated"]);
        expect(o).toMatchObject({ replicated: true, knobs: false, smoke: false, stack: "replicated", bigMiB: 1024, pushPullRuns: 3, loadRuns: 5, loadSeconds: 2 });
        expect(parseOptions([]).stack).toBe("dev");
        expect(parseOptions([]).replicated).toBe(false);
    });

    it("shrinks everything for the smoke run, in either order of the flags, and lets explicit sizes win", () => {
        for (const argv of [["--replicated", "--smoke"], ["--smoke", "--replicated"]]) {
            expect(parseOptions(argv)).toMatchObject({ replicated: true, smoke: true, bigMiB: 16, pushPullRuns: 1, loadRuns: 1, loadSeconds: 2 });
        }
        expect(parseOptions(["--replicated", "--smoke", "--big-mib", "64", "--runs", "2"])).toMatchObject({ bigMiB: 64, pushPullRuns: 2 });
        expect(parseOptions(["--replicated", "--stack", "rep2", "--stack-config", "port=5123"])).toMatchObject({ stack: "rep2", stackConfig: ["port=5123"] });
    });

    it("refuses --knobs with --replicated (or --token): they are separate runs", () => {
        expect(() => parseOptions(["--knobs", "--replicated"])).toThrow(/separate runs/);
        expect(() => parseOptions(["--token", "--replicated"])).toThrow(/separate runs/);
    });

    it("gives the OSD's memstore room for the layer's upload and its copy", () => {
        expect(memstoreMiB(1024)).toBe(4096);
        expect(memstoreMiB(16)).toBe(1072);
    });
});

function load(rps: number[], cpuMs: number[]): KindResults["authenticated"] {
    return rps.map((r, i) => ({ tool: "wrk", requestsPerSecond: r, requests: r * 2, seconds: 2, non2xx: 0, errors: 0, registryCpuMsPerRequest: cpuMs[i] }));
}

function kind(auth: number[], unauth: number[]): KindResults {
    return { authenticated: load(auth, auth.map(() => 2)), unauthenticated: load(unauth, unauth.map(() => 1)) };
}

const blob = 1024 * 2 ** 20;

function replicatedFixture(): ReplicatedResults {
    const pushFigure: PushFigure = { description: "push", unit: "s", blobBytes: blob, ...transferRuns([32], blob) };
    let phase: CpuPhase = { phase: "requests, 2 replicas", wallSeconds: 0, cores: 2, cpuSeconds: {}, loadAverageAtStart: [3.5, 3, 2.8] };
    phase = addCpuStretch(phase, 10, { replicas: 100, "front (HAProxy)": 5, machine: 1000 }, { replicas: 112, "front (HAProxy)": 6, machine: 1019 });
    return {
        title: "t", mode: "full", date: "2026-12-02T00:00:00.000Z", command: "npm run bench -- --replicated", durationSeconds: 540,
        machine: { cpuModel: "AMD EPYC", cores: 2, memoryGiB: 23.5, kernel: "6.1", os: "Debian", loadAverageAtStart: [1, 2, 3], loadAverageAtEnd: [2, 2, 3] },
        versions: { node: "v20", dockerClient: "28", dockerServer: "20.10", registryBinary: "registry 2.8.2", registryImage: "registry:2.8.3", registryImageId: "sha256:x", wrk: "wrk 4.1", ab: "ab 2.3", openssl: "3.0" },
        setup: {
            stack: { stack: "replicated", configOverrides: ["s3Bucket=bench-replicated"], host: "127.0.0.1:5000", replicaContainers: {}, bcryptCost: 4, logLevel: "warn", goGc: "400", s3ChunkSizeMb: 10 },
            rgw: { endpoint: "http://10.253.0.2:17480", namespace: "benchrep-ns", memstoreMiB: 4096, startSeconds: 7.5 },
            load: { connections: 4, runs: 3, secondsPerRun: 2 },
            pullRuns: 3,
            bigMiB: 1024,
        },
        figures: {
            authCapacityGetV2: replicaCapacityFigure("getV2", { 1: kind([700, 720, 710], [1100, 1150, 1120]), 2: kind([600, 640, 620], [900, 950, 910]) }, 4, 2),
            authCapacityBlobHead: replicaCapacityFigure("blobHead", { 1: kind([650, 660, 655], [1000, 1010, 990]), 2: kind([500, 520, 510], [800, 820, 810]) }, 4, 2),
            pushBigLayer: pushFigure,
            ...bigPullFigures(blob, { curl: [8, 9, 10], dockerPull: [20, 22, 21] }, { curl: [4, 5, 4.5], dockerPull: [16, 17, 18] }, { status: 307, locationOrigin: "http://10.253.0.2:17480" }),
        },
        observations: { cpuByPhase: [phase], dockerBlobGetStatuses: { "redirect off": { 200: 3 }, "redirect on": { 307: 3 } }, notes: ["a note"] },
    };
}

describe("bench --replicated figures and report", () => {
    it("puts 2 replicas over 1 of the authenticated medians, and MiB/s and on ÷ off into the pull figures", () => {
        const r = replicatedFixture();
        const get = r.figures.authCapacityGetV2 as ReturnType<typeof replicaCapacityFigure>;
        expect(get.byReplicas["1"].authenticated.median).toBe(710);
        expect(get.scaling).toEqual({ replicas: 2, authenticated: 0.873, unauthenticated: 0.813 });
        const on = r.figures.pullBigLayerRedirectOn as ReturnType<typeof bigPullFigures>["pullBigLayerRedirectOn"];
        expect(on.curl.mibPerSecond.median).toBe(227.6);
        expect(on.toRedirectOff).toEqual({ curl: 0.5, dockerPull: 0.81 });
        expect((r.figures.pullBigLayerRedirectOff as typeof on).toRedirectOff).toBeUndefined();
    });

    it("adds up a phase's CPU over its stretches and leaves out a party unreadable at either end", () => {
        let p: CpuPhase = { phase: "p", wallSeconds: 0, cores: 2, cpuSeconds: {} };
        p = addCpuStretch(p, 2, { a: 1, b: undefined, c: 5 }, { a: 2.5, b: 3, c: undefined });
        p = addCpuStretch(p, 3, { a: 10, b: 1 }, { a: 10.5, b: 2 });
        expect(p).toEqual({ phase: "p", wallSeconds: 5, cores: 2, cpuSeconds: { a: 2, b: 1 } });
    });

    it("renders the 2 ÷ 1 table, the core count warning, the pulls both ways and where the CPU went", () => {
        const md = renderReplicatedMarkdown(replicatedFixture());
        expect(md).toContain("**2 cores**");
        expect(md).toContain("Everything here runs on the same 2 cores");
        expect(md).toContain("| GET /v2/ authenticated, req/s (median) | 710 | 620 | **0.873** |");
        expect(md).toContain("| HEAD blob unauthenticated, req/s (median) | 1000 | 810 | 0.81 |");
        expect(md).toContain("| GET /v2/ replicas' CPU per request (all replicas together), authenticated / unauthenticated, ms | 2 / 1 | 2 / 1 | 1 / 1 |");
        expect(md).toContain("## One 1 GiB layer (1024 MiB of random data)");
        expect(md).toContain("**32 s** (32 MiB/s of blob)");
        expect(md).toContain("| `curl` GET of the blob (sha256 checked), s (median) | 9 | 4.5 | 0.5 |");
        expect(md).toContain("| `docker pull` (image removed locally first), s (median) | 21 | 17 | 0.81 |");
        expect(md).toContain("answered 307 with a Location on http://10.253.0.2:17480");
        expect(md).toContain("answered 3 × 307 with redirect on and 3 × 200 with it off");
        // 12 s of replica CPU in 10 s on 2 cores is 60 %; the machine was 95 % busy; the parties 65 %.
        expect(md).toContain("| requests, 2 replicas | 3.5 | 10 | 95 % | 65 % | 12 (60 %) | 1 (5 %) | — | — | — | — | — | — |");
        expect(md).toContain("## Raw runs");
        expect(md).toContain("| pullBigLayerRedirectOn curl s | 4, 5, 4.5 |");
        expect(md).toContain("- a note");
    });

    it("passes the smoke check when every figure is positive, and catches a zero, a NaN or a missing ratio", () => {
        const good = replicatedFixture();
        expect(figureNumbers(good).length).toBeGreaterThan(50);
        expect(nonPositiveFigures(good)).toEqual([]);

        const zero = replicatedFixture();
        (zero.figures.pullBigLayerRedirectOn as ReturnType<typeof bigPullFigures>["pullBigLayerRedirectOn"]).curl.seconds.runs[1] = 0;
        expect(nonPositiveFigures(zero)).toEqual([{ path: "pullBigLayerRedirectOn.curl.seconds.runs[1]", value: 0 }]);

        const noBytes = replicatedFixture();
        (noBytes.figures.pushBigLayer as PushFigure).blobBytes = 0;
        const bad = bigPullFigures(0, { curl: [1], dockerPull: [1] }, { curl: [1], dockerPull: [1] }, { status: 307, locationOrigin: "x" });
        Object.assign(noBytes.figures, bad);
        expect(nonPositiveFigures(noBytes).map((b) => b.path)).toEqual(expect.arrayContaining([
            "pushBigLayer.blobBytes", "pullBigLayerRedirectOff.blobBytes", "pullBigLayerRedirectOn.curl.mibPerSecond.median",
        ]));

        const noRuns = replicatedFixture();
        noRuns.figures.authCapacityGetV2 = replicaCapacityFigure("getV2", { 1: kind([700], [1100]), 2: kind([], []) }, 4, 2);
        expect(nonPositiveFigures(noRuns).map((b) => b.path)).toEqual(expect.arrayContaining(["authCapacityGetV2.scaling.authenticated", "authCapacityGetV2.byReplicas.2.authenticated.median"]));
    });

    it("tells a redirected blob GET of the docker daemon from a streamed one, and ignores curl's and other paths", () => {
        const blobPath = "/v2/bench/big/blobs/sha256:ab";
        const log = [
            `172.18.0.4 - - [02/Dec/2026:01:48:29 +0000] "GET ${blobPath} HTTP/1.1" 307 0 "" "docker/20.10.24 go/go1.19.8 git-commit/5d6db84 kernel/6.1 os/linux arch/amd64 UpstreamClient(Docker-Client/28.2.2 \\(linux\\))"`,
            `172.18.0.4 - - [02/Dec/2026:01:48:30 +0000] "GET ${blobPath} HTTP/1.1" 200 16777216 "" "docker/20.10.24 go/go1.19.8"`,
            `172.18.0.4 - - [02/Dec/2026:01:48:31 +0000] "GET ${blobPath} HTTP/1.1" 200 16777216 "" "curl/7.88.1"`,
            `172.18.0.4 - - [02/Dec/2026:01:48:32 +0000] "GET /v2/bench/big/manifests/latest HTTP/1.1" 200 529 "" "docker/20.10.24"`,
        ].join("\n");
        expect(dockerGetStatuses(log, blobPath)).toEqual({ 307: 1, 200: 1 });
    });
});

describe("bench --token", () => {
    const load = (rps: number[]) => rps.map((requestsPerSecond) => ({ tool: "wrk", requestsPerSecond, requests: requestsPerSecond * 2, seconds: 2, non2xx: 0, errors: 0 }));
    const kind = (a: number[], u: number[]): KindResults => ({ authenticated: load(a), unauthenticated: load(u) });
    const cap = {
        stack: { getV2: kind([80, 78], [100, 100]), blobHead: kind([70, 74], [100, 100]) },
        baseline: { getV2: kind([40, 40], [100, 100]), blobHead: kind([30, 30], [100, 100]) },
    };

    it("runs the dev stack on token authentication with a rule that grants its users everything", () => {
        const o = parseOptions(["--token", "--smoke"]);
        expect(o).toMatchObject({ token: true, stack: "dev", smoke: true });
        expect(o.stackConfig[0]).toBe("auth=token");
        expect(JSON.parse(o.stackConfig[1].replace(/^accessRules=/, ""))).toEqual({ rules: [{ users: ["admin", "ci"], repositories: ["**"], actions: ["*"] }] });
    });

    it("holds bearer tokens to 0.75 and basic auth to 0.6, naming the credentials", () => {
        expect(capacityFigure("getV2", cap, 4, 2, true).target).toEqual({ what: "stack authenticated ÷ unauthenticated ≥ 0.75", met: true });
        expect(capacityFigure("blobHead", cap, 4, 2, true).target).toEqual({ what: "stack authenticated ÷ unauthenticated ≥ 0.75", met: false });
        expect(capacityFigure("blobHead", cap, 4, 2).target).toEqual({ what: "stack authenticated ÷ unauthenticated ≥ 0.6", met: true });
        expect(capacityFigure("getV2", cap, 4, 2, true).description).toMatch(/bearer token from its token service/);
    });

    it("asks the token service for the pull scope of the repository a path names, and none for /v2/", () => {
        expect(scopeOf("/v2/bench/probe/blobs/sha256:abc")).toEqual(["repository:bench/probe:pull"]);
        expect(scopeOf("/v2/a/manifests/latest")).toEqual(["repository:a:pull"]);
        expect(scopeOf("/v2/")).toEqual([]);
    });
});
