/**
 * CPU time a container has used, from its cgroup (v1 cpuacct or v2 cpu.stat). Per request it is
 * the registry's own cost, which other work on the machine does not change the way it changes
 * requests per second.
 */
import * as fs from "fs";
import { runOk } from "./exec";

export async function containerId(name: string): Promise<string> {
    return (await runOk("docker", ["inspect", "--format", "{{.Id}}", name])).stdout.trim();
}

/** Nanoseconds of CPU the container has used, or undefined where the cgroup cannot be read. */
export function containerCpuNs(id: string): number | undefined {
    const v1 = [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, `/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpuacct.usage`];
    for (const f of v1) {
        try { return Number(fs.readFileSync(f, "utf8").trim()); } catch { /* next */ }
    }
    const v2 = [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, `/sys/fs/cgroup/docker/${id}/cpu.stat`];
    for (const f of v2) {
        try {
            const m = /^usage_usec (\d+)/m.exec(fs.readFileSync(f, "utf8"));
            if (m) return Number(m[1]) * 1000;
        } catch { /* next */ }
    }
    return undefined;
}
