/** Child processes for the benchmark: run, capture, time; and end any still running on abort. */
import { spawn } from "child_process";

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
    /** Wall time of the process, in milliseconds. */
    ms: number;
}

export interface RunOptions {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    /** Written to the child's stdin, which is then closed. */
    input?: string;
    /** Kill the child (SIGKILL) after this long; the result then has code 124. */
    timeoutMs?: number;
}

/** Children started here and not yet exited, so an interrupted run can end them (by PID). */
const live = new Set<number>();

export function liveChildren(): number[] {
    return [...live];
}

/** Runs a program (no shell) and resolves with its exit code and output; never rejects on a non-zero exit. */
export function run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const started = process.hrtime.bigint();
        const child = spawn(file, args, {
            cwd: opts.cwd,
            env: opts.env ?? process.env,
            stdio: ["pipe", "pipe", "pipe"],
        });
        if (child.pid !== undefined) live.add(child.pid);
        let stdout = "";
        let stderr = "";
        let timedOut = false;
        child.stdout.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
        child.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
        const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
        }, opts.timeoutMs);
        child.on("error", (err) => {
            if (timer) clearTimeout(timer);
            if (child.pid !== undefined) live.delete(child.pid);
            reject(new Error(`${file}: ${err.message}`));
        });
        child.on("close", (code, signal) => {
            if (timer) clearTimeout(timer);
            if (child.pid !== undefined) live.delete(child.pid);
            const ms = Number(process.hrtime.bigint() - started) / 1e6;
            resolve({ code: timedOut ? 124 : code ?? (signal ? 128 : 1), stdout, stderr, ms });
        });
        child.stdin.on("error", () => { /* the child may exit without reading its input */ });
        child.stdin.end(opts.input ?? "");
    });
}

/** Like run, but throws with the command's output when it exits non-zero. */
export async function runOk(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await run(file, args, opts);
    if (r.code !== 0) {
        const out = `${r.stdout}\n${r.stderr}`.trim().split("\n").slice(-15).join("\n");
        throw new Error(`${file} ${args.join(" ")} exited ${r.code}${r.code === 124 ? " (timed out)" : ""}:\n${out}`);
    }
    return r;
}

export function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Milliseconds since an arbitrary origin, monotonic. */
export function nowMs(): number {
    return Number(process.hrtime.bigint()) / 1e6;
}
