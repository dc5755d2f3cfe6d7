import * as path from "path";
import { run, RunResult } from "./shell";

const repoRoot = path.resolve(__dirname, "../../..");

export interface StackOutputs {
    endpoint: string;
    caCertPem: string;
    credentials: Record<string, string>;
    loginCommand: string;
    dataVolume: string;
    containerName: string;
}

/** The dev stack, applied by the local apply harness (tests/local-apply) through its CLI. */
export class LocalStack {
    constructor(readonly stack: string, private readonly config: Record<string, string>, private readonly secrets: Record<string, string> = {}) {}

    private harness(args: string): RunResult {
        return run(`cd ${repoRoot} && npm run -s local -- ${args} --stack ${this.stack}`, { timeoutMs: 300_000 });
    }

    private configFlags(extra: Record<string, string>): string {
        return [
            ...Object.entries({ ...this.config, ...extra }).map(([k, v]) => `--config '${k}=${v}'`),
            ...Object.entries(this.secrets).map(([k, v]) => `--secret '${k}=${v}'`),
        ].join(" ");
    }

    /** `up`, returning the harness's progress lines; throws with its output when it fails. */
    up(extra: Record<string, string> = {}): string[] {
        const result = this.harness(`up ${this.configFlags(extra)}`);
        if (result.code !== 0) throw new Error(`local up failed:\n${result.stdout}\n${result.stderr}`);
        return result.stdout.split("\n").filter((l) => l.trim() !== "");
    }

    down(): string[] {
        const result = this.harness("down");
        if (result.code !== 0) throw new Error(`local down failed:\n${result.stdout}\n${result.stderr}`);
        return result.stdout.split("\n").filter((l) => l.trim() !== "");
    }

    outputs(): StackOutputs {
        const result = this.harness("output --json --show-secrets");
        if (result.code !== 0) throw new Error(`local output failed:\n${result.stdout}\n${result.stderr}`);
        return JSON.parse(result.stdout) as StackOutputs;
    }
}
