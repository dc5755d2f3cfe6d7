/**
 * Push and pull wall time of one test image with the real docker client, for every target.
 * Before each run both registries are emptied and restarted, so every push uploads every layer;
 * before each pull the image is removed locally (all tags, so its layers go too), so every pull
 * downloads and unpacks every layer. The targets take turns going first.
 */
import { containerCpuNs, containerId } from "./cpu";
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
}

/** Runs f and returns its result with the CPU seconds the container used meanwhile (NaN if unreadable). */
async function withCpu(container: string, f: () => Promise<number>): Promise<[number, number]> {
    const id = await containerId(container);
    const before = containerCpuNs(id);
    const value = await f();
    const after = containerCpuNs(id);
    return [value, before !== undefined && after !== undefined ? (after - before) / 1e9 : NaN];
}

function emptyResults(targets: RegistryTarget[]): PushPullResults {
    const perTarget = () => Object.fromEntries(targets.map((t) => [t.label, [] as number[]]));
    return { push: perTarget(), pull: perTarget(), pushRegistryCpuSeconds: perTarget(), pullRegistryCpuSeconds: perTarget() };
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
            res.pushRegistryCpuSeconds[t.label].push(cpu);
            log(`  run ${run + 1}/${runs} ${t.label.padEnd(8)} push ${repository} ${s.toFixed(2)} s (registry CPU ${cpu.toFixed(2)} s)`);
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
    res.pullRegistryCpuSeconds[t.label].push(cpu);
    log(`  ${runLabel} ${t.label.padEnd(8)} pull ${repository} ${s.toFixed(2)} s (registry CPU ${cpu.toFixed(2)} s)`);
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
