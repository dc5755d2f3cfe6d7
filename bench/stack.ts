/**
 * The stack, applied by the local apply harness (tests/local-apply) through its CLI, as a user runs
 * `pulumi up`: `npm run local -- up|down|output --stack <stack>`.
 *
 * `up` is timed to the first authenticated 200 from /v2/ (issue figure 3). The password is made
 * during `up`; so that the figure is not inflated by a second harness start (`output`), the poll
 * reads it from the harness's state file (.local-state/<stack>.json, written after every resource)
 * as soon as it is there, and falls back to `output` after `up` if the file's layout ever changes.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { maintenanceScriptName } from "../components/maintenanceScript";
import { Cleanup } from "./cleanup";
import { nowMs, runOk, sleep } from "./exec";
import { authorization as authorizationFor, httpsRequest, RegistryTarget, waitForAuthenticated200 } from "./target";

export const repoRoot = path.resolve(__dirname, "..");

export interface StackOutputs {
    endpoint: string;
    caCertPem: string;
    credentials: Record<string, string>;
    containerName: string;
    dataVolume: string;
    /** Empty unless auth is token. */
    tokenRealm?: string;
}

/** Seconds from starting `up`, to each point of the way to the first authenticated 200. */
export interface UpTiming {
    /** The figure: from starting `npm run local -- up` to the first authenticated 200 from /v2/. */
    firstAuthenticated200: number;
    /** First Docker event of the stack (its first volume): the harness's start-up and the program before it. */
    firstDockerEvent?: number;
    /** The registry container's start event. */
    registryContainerStart?: number;
    /** First answer of any kind from /v2/ (the registry listening). */
    firstAnswer?: number;
    /** The container's health_status: healthy event (the harness waits for it). */
    healthy?: number;
    /** `up` exited. */
    upExited: number;
    /** Where the poll got the password: the state file during `up`, or `output` after it. */
    passwordFrom: "state-file" | "output";
}

export class HarnessStack {
    constructor(readonly stack: string, private readonly baseConfig: string[] = []) {}

    private args(cmd: string, extra: string[] = []): string[] {
        return ["run", "-s", "local", "--", cmd, "--stack", this.stack, ...extra];
    }

    private configFlags(config: string[]): string[] {
        return [...this.baseConfig, ...config].flatMap((c) => ["--config", c]);
    }

    async outputs(): Promise<StackOutputs | undefined> {
        const r = await runOk("npm", this.args("output", ["--json", "--show-secrets"]), { cwd: repoRoot, timeoutMs: 120_000 });
        const o = JSON.parse(r.stdout) as Partial<StackOutputs>;
        return o.endpoint ? o as StackOutputs : undefined;
    }

    async down(): Promise<void> {
        await runOk("npm", this.args("down"), { cwd: repoRoot, timeoutMs: 300_000 });
    }

    /** `up` untimed (a knob change: the harness replaces the container), then waits for a 200. */
    async up(config: string[] = []): Promise<RegistryTarget> {
        await runOk("npm", this.args("up", this.configFlags(config)), { cwd: repoRoot, timeoutMs: 300_000 });
        const target = await this.target();
        await waitForAuthenticated200(target, 60_000);
        return target;
    }

    async target(): Promise<RegistryTarget> {
        const o = await this.outputs();
        if (!o) throw new Error(`stack ${this.stack} has no outputs`);
        const [username, password] = Object.entries(o.credentials)[0];
        const port = Number(o.endpoint.split(":").pop());
        return {
            label: "stack", host: `127.0.0.1:${port}`, username, password, caPem: o.caCertPem, container: o.containerName,
            ...(o.tokenRealm ? { token: { realm: o.tokenRealm, service: o.endpoint } } : {}),
        };
    }

    /** The first user's password, if the harness has written it to its state file yet. */
    private peekCredentials(): { username: string; password: string } | undefined {
        try {
            const file = path.join(repoRoot, ".local-state", `${this.stack}.json`);
            const st = JSON.parse(fs.readFileSync(file, "utf8")) as { resources?: { type: string; name: string; outputs?: { result?: unknown } }[] };
            for (const r of st.resources ?? []) {
                const m = /-credentials-(.+)-password$/.exec(r.name);
                if (r.type === "random:index/randomPassword:RandomPassword" && m && typeof r.outputs?.result === "string") {
                    return { username: m[1], password: r.outputs.result };
                }
            }
        } catch {
            // Not written yet, or mid-rename.
        }
        return undefined;
    }

    /** `up` on a stack that is not up, timed to the first authenticated 200. */
    async upTimed(port: number, containerName: string, token?: RegistryTarget["token"]): Promise<{ target: RegistryTarget; timing: UpTiming }> {
        const events = spawn("docker", ["events", "--format", "{{json .}}", "--filter", "type=container", "--filter", "type=volume"], { stdio: ["ignore", "pipe", "ignore"] });
        const seen: { firstDockerEvent?: number; registryContainerStart?: number; healthy?: number } = {};
        let buffered = "";
        events.stdout.setEncoding("utf8").on("data", (d: string) => {
            buffered += d;
            let i: number;
            while ((i = buffered.indexOf("\n")) >= 0) {
                const line = buffered.slice(0, i);
                buffered = buffered.slice(i + 1);
                try {
                    const e = JSON.parse(line) as { Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
                    const name = e.Actor?.Attributes?.name ?? e.Actor?.ID ?? "";
                    if (!name.startsWith(containerName)) continue;
                    const t = nowMs();
                    seen.firstDockerEvent ??= t;
                    if (name === containerName && e.Action === "start") seen.registryContainerStart ??= t;
                    if (name === containerName && e.Action === "health_status: healthy") seen.healthy ??= t;
                } catch { /* not JSON */ }
            }
        });
        await sleep(300); // let `docker events` subscribe

        const started = nowMs();
        const up = spawn("npm", this.args("up", this.configFlags([])), { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
        let upOut = "";
        up.stdout.setEncoding("utf8").on("data", (d: string) => { upOut += d; });
        up.stderr.setEncoding("utf8").on("data", (d: string) => { upOut += d; });
        let upExit: { code: number; at: number } | undefined;
        const exited = new Promise<void>((resolve) => up.on("close", (code) => { upExit = { code: code ?? 1, at: nowMs() }; resolve(); }));

        let creds: { username: string; password: string } | undefined;
        let firstAnswer: number | undefined;
        let first200: number | undefined;
        let passwordFrom: UpTiming["passwordFrom"] = "state-file";
        try {
            const url = `https://127.0.0.1:${port}/v2/`;
            const deadline = started + 300_000;
            while (first200 === undefined) {
                if (nowMs() > deadline) throw new Error(`no authenticated 200 from ${url} within 300 s of starting up`);
                if (upExit && upExit.code !== 0) throw new Error(`local up exited ${upExit.code}:\n${upOut.trim().split("\n").slice(-20).join("\n")}`);
                creds ??= this.peekCredentials();
                if (!creds && upExit) {
                    const t = await this.target();
                    creds = { username: t.username, password: t.password };
                    passwordFrom = "output";
                }
                // With tokens, a login at the token service first (it may not answer yet), as docker does.
                const authorization = creds
                    ? await authorizationFor({ label: "stack", host: `127.0.0.1:${port}`, ...creds, caPem: "", container: containerName, token }).catch(() => undefined)
                    : undefined;
                const a = await httpsRequest(url, { authorization, timeoutMs: 1000 });
                const t = nowMs();
                if (a && firstAnswer === undefined) firstAnswer = t;
                if (a?.status === 200 && authorization) first200 = t;
                else await sleep(50);
            }
            await exited;
            if (upExit!.code !== 0) throw new Error(`local up exited ${upExit!.code}:\n${upOut.trim().split("\n").slice(-20).join("\n")}`);
        } finally {
            if (!upExit) {
                try { process.kill(up.pid!, "SIGTERM"); } catch { /* gone */ }
                await exited;
            }
            events.kill("SIGTERM");
        }
        const rel = (t: number | undefined) => (t === undefined ? undefined : (t - started) / 1000);
        const target = await this.target();
        // The poll ran without the CA (unknown when it started); check the chain once now.
        await waitForAuthenticated200(target, 10_000);
        return {
            target,
            timing: {
                firstAuthenticated200: rel(first200)!,
                firstDockerEvent: rel(seen.firstDockerEvent),
                registryContainerStart: rel(seen.registryContainerStart),
                firstAnswer: rel(firstAnswer),
                healthy: rel(seen.healthy),
                upExited: rel(upExit!.at)!,
                passwordFrom,
            },
        };
    }

    /** Seconds the harness CLI takes to start and exit doing nothing (`--help`): its fixed cost per command. */
    async harnessStartSeconds(): Promise<number> {
        const r = await runOk("npm", ["run", "-s", "local", "--", "--help"], { cwd: repoRoot, timeoutMs: 120_000 });
        return r.ms / 1000;
    }
}

/** A stack's destroy leaves its maintenance script installed (it restores backups); the clean-up removes it unless it was there before the run. */
export function removeNewMaintenanceScriptAtCleanup(cleanup: Cleanup, primaryContainer: string): void {
    const script = path.join("/usr/local/sbin", maintenanceScriptName(primaryContainer));
    const existed = fs.existsSync(script);
    cleanup.add(`remove ${script} unless it was there before`, () => { if (!existed) fs.rmSync(script, { force: true }); });
}
