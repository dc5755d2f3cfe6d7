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

/**
 * CPU seconds the Docker daemon has used, its own and that of the children it has waited for
 * (the re-executed untar of a pull): the client side of a push or pull, which compresses,
 * decompresses and unpacks the layers. Undefined where the daemon's pid file or /proc cannot be read.
 */
export function dockerDaemonCpuSeconds(pidFile = "/var/run/docker.pid"): number | undefined {
    try {
        const pid = fs.readFileSync(pidFile, "utf8").trim();
        // Fields after "(comm) ": utime, stime, cutime, cstime are the 12th to 15th, in clock ticks.
        const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
        return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) / clockTicksPerSecond;
    } catch {
        return undefined;
    }
}

// sysconf(_SC_CLK_TCK) is 100 on every Linux architecture Docker ships for.
const clockTicksPerSecond = 100;

/** CPU seconds a process has used (all its threads), or undefined once it is gone; withChildren adds the children it has waited for. */
export function processCpuSeconds(pid: number | "self", withChildren = false): number | undefined {
    try {
        // Fields after "(comm) ": utime, stime, cutime, cstime are the 12th to 15th, in clock ticks.
        const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
        return fields.slice(11, withChildren ? 15 : 13).reduce((sum, f) => sum + Number(f), 0) / clockTicksPerSecond;
    } catch {
        return undefined;
    }
}

/** CPU seconds of this process's children that have exited (the load generators, curl): cutime + cstime. */
export function exitedChildrenCpuSeconds(): number | undefined {
    const all = processCpuSeconds("self", true);
    const own = processCpuSeconds("self");
    return all === undefined || own === undefined ? undefined : all - own;
}

/** PIDs of Docker's userland proxies for a published host port: on loopback every byte to the container passes through one. */
export function dockerProxyPids(hostPort: number): number[] {
    const pids: number[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const args = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
            if (args[0].endsWith("docker-proxy") && args[args.indexOf("-host-port") + 1] === String(hostPort)) pids.push(Number(entry));
        } catch { /* gone */ }
    }
    return pids;
}

/** CPU seconds the whole machine has been busy (all cores, everyone's work: /proc/stat without idle and iowait). */
export function machineBusySeconds(): number | undefined {
    try {
        const [, user, nice, system, , , irq, softirq, steal] = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).map(Number);
        return (user + nice + system + irq + softirq + steal) / clockTicksPerSecond;
    } catch {
        return undefined;
    }
}
