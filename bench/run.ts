/**
 * `npm run bench`: the stack (dev, via the local apply harness) against a registry started as the
 * seed guide does, on this machine in one run. See options.ts for the command line and
 * RESULTS.md for what comes out. Everything it creates is removed at the end, on failure too.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { startBaseline } from "./baseline";
import { measureCapacity } from "./capacity";
import { Cleanup } from "./cleanup";
import { DockerClient } from "./dockerClient";
import { nowMs, run } from "./exec";
import { loadTestImage, TestImage } from "./images";
import { renderKnobsMarkdown, runKnobs } from "./knobsRun";
import { renderReplicatedMarkdown, ReplicatedResults } from "./replicatedReport";
import { runReplicated } from "./replicatedRun";
import { loadAverage, machineInfo, versions } from "./machine";
import { assertDataVolumeWritable } from "./dataVolume";
import { stackAppliedSettings, tokenServiceContainer, tokenServiceHtpasswd } from "./applied";
import { dockerClientHttpVersions } from "./observations";
import { BenchOptions, defaultOutDir, parseOptions } from "./options";
import { imageRef, measurePushPull } from "./pushPull";
import { capacityFigure, figureNumbers, nonPositiveFigures, pushPullFigures, renderMarkdown, Results, TokenEndpointFigure, UpFigure, writeResults } from "./report";
import { HarnessStack, removeNewMaintenanceScriptAtCleanup, UpTiming } from "./stack";
import { expectedStack, stackSetting } from "./stackSettings";
import { round, series } from "./stats";
import { basicAuth, firstLayerDigest, RegistryTarget } from "./target";
import { containerCpuNs, containerId } from "./cpu";
import { runWrk } from "./wrk";

const started = nowMs();
function log(msg: string): void {
    const s = ((nowMs() - started) / 1000).toFixed(1).padStart(6);
    process.stdout.write(`[bench ${s}s] ${msg}\n`);
}

export function portFree(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.once("error", () => resolve(false));
        srv.listen(port, "0.0.0.0", () => srv.close(() => resolve(true)));
    });
}

async function preflight(o: BenchOptions): Promise<void> {
    const missing: string[] = [];
    for (const [tool, args] of [["docker", ["info"]], ["wrk", ["-v"]], ["ab", ["-V"]], ["htpasswd", ["-h"]], ["openssl", ["version"]]] as const) {
        const r = await run(tool, [...args]).catch(() => undefined);
        if (!r || (tool === "docker" && r.code !== 0)) missing.push(tool === "docker" ? "a running Docker engine" : tool);
    }
    if (missing.length) throw new Error(`missing: ${missing.join(", ")} (bash tests/setup/prepare-machine.sh installs and starts them)`);
    if ((await run("docker", ["image", "inspect", o.image])).code !== 0) {
        throw new Error(`image ${o.image} is not local (bash tests/setup/prepare-machine.sh builds the stand-in)`);
    }
    if (!(await portFree(o.baselinePort))) throw new Error(`port ${o.baselinePort} (baseline) is in use; pass --baseline-port`);
}

export interface Session {
    workDir: string;
    client: DockerClient;
    stack: HarnessStack;
    stackTarget: RegistryTarget;
    baselineTarget: RegistryTarget;
    targets: RegistryTarget[];
    upTiming: UpTiming;
    harnessStartSeconds: number;
    baselineStartSeconds: number;
    baselineBcryptCost: number;
    probe: TestImage;
    blobPaths: Record<string, string>;
}

async function loadImages(o: BenchOptions, cleanup: Cleanup, withSingle: boolean): Promise<TestImage[]> {
    const tag = `bench-private-registry-${process.pid}`;
    const specs = [
        { tag: `${tag}/probe:latest`, layers: 1, bytesPerLayer: 64 * 1024 },
        { tag: `${tag}/layered:latest`, layers: o.layers, bytesPerLayer: o.layerKiB * 1024 },
        ...(withSingle ? [{ tag: `${tag}/single:latest`, layers: 1, bytesPerLayer: o.bigMiB * 2 ** 20 }] : []),
    ];
    for (const s of specs) {
        cleanup.add(`remove image ${s.tag}`, async () => {
            const id = (await run("docker", ["image", "inspect", "--format", "{{.Id}}", s.tag])).stdout.trim();
            await run("docker", ["rmi", "-f", id || s.tag]);
        });
    }
    const images = await Promise.all(specs.map((s) => loadTestImage(s)));
    // Later removals go by image ID: pulls re-create the images under registry tags only.
    for (const img of images) cleanup.add(`remove image ${img.id}`, async () => { await run("docker", ["rmi", "-f", img.id]); });
    return images;
}

/** Images, the stack, the baseline, the docker client; a blob pushed to each for the HEADs. */
export async function setUp(o: BenchOptions, cleanup: Cleanup, withSingle: boolean): Promise<{ session: Session; images: TestImage[] }> {
    await preflight(o);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-private-registry-"));
    cleanup.add(`remove ${workDir}`, () => fs.rmSync(workDir, { recursive: true, force: true }));

    const stack = new HarnessStack(o.stack, o.stackConfig);
    const expected = expectedStack(o.stack, o.stackConfig);
    if (await stack.outputs()) {
        // Only a stack the benchmark brings up itself: it empties the registry between runs.
        throw new Error(`stack ${o.stack} is already up, and the benchmark empties the registry between runs, which would delete its images. ` +
            `Bring it down first (npm run local -- down --stack ${o.stack}), or point the benchmark at another stack (--stack NAME --stack-config port=N ...)`);
    }
    if (!(await portFree(expected.port))) throw new Error(`port ${expected.port} (the ${o.stack} stack's) is in use by something else`);

    log(`loading test images (${o.layers} × ${o.layerKiB} KiB${withSingle ? `, 1 × ${o.bigMiB} MiB` : ""}, random data)`);
    const images = await loadImages(o, cleanup, withSingle);
    log(`  loaded in ${(Math.max(...images.map((i) => i.loadMs)) / 1000).toFixed(1)} s`);

    log(`up: npm run local -- up --stack ${o.stack}${o.stackConfig.map((c) => ` --config ${c}`).join("")}`);
    removeNewMaintenanceScriptAtCleanup(cleanup, expected.containerName);
    cleanup.add(`npm run local -- down --stack ${o.stack}`, async () => {
        log(`down: npm run local -- down --stack ${o.stack}`);
        await stack.down();
    });
    const { target: stackTarget, timing: upTiming } = await stack.upTimed(expected.port, expected.containerName, expected.token);
    log(`  first authenticated 200 after ${upTiming.firstAuthenticated200.toFixed(2)} s (up exited after ${upTiming.upExited.toFixed(2)} s)`);
    await assertDataVolumeWritable(stackTarget.container);
    const harnessStartSeconds = await stack.harnessStartSeconds();

    log(`baseline: docker run -d -p 127.0.0.1:${o.baselinePort}:5000 --restart=always … ${o.image}`);
    const baseline = await startBaseline({ image: o.image, port: o.baselinePort, workDir, containerName: `bench-baseline-registry-${process.pid}` }, cleanup);
    log(`  first authenticated 200 after ${(baseline.startToFirst200Ms / 1000).toFixed(2)} s`);
    const baselineTarget: RegistryTarget = { ...baseline };
    const targets = [stackTarget, baselineTarget];

    const client = new DockerClient(path.join(workDir, "docker-config"));
    for (const t of targets) {
        client.trust(t, cleanup);
        await client.login(t);
    }

    const probe = images[0];
    const blobPaths = await pushProbe(client, probe, targets);
    return {
        session: {
            workDir, client, stack, stackTarget, baselineTarget, targets, upTiming, harnessStartSeconds,
            baselineStartSeconds: baseline.startToFirst200Ms / 1000, baselineBcryptCost: baseline.bcryptCost, probe, blobPaths,
        },
        images,
    };
}

/** Pushes the probe image to each target; returns each target's path of its layer blob. */
export async function pushProbe(client: DockerClient, probe: TestImage, targets: RegistryTarget[]): Promise<Record<string, string>> {
    const paths: Record<string, string> = {};
    for (const t of targets) {
        const ref = imageRef(t, "bench/probe");
        await client.tag(probe.id, ref);
        await client.push(ref);
        paths[t.label] = `/v2/bench/probe/blobs/${await firstLayerDigest(t, "bench/probe", "latest")}`;
    }
    return paths;
}

function commandLine(o: BenchOptions): string {
    const args = process.argv.slice(2).filter((a) => !(o.smoke && a === "--smoke"));
    return `npm run ${o.smoke ? "bench:smoke" : "bench"}${args.length ? ` -- ${args.join(" ")}` : ""}`;
}

async function mainRun(o: BenchOptions, cleanup: Cleanup): Promise<Results> {
    const machine = machineInfo();
    const { session: s, images } = await setUp(o, cleanup, true);
    const vers = await versions(o.image);
    const [, layered, single] = images;

    log(`request capacity: ${o.loadRuns} run(s) × ${o.loadSeconds} s, ${o.connections} connections`);
    const cap = await measureCapacity(s.targets, s.blobPaths, { runs: o.loadRuns, seconds: o.loadSeconds, connections: o.connections, warmupSeconds: 1 }, s.workDir, log);

    log(`push/pull: ${layered.layers} layers × ${o.layerKiB} KiB, ${o.pushPullRuns} run(s)`);
    const ppLayered = await measurePushPull(s.client, layered, "bench/layered", s.targets, o.pushPullRuns, log);
    log(`push/pull: 1 layer × ${o.bigMiB} MiB, ${o.pushPullRuns} run(s)`);
    const ppSingle = await measurePushPull(s.client, single, "bench/single", s.targets, o.pushPullRuns, log);
    const tokenEndpoint = s.stackTarget.token ? await measureTokenEndpoint(s.stackTarget, o, s.workDir) : undefined;

    const httpVersions = {
        stack: await dockerClientHttpVersions(s.stackTarget.container),
        baseline: await dockerClientHttpVersions(s.baselineTarget.container),
    };
    const applied = await stackAppliedSettings(s.stackTarget.container, s.stackTarget.token ? tokenServiceHtpasswd(s.stackTarget.container) : undefined);
    const setting = (k: string) => stackSetting(k, o.stack, o.stackConfig);
    const upFigure: UpFigure = {
        description: "From starting the stack's `up` (registry image already local) to the first authenticated 200 from GET /v2/, polled every 50 ms; the baseline's is from `docker run` (its files made beforehand)",
        unit: "s",
        stack: { ...series([s.upTiming.firstAuthenticated200]), phases: s.upTiming, harnessStartSeconds: s.harnessStartSeconds },
        baseline: { ...series([s.baselineStartSeconds]), what: "docker run -d … to the first authenticated 200" },
    };
    const layeredText = `a ${layered.layers}-layer image (${o.layerKiB} KiB of random data per layer)`;
    const singleText = `a 1-layer image (${o.bigMiB} MiB of random data)`;
    return {
        title: `private-registry benchmark: ${o.token ? "token authentication, " : ""}the stack against the seed guide's registry`,
        mode: o.smoke ? "smoke" : "full",
        date: new Date().toISOString(),
        command: commandLine(o),
        durationSeconds: 0,
        machine,
        versions: vers,
        setup: {
            stack: {
                stack: o.stack,
                configOverrides: o.stackConfig,
                via: "local apply harness (tests/local-apply), npm run local -- up",
                host: s.stackTarget.host,
                bcryptCost: applied.bcryptCosts[0],
                bcryptCostsOfAllUsers: applied.bcryptCosts,
                blobDescriptorCache: applied.blobDescriptorCache,
                http2: applied.http2,
                logLevel: applied.logLevel,
                goGc: applied.goGc,
                goMemLimit: applied.goMemLimit,
                appliedSettingsReadFrom: "the registry container's htpasswd, config.yml and environment",
                memoryLimitMb: setting("memoryLimitMb"),
                tls: "ECDSA P-256 server certificate from the stack's CA",
                auth: s.stackTarget.token ? "token" : "htpasswd",
            },
            baseline: {
                command: `docker run -d -p 127.0.0.1:${o.baselinePort}:5000 --restart=always --name … -v auth:/auth -e REGISTRY_AUTH=htpasswd -e REGISTRY_AUTH_HTPASSWD_REALM="Registry Realm" -e REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd -v certs:/certs -e REGISTRY_HTTP_TLS_CERTIFICATE=/certs/domain.crt -e REGISTRY_HTTP_TLS_KEY=/certs/domain.key ${o.image}`,
                host: s.baselineTarget.host,
                bcryptCost: s.baselineBcryptCost,
                tls: "self-signed RSA 4096 certificate (openssl req -newkey rsa:4096 -x509)",
            },
            load: { connections: o.connections, runs: o.loadRuns, secondsPerRun: o.loadSeconds, getTool: "wrk", headTool: "ab" },
            pushPullRuns: o.pushPullRuns,
        },
        figures: {
            authCapacityGetV2: capacityFigure("getV2", cap, o.connections, o.loadSeconds, o.token),
            authCapacityBlobHead: capacityFigure("blobHead", cap, o.connections, o.loadSeconds, o.token),
            ...(tokenEndpoint ? { tokenEndpoint } : {}),
            ...pushPullFigures("LayeredImage", layeredText, { layers: layered.layers, bytesPerLayer: layered.bytesPerLayer }, ppLayered),
            ...pushPullFigures("SingleLayerImage", singleText, { layers: 1, bytesPerLayer: single.bytesPerLayer }, ppSingle),
            upToFirstAuthenticated200: upFigure,
        },
        observations: {
            dockerClientHttpVersions: httpVersions,
            loadDetails: cap,
            notes: [
                `The docker daemon spoke ${Object.keys(httpVersions.stack).join(", ") || "nothing"} to the stack and ${Object.keys(httpVersions.baseline).join(", ") || "nothing"} to the baseline (access logs), so the stack's HTTP/2 setting does not reach docker push/pull; wrk and ab speak HTTP/1.x too.`,
                "Docker treats 127.0.0.0/8 registries as insecure (no certificate verification) whatever /etc/docker/certs.d says; both registries get that alike. The CAs were installed in /etc/docker/certs.d for the run all the same, and removed after.",
                "Before every push run both registries are emptied (rm -rf of /var/lib/registry/docker/registry in the container) and restarted, so their in-memory blob descriptor caches forget the deleted blobs and every layer is uploaded again; before every pull the image is removed locally.",
                "Both registries run the same image; the baseline's htpasswd comes from htpasswd -Bbn, whose default bcrypt cost is 5.",
                ...(o.token ? [
                    "The stack's authenticated requests carry a bearer token fetched from its token service before each run (as docker does: basic auth to the realm, for the blob's repository); the registry verifies its ES256 signature on every request and checks no password.",
                    "tokenEndpoint: wrk GETs the realm with basic auth and a pull scope, so every request is a login: one bcrypt check and one signature, in Node.js on the same cores as everything else.",
                ] : []),
            ],
        },
    };
}

/** The stack's token service: tokens/s at the bench's connections, and its CPU per token. */
async function measureTokenEndpoint(t: RegistryTarget, o: BenchOptions, workDir: string): Promise<TokenEndpointFigure> {
    const url = `${t.token!.realm}?${new URLSearchParams({ service: t.token!.service, scope: "repository:bench/probe:pull" }).toString()}`;
    const id = await containerId(tokenServiceContainer(t.container));
    const rates: number[] = [];
    const cpu: number[] = [];
    log(`token service: ${o.loadRuns} run(s) × ${o.loadSeconds} s, ${o.connections} connections`);
    for (let i = 0; i < o.loadRuns; i++) {
        const before = containerCpuNs(id);
        const r = await runWrk({ url, method: "GET", authorization: basicAuth(t), seconds: o.loadSeconds, connections: o.connections }, workDir);
        const after = containerCpuNs(id);
        if (r.requests === 0 || r.non2xx > 0) throw new Error(`token service: ${r.non2xx} of ${r.requests} token requests were refused`);
        rates.push(r.requestsPerSecond);
        if (before !== undefined && after !== undefined) cpu.push(round((after - before) / 1e6 / r.requests, 2));
        log(`  run ${i + 1}/${o.loadRuns} ${r.requestsPerSecond.toFixed(1)} tokens/s`);
    }
    return {
        description: "GET of the token realm with basic auth and a pull scope at a fixed number of keep-alive connections: each request is a login (bcrypt) and a signed token",
        unit: "tokens/s", tool: "wrk", connections: o.connections, secondsPerRun: o.loadSeconds,
        stack: series(rates, 1),
        ...(cpu.length === rates.length ? { cpuMsPerToken: series(cpu) } : {}),
    };
}

async function main(): Promise<number> {
    let o: BenchOptions;
    try {
        o = parseOptions(process.argv.slice(2));
    } catch (err) {
        process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
        return 2;
    }
    const cleanup = new Cleanup();
    cleanup.installSignalHandlers(log);
    let results: Results | ReplicatedResults | undefined;
    let failure: unknown;
    try {
        if (o.knobs) results = await runKnobs(o, cleanup, { setUp, pushProbe, log, commandLine: commandLine(o) });
        else if (o.replicated) results = await runReplicated(o, cleanup, { pushProbe, portFree, log, commandLine: commandLine(o) });
        else results = await mainRun(o, cleanup);
    } catch (err) {
        failure = err;
        log(`error: ${err instanceof Error ? err.message : String(err)}`);
    }
    log("cleaning up");
    const cleanOk = await cleanup.runAll(log);
    if (!cleanOk) log("warning: some clean-up steps failed (see above)");
    const summary = process.env.TEST_SUMMARY_FILE;
    if (!results) {
        if (o.smoke && summary) fs.appendFileSync(summary, "0 1\n");
        return 1;
    }

    results.durationSeconds = Math.round((nowMs() - started) / 100) / 10;
    results.machine.loadAverageAtEnd = loadAverage();
    const outDir = defaultOutDir(o) ?? fs.mkdtempSync(path.join(os.tmpdir(), "bench-smoke-results-"));
    const written = o.replicated
        ? writeResults(outDir, results as ReplicatedResults, "replicated", renderReplicatedMarkdown)
        : writeResults(outDir, results as Results, o.knobs ? "knobs" : o.token ? "token" : "results", o.knobs ? renderKnobsMarkdown : renderMarkdown);
    log(`wrote ${written.json} and ${written.md} (${(results.durationSeconds / 60).toFixed(1)} min in all)`);
    process.stdout.write("\n" + fs.readFileSync(written.md, "utf8").split("\n## Raw runs")[0] + "\n");

    if (o.smoke) {
        const bad = nonPositiveFigures(results);
        if (summary) fs.appendFileSync(summary, bad.length === 0 && cleanOk ? "1 0\n" : "0 1\n");
        if (bad.length > 0) {
            log(`smoke: FAILED, these figures are not positive numbers: ${bad.map((b) => `${b.path}=${String(b.value)}`).join(", ")}`);
            return 1;
        }
        if (!cleanOk) {
            log("smoke: FAILED, clean-up did not finish");
            return 1;
        }
        log(`smoke: every figure (${figureNumbers(results).length} numbers) is a positive number`);
    }
    return failure ? 1 : 0;
}

if (require.main === module) {
    main().then((code) => process.exit(code), (err) => {
        process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
        process.exit(1);
    });
}

