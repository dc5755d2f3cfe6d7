import { spawn } from "child_process";
import * as fs from "fs";
import { must, run } from "./net";

async function waitFor(what: string, timeoutMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 250));
    }
}

/** PID of the running dockerd (the one process whose command is dockerd). */
async function dockerdPid(): Promise<number> {
    const pids = (await run("pidof", ["dockerd"])).stdout.trim().split(/\s+/).filter(Boolean).map(Number);
    if (pids.length !== 1) throw new Error(`expected one dockerd process, found ${pids.length}`);
    return pids[0];
}

const dockerAnswers = async () => (await run("docker", ["info", "--format", "{{.ID}}"], { timeoutMs: 5000 })).code === 0;

/**
 * Restarts dockerd the way it was started: through systemd when docker.service runs it, otherwise
 * (started by hand or by tests/setup/prepare-machine.sh) by stopping that one PID and starting the
 * same command line again, detached, appending to the same log. Returns how it restarted.
 */
export async function restartDockerd(): Promise<string> {
    const pid = await dockerdPid();
    const cgroup = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8");
    if (fs.existsSync("/run/systemd/system") && /\/docker\.service/.test(cgroup)) {
        await must("systemctl", ["restart", "docker.service"], { timeoutMs: 120_000 });
        await waitFor("docker info", 60_000, dockerAnswers);
        return "systemctl restart docker.service";
    }

    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
    const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    const env = Object.fromEntries(fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    let log = "";
    try { log = fs.readlinkSync(`/proc/${pid}/fd/1`); } catch { /* no stdout */ }
    const logFd = log.startsWith("/") && fs.existsSync(log) ? fs.openSync(log, "a") : "ignore";

    process.kill(pid, "SIGTERM");
    // dockerd stops its containers first (10 s grace each, in parallel).
    await waitFor(`dockerd ${pid} to exit`, 60_000, () => !fs.existsSync(`/proc/${pid}`));

    const child = spawn(argv[0], argv.slice(1), { cwd, env, detached: true, stdio: ["ignore", logFd, logFd] });
    child.unref();
    if (typeof logFd === "number") fs.closeSync(logFd);
    await waitFor("docker info", 60_000, dockerAnswers);
    return `kill ${pid}; ${argv.join(" ")} (new pid ${child.pid}, log ${log || "none"})`;
}

/** Waits until the container runs again (restart=always brings it back after dockerd starts). */
export async function waitForContainer(name: string, timeoutMs = 60_000): Promise<void> {
    await waitFor(`container ${name} to run`, timeoutMs, async () =>
        (await run("docker", ["inspect", "--format", "{{.State.Running}}", name])).stdout.trim() === "true");
}
