import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run, RunResult, runOk } from "./shell";
import type { TestNetwork } from "./testNetwork";

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

/**
 * A stack of a suite, under a registry name outside 127.0.0.0/8 (so Docker verifies TLS): `setUp`
 * makes the test network and a work directory, brings the stack up from nothing and writes its CA
 * to `caFile`; `tearDown` takes it down and removes what the suite's docker clients left.
 */
export class E2eStackSession<O extends StackOutputs = StackOutputs> {
    outputs!: O;
    work!: string;
    caFile!: string;

    constructor(readonly stack: LocalStack, readonly network: TestNetwork, readonly registryName: string, readonly endpoint: string, private readonly workPrefix: string) {}

    setUp(): void {
        this.work = fs.mkdtempSync(path.join(os.tmpdir(), this.workPrefix));
        this.caFile = path.join(this.work, "ca.crt");
        this.network.create();
        this.stack.down();
        this.stack.up();
        this.refreshOutputs();
        fs.writeFileSync(this.caFile, this.outputs.caCertPem);
    }

    refreshOutputs(): O {
        this.outputs = this.stack.outputs() as O;
        return this.outputs;
    }

    tearDown(): void {
        try {
            this.stack.down();
        } finally {
            fs.rmSync(`/etc/docker/certs.d/${this.endpoint}`, { recursive: true, force: true });
            run(`docker images --format '{{.Repository}}:{{.Tag}}' | grep '^${this.registryName}' | xargs -r docker rmi -f`);
            this.network.destroy();
            fs.rmSync(this.work, { recursive: true, force: true });
        }
    }
}

/** Waits until a container's healthcheck reports healthy. */
export function waitHealthy(container: string, timeoutMs = 120_000): void {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (run(`docker inspect -f '{{.State.Health.Status}}' ${container}`).stdout.trim() === "healthy") return;
        runOk("sleep 0.5");
    }
    throw new Error(`${container} did not become healthy within ${timeoutMs} ms`);
}
