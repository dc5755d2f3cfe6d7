import * as path from "path";
import { run, RunResult, runOk } from "./shell";

/** The two docker CLIs on this machine: 28.x first on PATH, and Debian's 20.10. */
export const dockerClis = { docker28: "/usr/local/bin/docker", docker2010: "/usr/bin/docker" } as const;

/** A docker CLI with a DOCKER_CONFIG of its own (so no login or trust data leaks between users), plus `env`. */
export interface DockerClient {
    readonly env: NodeJS.ProcessEnv;
    readonly configDir: string;
    run(args: string, input?: string): RunResult;
    ok(args: string, input?: string): string;
}

export function dockerClient(cli: string, workDir: string, configName: string, env: NodeJS.ProcessEnv = {}): DockerClient {
    const configDir = path.join(workDir, configName);
    const fullEnv = { ...env, DOCKER_CONFIG: configDir };
    return {
        env: fullEnv,
        configDir,
        run: (args, input) => run(`${cli} ${args}`, { env: fullEnv, input, timeoutMs: 300_000 }),
        ok: (args, input) => runOk(`${cli} ${args}`, { env: fullEnv, input, timeoutMs: 300_000 }),
    };
}
