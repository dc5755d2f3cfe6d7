import { spawnSync } from "child_process";

export interface RunResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Runs a bash command line; never throws, so tests can assert on failures too. */
export function run(commandLine: string, options: { input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): RunResult {
    const result = spawnSync("bash", ["-c", commandLine], {
        input: options.input,
        env: { ...process.env, ...options.env },
        encoding: "utf8",
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
    });
    return { code: result.status ?? -1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

/** Runs a command that must succeed; the error carries its output. */
export function runOk(commandLine: string, options: Parameters<typeof run>[1] = {}): string {
    const result = run(commandLine, options);
    if (result.code !== 0) {
        throw new Error(`command failed (${result.code}): ${commandLine}\n${result.stdout}\n${result.stderr}`);
    }
    return result.stdout;
}
