/** The machine and the versions of everything measured, for the report. */
import * as fs from "fs";
import * as os from "os";
import { run } from "./exec";

export interface MachineInfo {
    cpuModel: string;
    cores: number;
    memoryGiB: number;
    kernel: string;
    os: string;
    /** 1, 5 and 15 minute load averages when the run started; others' work on the machine shows here. */
    loadAverageAtStart: number[];
    loadAverageAtEnd?: number[];
}

export interface Versions {
    node: string;
    dockerClient: string;
    dockerServer: string;
    registryBinary: string;
    registryImage: string;
    registryImageId: string;
    wrk: string;
    ab: string;
    openssl: string;
}

function osName(): string {
    try {
        const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(fs.readFileSync("/etc/os-release", "utf8"));
        return m?.[1] ?? os.type();
    } catch {
        return os.type();
    }
}

export function loadAverage(): number[] {
    return os.loadavg().map((x) => Math.round(x * 100) / 100);
}

export function machineInfo(): MachineInfo {
    const cpus = os.cpus();
    return {
        cpuModel: cpus[0]?.model.trim() ?? "unknown",
        cores: cpus.length,
        memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
        kernel: os.release(),
        os: osName(),
        loadAverageAtStart: loadAverage(),
    };
}

async function firstLine(file: string, args: string[], pick?: RegExp): Promise<string> {
    const r = await run(file, args).catch(() => undefined);
    if (!r) return "not found";
    const text = `${r.stdout}\n${r.stderr}`;
    if (pick) return pick.exec(text)?.[1]?.trim() ?? "unknown";
    return text.trim().split("\n")[0]?.trim() ?? "unknown";
}

export async function versions(image: string): Promise<Versions> {
    return {
        node: process.version,
        dockerClient: await firstLine("docker", ["version", "--format", "{{.Client.Version}}"]),
        dockerServer: await firstLine("docker", ["version", "--format", "{{.Server.Version}}"]),
        registryBinary: await firstLine("docker", ["run", "--rm", "--network", "none", "--entrypoint", "registry", image, "--version"]),
        registryImage: image,
        registryImageId: await firstLine("docker", ["image", "inspect", "--format", "{{.Id}}", image]),
        wrk: await firstLine("wrk", ["-v"], /^(wrk \S+)/m),
        ab: await firstLine("ab", ["-V"], /^(This is ApacheBench, Version \S+)/m),
        openssl: await firstLine("openssl", ["version"]),
    };
}
