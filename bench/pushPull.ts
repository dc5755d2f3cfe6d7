/**
 * Push and pull wall time of one test image with the real docker client, for every target.
 * Before each run both registries are emptied and restarted, so every push uploads every layer;
 * before each pull the image is removed locally (all tags, so its layers go too), so every pull
 * downloads and unpacks every layer. The targets take turns going first.
 */
import { containerCpuNs, containerId, dockerDaemonCpuSeconds } from "./cpu";
import { DockerClient } from "./dockerClient";
import { TestImage } from "./images";
import { RegistryTarget, wipeRegistry } from "./target";

export interface PushPullResults {
    /** target label → seconds per run. */
    push: Record<string, number[]>;
    pull: Record<string, number[]>;
    /** target label → CPU seconds the registry's container used during each push / pull (its cgroup). */
    pushRegistryCpuSeconds: Record<string, number[]>;
    pullRegistryCpuSeconds: Record<string, number[]>;
    /** target label → CPU seconds the Docker daemon (the client side) used during each push / pull. */
    pushDaemonCpuSeconds: Record<string, number[]>;
    pullDaemonCpuSeconds: Record<string, number[]>;
}

interface CpuDuring {
    registry: number;
    daemon: number;
}

/** Runs f and returns its result with the CPU seconds the container and the Docker daemon used meanwhile (NaN if unreadable). */
async function withCpu(container: string, f: () => Promise<number>): Promise<[number, CpuDuring]> {
    const id = await containerId(container);
    const before = { registry: containerCpuNs(id), daemon: dockerDaemonCpuSeconds() };
    const value = await f();
    const after = { registry: containerCpuNs(id), daemon: dockerDaemonCpuSeconds() };
    const delta = (a: number | undefined, b: number | undefined, scale: number) => (a !== undefined && b !== undefined ? (b - a) / scale : NaN);
    return [value, { registry: delta(before.registry, after.registry, 1e9), daemon: delta(before.daemon, after.daemon, 1) }];
}

function emptyResults(targets: RegistryTarget[]): PushPullResults {
    const perTarget = () => Object.fromEntries(targets.map((t) => [t.label, [] as number[]]));
    return {
        push: perTarget(), pull: perTarget(),
        pushRegistryCpuSeconds: perTarget(), pullRegistryCpuSeconds: perTarget(),
        pushDaemonCpuSeconds: perTarget(), pullDaemonCpuSeconds: perTarget(),
    };
}

export function imageRef(t: RegistryTarget, repository: string): string {
    return `${t.host}/${repository}:latest`;
}

export async function measurePushPull(
    client: DockerClient, image: TestImage, repository: string, targets: RegistryTarget[], runs: number,
    log: (msg: string) => void,
): Promise<PushPullResults> {
    const res = emptyResults(targets);
    for (let run = 0; run < runs; run++) {
        const order = run % 2 === 0 ? targets : [...targets].reverse();
        for (const t of targets) await client.tag(image.id, imageRef(t, repository));
        for (const t of targets) await wipeRegistry(t);
        for (const t of order) {
            const [s, cpu] = await withCpu(t.container, () => client.push(imageRef(t, repository)));
            res.push[t.label].push(s);
            res.pushRegistryCpuSeconds[t.label].push(cpu.registry);
            res.pushDaemonCpuSeconds[t.label].push(cpu.daemon);
            log(`  run ${run + 1}/${runs} ${t.label.padEnd(8)} push ${repository} ${s.toFixed(2)} s ${cpuText(cpu)}`);
        }
        for (const t of order) await timedPull(client, image, t, repository, res, `run ${run + 1}/${runs}`, log);
    }
    return res;
}

/** One pull with the local copy removed first, recorded with the registry's CPU time. */
async function timedPull(
    client: DockerClient, image: TestImage, t: RegistryTarget, repository: string, res: PushPullResults, runLabel: string,
    log: (msg: string) => void,
): Promise<void> {
    await client.removeImage(image.id);
    const [s, cpu] = await withCpu(t.container, () => client.pull(imageRef(t, repository)));
    res.pull[t.label].push(s);
    res.pullRegistryCpuSeconds[t.label].push(cpu.registry);
    res.pullDaemonCpuSeconds[t.label].push(cpu.daemon);
    log(`  ${runLabel} ${t.label.padEnd(8)} pull ${repository} ${s.toFixed(2)} s ${cpuText(cpu)}`);
}

function cpuText(cpu: CpuDuring): string {
    return `(CPU: registry ${cpu.registry.toFixed(2)} s, docker daemon ${cpu.daemon.toFixed(2)} s)`;
}

/**
 * Pull wall time only: the image is pushed once to each (emptied) registry, then pulled `runs`
 * times per target with the local image removed before each pull.
 */
export async function measurePulls(
    client: DockerClient, image: TestImage, repository: string, targets: RegistryTarget[], runs: number,
    log: (msg: string) => void,
): Promise<PushPullResults> {
    const res = emptyResults(targets);
    for (const t of targets) {
        await client.tag(image.id, imageRef(t, repository));
        await wipeRegistry(t);
        await client.push(imageRef(t, repository));
    }
    for (let run = 0; run < runs; run++) {
        const order = run % 2 === 0 ? targets : [...targets].reverse();
        for (const t of order) await timedPull(client, image, t, repository, res, `run ${run + 1}/${runs}`, log);
    }
    return res;
}
