/** Processes, ports and curl for the tests; everything binds to 127.0.0.1 only. */
import { ChildProcess, execFile, spawn } from "node:child_process";
import { createServer } from "node:net";

/** A free port in 15500-16999 (15000-15100 belong to the project's other suites). */
export async function freePort(avoid: readonly number[] = []): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
        const port = 15500 + Math.floor(Math.random() * 1500);
        if (avoid.includes(port)) continue;
        const free = await new Promise<boolean>((resolve) => {
            const probe = createServer();
            probe.once("error", () => resolve(false));
            probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
        });
        if (free) return port;
    }
    throw new Error("no free port in 15500-16999");
}

export interface Started {
    child: ChildProcess;
    output: () => string;
}

/** Spawns a long-running process and keeps its stdout and stderr for assertions and diagnostics. */
export function start(command: string, args: string[], env: NodeJS.ProcessEnv): Started {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
    return { child, output: () => output };
}

/** Ends a process this suite started, by its PID, and waits for it to exit. */
export async function stop(started: Started | undefined): Promise<void> {
    const child = started?.child;
    if (!child || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    process.kill(child.pid, "SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
}

export interface CurlResult {
    status: number;
    headers: Record<string, string>;
    body: string;
}

/** Runs curl with `args` (the CA and -sS are added) and splits its -i output; header names in lower case. */
export function curl(caFile: string, args: string[]): Promise<CurlResult> {
    return new Promise((resolve, reject) => {
        execFile("curl", ["-sS", "-i", "--cacert", caFile, "--max-time", "20", ...args], { maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
            if (error) return reject(new Error(`curl ${args.join(" ")} failed: ${stderr}`));
            const split = stdout.indexOf("\r\n\r\n");
            const [statusLine, ...headerLines] = stdout.slice(0, split).split("\r\n");
            const headers: Record<string, string> = {};
            for (const line of headerLines) {
                const colon = line.indexOf(":");
                headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
            }
            resolve({ status: Number(statusLine.split(" ")[1]), headers, body: stdout.slice(split + 4) });
        });
    });
}

/** Polls `check` until it holds, or fails after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (await check().catch(() => false)) return;
        await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`timed out waiting for ${what}`);
}
