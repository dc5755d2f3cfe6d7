/**
 * `npm run bench -- --replicated`: the replicated form (Pulumi.replicated.yaml: replicas on one S3
 * bucket and one Redis behind the front as a load balancer) on a throwaway Ceph RGW this run starts
 * in a test network namespace, as the replicated e2e suite does. Measures requests/s through the
 * load balancer with 1 and 2 replicas, then a big layer's push and its pull with s3Redirect off and
 * on, and the CPU every party used meanwhile: on a small machine they all share the same cores.
 * Everything it creates is removed at the end, on failure too.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { startCephRgw, stopCephRgw } from "../tests/support/cephRgw";
import { TestNetwork } from "../tests/e2e/support/testNetwork";
import { stackAppliedSettings } from "./applied";
import { CapacityResults, measureCapacity } from "./capacity";
import { Cleanup } from "./cleanup";
import { containerCpuNs, containerId, dockerDaemonCpuSeconds, dockerProxyPids, exitedChildrenCpuSeconds, machineBusySeconds, processCpuSeconds } from "./cpu";
import { DockerClient } from "./dockerClient";
import { nowMs, run, runOk } from "./exec";
import { dockerGetStatuses } from "./observations";
import { loadTestImage, TestImage } from "./images";
import { loadAverage, machineInfo, versions } from "./machine";
import { BenchOptions } from "./options";
import { imageRef } from "./pushPull";
import {
    addCpuStretch, bigPullFigures, CpuPhase, cpuPartyNames, machineParty, PushFigure, replicaCapacityFigure, ReplicatedResults, transferRuns,
} from "./replicatedReport";
import { HarnessStack, removeNewMaintenanceScriptAtCleanup, StackOutputs } from "./stack";
import { expectedStack } from "./stackSettings";
import { basicAuth, firstLayerDigest, httpsRequest, RegistryTarget } from "./target";

export interface ReplicatedDeps {
    pushProbe(client: DockerClient, probe: TestImage, targets: RegistryTarget[]): Promise<Record<string, string>>;
    portFree(port: number): Promise<boolean>;
    log: (msg: string) => void;
    commandLine: string;
}

/** The test namespace's prefix and addresses: apart from the e2e suite's (repe2e, 10.252.0.0/24). */
export const benchNetwork = { prefix: "benchrep", hostAddress: "10.253.0.1", peerAddress: "10.253.0.2" };

const replicaCounts = [1, 2];
const bucket = "bench-replicated";

/**
 * Memory for the OSD's memstore: the layer lands in the bucket twice (the upload, then its copy to
 * the blob's path; the gateway deletes the upload lazily), so three times the layer and some room.
 */
export function memstoreMiB(bigMiB: number): number {
    return Math.max(1024, 3 * bigMiB + 1024);
}

async function preflight(o: BenchOptions, network: TestNetwork): Promise<void> {
    const missing: string[] = [];
    for (const [tool, args] of [["docker", ["info"]], ["wrk", ["-v"]], ["ab", ["-V"]], ["curl", ["--version"]], ["radosgw", ["--version"]], ["ceph-osd", ["--version"]], ["ip", ["-V"]]] as const) {
        const r = await run(tool, [...args]).catch(() => undefined);
        if (!r || (tool === "docker" && r.code !== 0)) missing.push(tool === "docker" ? "a running Docker engine" : tool);
    }
    if (missing.length) throw new Error(`missing: ${missing.join(", ")} (bash tests/setup/prepare-machine.sh installs and starts them)`);
    if ((await run("docker", ["image", "inspect", o.image])).code !== 0) throw new Error(`image ${o.image} is not local (bash tests/setup/prepare-machine.sh builds the stand-in)`);
    if ((await run("ip", ["netns", "list"])).stdout.split("\n").some((l) => l.split(" ")[0] === network.namespace)) {
        throw new Error(`network namespace ${network.namespace} exists: another replicated benchmark is running, or one was killed (ip netns del ${network.namespace}; ip link del ${network.hostInterface})`);
    }
}

/** One stretch of timed work: CPU read before and after from every party. */
type CpuReaders = Record<string, () => number | undefined>;

function sumOrUndefined(values: (number | undefined)[]): number | undefined {
    return values.length > 0 && values.every((v) => v !== undefined) ? values.reduce((a, b) => a + b, 0) : undefined;
}

async function cpuReaders(replicas: string[], front: string, redis: string, cephPids: number[], port: number): Promise<CpuReaders> {
    const ids = async (names: string[]) => Promise.all(names.map(containerId));
    const [replicaIds, frontIds, redisIds] = await Promise.all([ids(replicas), ids([front]), ids([redis])]);
    const containers = (list: string[]) => () => {
        const ns = sumOrUndefined(list.map(containerCpuNs));
        return ns === undefined ? undefined : ns / 1e9;
    };
    const proxies = dockerProxyPids(port);
    const readers: CpuReaders = {
        [cpuPartyNames[0]]: containers(replicaIds),
        [cpuPartyNames[1]]: containers(frontIds),
        [cpuPartyNames[2]]: containers(redisIds),
        [cpuPartyNames[3]]: () => sumOrUndefined(cephPids.map((p) => processCpuSeconds(p))),
        [cpuPartyNames[4]]: () => sumOrUndefined(proxies.map((p) => processCpuSeconds(p))),
        [cpuPartyNames[5]]: () => dockerDaemonCpuSeconds(),
        [cpuPartyNames[6]]: exitedChildrenCpuSeconds,
        [cpuPartyNames[7]]: () => processCpuSeconds("self"),
        [machineParty]: machineBusySeconds,
    };
    return readers;
}

function readAll(readers: CpuReaders): Record<string, number | undefined> {
    return Object.fromEntries(Object.entries(readers).map(([k, read]) => [k, read()]));
}

/** A GET of the blob through the front, only its status and Location read (the body, if any, is not). */
function blobAnswer(t: RegistryTarget, blobPath: string): Promise<{ status: number; location?: string }> {
    return new Promise((resolve, reject) => {
        const req = https.request(`https://${t.host}${blobPath}`, {
            method: "GET", headers: { Authorization: basicAuth(t) }, ca: t.caPem, agent: false, timeout: 30_000,
        }, (res) => {
            resolve({ status: res.statusCode ?? 0, location: res.headers.location });
            res.destroy();
        });
        req.on("timeout", () => req.destroy(new Error(`GET ${blobPath}: timeout`)));
        req.on("error", reject);
        req.end();
    });
}

/**
 * GET of the blob with curl into a file in RAM (tmpfs), timed by curl; then, outside the timed part,
 * the file is hashed: it must be the blob (a download of the wrong bytes measures nothing), and
 * hashing on the way would take a core from the parties measured. Credentials go to curl on stdin,
 * never on its command line; with follow, curl keeps them for the registry and fetches the presigned
 * URL without them.
 */
async function curlBlob(t: RegistryTarget, blobPath: string, caFile: string, follow: boolean, outFile: string): Promise<{ seconds: number; redirects: number }> {
    const args = ["-sS", "--fail", "--max-time", "900", "--cacert", caFile, "-K", "-", "-o", outFile,
        "-w", "curl-result %{http_code} %{time_total} %{num_redirects}\\n", ...(follow ? ["-L"] : []), `https://${t.host}${blobPath}`];
    const r = await run("curl", args, { input: `user = "${`${t.username}:${t.password}`.replace(/["\\]/g, "\\$&")}"\n`, timeoutMs: 960_000 });
    const m = /curl-result (\d{3}) ([\d.]+) (\d+)/.exec(r.stdout);
    if (r.code !== 0 || !m) throw new Error(`curl GET ${blobPath} exited ${r.code}: ${r.stderr.trim()}`);
    return { seconds: Number(m[2]), redirects: Number(m[3]) };
}

/** sha256 and size of a file, streamed. */
async function fileDigest(file: string): Promise<{ sha256: string; bytes: number }> {
    const hash = crypto.createHash("sha256");
    let bytes = 0;
    for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
    }
    return { sha256: `sha256:${hash.digest("hex")}`, bytes };
}

/** "95 % and 99 %": how busy the whole machine was in the phases whose name starts with prefix. */
function busyText(phases: CpuPhase[], prefix: string): string {
    return phases.filter((p) => p.phase.startsWith(prefix) && p.cpuSeconds[machineParty] !== undefined)
        .map((p) => `${Math.round((100 * p.cpuSeconds[machineParty]) / (p.wallSeconds * p.cores))} %`).join(" and ") || "—";
}

export async function runReplicated(o: BenchOptions, cleanup: Cleanup, deps: ReplicatedDeps): Promise<ReplicatedResults> {
    const { log } = deps;
    const machine = machineInfo();
    const network = new TestNetwork(benchNetwork.prefix, benchNetwork.hostAddress, benchNetwork.peerAddress, []);
    await preflight(o, network);
    const expected = expectedStack(o.stack, o.stackConfig);
    if (await new HarnessStack(o.stack, o.stackConfig).outputs()) {
        throw new Error(`stack ${o.stack} is already up (the e2e suite's or someone's), and the benchmark replaces its replicas. ` +
            `Bring it down first (npm run local -- down --stack ${o.stack})`);
    }
    if (!(await deps.portFree(expected.port))) throw new Error(`port ${expected.port} (the ${o.stack} stack's) is in use by something else; pass --stack-config port=N`);
    const front = `${expected.containerName}-front`;
    const redis = `${expected.containerName}-redis`;

    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-replicated-"));
    cleanup.add(`remove ${workDir}`, () => fs.rmSync(workDir, { recursive: true, force: true }));

    log(`network namespace ${network.namespace}: ${network.hostAddress} here, ${network.peerAddress} in it`);
    cleanup.add(`destroy network namespace ${network.namespace}`, () => network.destroy());
    network.create();

    const memMiB = memstoreMiB(o.bigMiB);
    log(`Ceph RGW in ${network.namespace} (memstore ${memMiB} MiB); meanwhile test images: probe, 1 × ${o.bigMiB} MiB of random data`);
    const tag = `bench-private-registry-${process.pid}`;
    const specs = [{ tag: `${tag}/probe:latest`, layers: 1, bytesPerLayer: 64 * 1024 }, { tag: `${tag}/big:latest`, layers: 1, bytesPerLayer: o.bigMiB * 2 ** 20 }];
    for (const s of specs) {
        cleanup.add(`remove image ${s.tag}`, async () => {
            const id = (await run("docker", ["image", "inspect", "--format", "{{.Id}}", s.tag])).stdout.trim();
            await run("docker", ["rmi", "-f", id || s.tag]);
        });
    }
    let rgwDir: string | undefined;
    cleanup.add("stop Ceph RGW", async () => {
        if (rgwDir) await stopCephRgw(rgwDir);
    });
    const rgwStarted = nowMs();
    // All settled before going on: a failed image load must not leave the gateway starting unseen by the clean-up.
    const settled = await Promise.allSettled([
        startCephRgw({ netns: network.namespace, env: { CEPH_RGW_ADDRESS: network.peerAddress, CEPH_RGW_MEMSTORE_BYTES: String(memMiB * 2 ** 20) } }).then((r) => { rgwDir = r.dir; return r; }),
        loadTestImage(specs[0]),
        loadTestImage(specs[1]),
    ]);
    for (const r of settled) if (r.status === "rejected") throw r.reason;
    const [rgw, probe, big] = settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as [Awaited<ReturnType<typeof startCephRgw>>, TestImage, TestImage];
    const rgwStartSeconds = (nowMs() - rgwStarted) / 1000;
    // Pulls re-create the images under registry tags only; remove by ID.
    for (const img of [probe, big]) cleanup.add(`remove image ${img.id}`, async () => { await run("docker", ["rmi", "-f", img.id]); });
    log(`  RGW at ${rgw.endpoint} (its script: ${(rgw.startMs / 1000).toFixed(1)} s)`);

    const rgwAdmin = `ip netns exec ${network.namespace} radosgw-admin -c ${rgw.dir}/ceph.conf`;
    const overrides = [`s3Endpoint=${rgw.endpoint}`, `s3Region=${rgw.region}`, `s3Bucket=${bucket}`, `s3RgwUser=${bucket}`, `s3RgwAdminCommand=${rgwAdmin}`, ...o.stackConfig];
    const stack = new HarnessStack(o.stack, overrides);
    removeNewMaintenanceScriptAtCleanup(cleanup, `${expected.containerName}-1`);
    cleanup.add(`npm run local -- down --stack ${o.stack}`, async () => {
        log(`down: npm run local -- down --stack ${o.stack}`);
        await stack.down();
    });

    const client = new DockerClient(path.join(workDir, "docker-config"));
    const caFile = path.join(workDir, "ca.crt");
    const upSeconds: Record<string, number> = {};
    const replicaContainers: Record<string, string[]> = {};
    const phases: CpuPhase[] = [];
    let readers: CpuReaders = {};

    const up = async (name: string, config: string[]): Promise<RegistryTarget> => {
        log(`up (${name}): npm run local -- up --stack ${o.stack} …${config.map((c) => ` --config ${c}`).join("")}`);
        const t0 = nowMs();
        const target = await stack.up(config);
        upSeconds[name] = Math.round(nowMs() - t0) / 1000;
        const outputs = (await stack.outputs()) as StackOutputs & { replicaContainers: string[] };
        replicaContainers[name] = outputs.replicaContainers;
        log(`  up in ${upSeconds[name].toFixed(1)} s; replicas ${outputs.replicaContainers.join(", ")}`);
        readers = await cpuReaders(outputs.replicaContainers, front, redis, rgw.pids, expected.port);
        return { ...target, cpuContainers: outputs.replicaContainers };
    };
    const timed = async <T>(phase: string, f: () => Promise<T>): Promise<T> => {
        let p = phases.find((x) => x.phase === phase);
        if (!p) phases.push(p = { phase, wallSeconds: 0, cores: machine.cores, cpuSeconds: {}, loadAverageAtStart: loadAverage() });
        const before = readAll(readers);
        const t0 = nowMs();
        const value = await f();
        const wall = (nowMs() - t0) / 1000;
        phases[phases.indexOf(p)] = addCpuStretch(p, wall, before, readAll(readers));
        return value;
    };

    // Requests through the load balancer, by replica count.
    const caps: Record<string, CapacityResults[string]> = {};
    let blobPaths: Record<string, string> = {};
    let target: RegistryTarget | undefined;
    for (const n of replicaCounts) {
        target = await up(`${n} replica${n === 1 ? "" : "s"}`, [`replicas=${n}`, "s3Redirect=false"]);
        if (n === replicaCounts[0]) {
            fs.writeFileSync(caFile, target.caPem);
            client.trust(target, cleanup);
            await client.login(target);
            blobPaths = await deps.pushProbe(client, probe, [target]);
        }
        log(`request capacity, ${n} replica(s): ${o.loadRuns} run(s) × ${o.loadSeconds} s, ${o.connections} connections`);
        const cap = await timed(`requests, ${n} replica${n === 1 ? "" : "s"}`, () => measureCapacity([target!], blobPaths, { runs: o.loadRuns, seconds: o.loadSeconds, connections: o.connections, warmupSeconds: 1 }, workDir, log));
        caps[String(n)] = cap[target.label];
    }
    const t = target!;
    const applied = await stackAppliedSettings(t.container);
    const s3Config = (YAML.parse((await runOk("docker", ["exec", t.container, "cat", "/etc/distribution/config.yml"])).stdout) as { storage?: { s3?: { chunksize?: number } } }).storage?.s3;

    // The big layer: pushed once, pulled with redirect off (the stack file's default), then on.
    const ref = imageRef(t, "bench/big");
    await client.tag(big.id, ref);
    log(`push of 1 × ${o.bigMiB} MiB through the front`);
    const pushSeconds = await timed("push of the big layer", () => client.push(ref));
    const digest = await firstLayerDigest(t, "bench/big", "latest");
    const blobPath = `/v2/bench/big/blobs/${digest}`;
    const headAnswer = await httpsRequest(`https://${t.host}${blobPath}`, { method: "HEAD", authorization: basicAuth(t), caPem: t.caPem });
    const blobBytes = Number(headAnswer?.headers["content-length"]);
    if (headAnswer?.status !== 200 || !(blobBytes > 0)) throw new Error(`HEAD of the big blob answered ${headAnswer?.status ?? "nothing"} (length ${String(headAnswer?.headers["content-length"])})`);
    log(`  pushed in ${pushSeconds.toFixed(1)} s; blob ${digest.slice(0, 19)}…, ${(blobBytes / 2 ** 20).toFixed(1)} MiB`);

    // curl's downloads go to RAM, so that no disk is timed; room for one.
    const shm = fs.statfsSync("/dev/shm");
    if (shm.bavail * shm.bsize < blobBytes + 2 ** 26) throw new Error(`/dev/shm has ${Math.round((shm.bavail * shm.bsize) / 2 ** 20)} MiB free, too little for the ${Math.round(blobBytes / 2 ** 20)} MiB blob; pass a smaller --big-mib`);
    const shmDir = fs.mkdtempSync("/dev/shm/bench-replicated-");
    cleanup.add(`remove ${shmDir}`, () => fs.rmSync(shmDir, { recursive: true, force: true }));
    const download = path.join(shmDir, "blob");
    const dockerAnswers: Record<string, Record<string, number>> = {};
    const pulls = async (t: RegistryTarget, redirect: boolean) => {
        const mode = redirect ? "redirect on" : "redirect off";
        const curlRuns: number[] = [];
        const pullRuns: number[] = [];
        const since = new Date(Date.now() - 1000).toISOString();
        for (let i = 0; i < o.pushPullRuns; i++) {
            const got = await timed(`curl GET, ${mode}`, () => curlBlob(t, blobPath, caFile, redirect, download));
            const file = await fileDigest(download);
            fs.rmSync(download, { force: true });
            if (file.sha256 !== digest || file.bytes !== blobBytes) throw new Error(`curl (${mode}) got ${file.bytes} bytes hashing to ${file.sha256}, not the blob's ${blobBytes} bytes of ${digest}`);
            if (got.redirects !== (redirect ? 1 : 0)) throw new Error(`curl (${mode}) followed ${got.redirects} redirect(s)`);
            curlRuns.push(got.seconds);
            log(`  run ${i + 1}/${o.pushPullRuns} ${mode}: curl GET ${got.seconds.toFixed(2)} s (${(blobBytes / 2 ** 20 / got.seconds).toFixed(0)} MiB/s), sha256 ok`);
            await client.removeImage(big.id);
            const s = await timed(`docker pull, ${mode}`, () => client.pull(ref));
            pullRuns.push(s);
            log(`  run ${i + 1}/${o.pushPullRuns} ${mode}: docker pull ${s.toFixed(2)} s`);
        }
        // Docker must have been streamed the blob (off) or sent to the RGW (on): the replicas' access logs say which.
        let logs = "";
        for (const c of t.cpuContainers ?? [t.container]) {
            const r = await runOk("docker", ["logs", "--since", since, c]);
            logs += `${r.stdout}\n${r.stderr}\n`;
        }
        const statuses = dockerGetStatuses(logs, blobPath);
        const expectedStatus = redirect ? "307" : "200";
        if ((statuses[expectedStatus] ?? 0) < o.pushPullRuns || Object.keys(statuses).some((k) => k !== expectedStatus)) {
            throw new Error(`docker's GETs of the blob (${mode}) were answered ${JSON.stringify(statuses)}, not ${o.pushPullRuns} × ${expectedStatus}`);
        }
        dockerAnswers[mode] = statuses;
        return { curl: curlRuns, dockerPull: pullRuns };
    };
    const first = await blobAnswer(t, blobPath);
    if (first.status !== 200) throw new Error(`with s3Redirect off the blob GET answered ${first.status}, not 200`);
    log(`pulls with s3Redirect off (${o.pushPullRuns} run(s)): curl GET of the blob, docker pull`);
    const off = await pulls(t, false);

    const redirectTarget = await up("2 replicas, s3Redirect on", ["replicas=2", "s3Redirect=true"]);
    const answer = await blobAnswer(redirectTarget, blobPath);
    const locationOrigin = answer.location ? new URL(answer.location).origin : "";
    if (answer.status !== 307 || locationOrigin !== new URL(rgw.endpoint).origin) {
        throw new Error(`with s3Redirect on the blob GET answered ${answer.status} with a Location on ${locationOrigin || "nothing"}, not 307 to ${rgw.endpoint}`);
    }
    log(`  blob GET answers 307 to ${locationOrigin}; pulls with s3Redirect on`);
    const on = await pulls(redirectTarget, true);

    const vers = await versions(o.image);
    const firstLine = async (file: string, args: string[]) => (await run(file, args)).stdout.split("\n")[0].trim();
    const extraVersions = {
        haproxy: (await firstLine("docker", ["exec", front, "haproxy", "-v"])).replace(/ - https.*/, ""),
        redis: (await firstLine("docker", ["exec", redis, "redis-server", "--version"])).replace(/ sha=.*/, ""),
        ceph: (await firstLine("radosgw", ["--version"])).replace(/ \([0-9a-f]{20,}\)/, ""),
        curl: (await firstLine("curl", ["--version"])).split(" (")[0],
        replicaImage: (await firstLine("docker", ["inspect", "--format", "{{.Config.Image}}", t.container])),
    };
    const pushFigure: PushFigure = {
        description: "docker push of the one-layer image through the front into the bucket (the Docker daemon gzips the layer; the replica uploads it to the RGW in chunks)",
        unit: "s",
        blobBytes,
        ...transferRuns([pushSeconds], blobBytes),
    };
    const counts = (x: Record<string, CapacityResults[string]>, kind: "getV2" | "blobHead") => Object.fromEntries(Object.entries(x).map(([n, c]) => [n, c[kind]]));
    return {
        title: "private-registry benchmark: the replicated form",
        mode: o.smoke ? "smoke" : "full",
        date: new Date().toISOString(),
        command: deps.commandLine,
        durationSeconds: 0,
        machine,
        versions: { ...vers, ...extraVersions },
        setup: {
            stack: {
                stack: o.stack,
                configOverrides: overrides.map((c) => (c.startsWith("s3RgwAdminCommand=") ? "s3RgwAdminCommand=ip netns exec … radosgw-admin -c …/ceph.conf" : c)),
                host: t.host,
                replicaContainers,
                bcryptCost: applied.bcryptCosts[0],
                logLevel: applied.logLevel,
                goGc: applied.goGc,
                s3ChunkSizeMb: s3Config?.chunksize ? s3Config.chunksize / 2 ** 20 : undefined,
            },
            rgw: { endpoint: rgw.endpoint, namespace: network.namespace, memstoreMiB: memMiB, startSeconds: rgwStartSeconds },
            load: { connections: o.connections, runs: o.loadRuns, secondsPerRun: o.loadSeconds, getTool: "wrk", headTool: "ab" },
            pullRuns: o.pushPullRuns,
            bigMiB: o.bigMiB,
        },
        figures: {
            authCapacityGetV2: replicaCapacityFigure("getV2", counts(caps, "getV2"), o.connections, o.loadSeconds),
            authCapacityBlobHead: replicaCapacityFigure("blobHead", counts(caps, "blobHead"), o.connections, o.loadSeconds),
            pushBigLayer: pushFigure,
            ...bigPullFigures(blobBytes, off, on, { status: answer.status, locationOrigin }),
        },
        observations: {
            upSeconds,
            dockerBlobGetStatuses: dockerAnswers,
            cpuByPhase: phases,
            loadDetails: caps,
            notes: [
                `Every party shares the machine's ${machine.cores} cores. A second replica on the same host adds no CPU: it can only help where one replica leaves cores idle. ` +
                    `In the request phases the machine was ${busyText(phases, "requests, ")} busy in all (/proc/stat, other sessions' jobs included).`,
                "The replicas' CPU per request is that of all replicas together (their cgroups), so it compares across replica counts.",
                "The replica counts are measured one after the other (an `up` between them), not interleaved; the load average at each phase's start is in the CPU table.",
                "docker pull MiB/s is the blob's bytes over the whole pull, which includes decompressing and unpacking the layer in the Docker daemon.",
                "With s3Redirect off the bytes cross the RGW, the replica (TLS), HAProxy and Docker's userland docker-proxy (loopback) before the client; with it on, the client fetches them from the RGW directly, over plain HTTP here.",
                `\`up\` durations (the local apply harness): ${Object.entries(upSeconds).map(([k, v]) => `${k} ${v} s`).join(", ")}.`,
            ],
        },
    };
}
