/**
 * Programmatic API of the local apply harness, for the e2e, firewall and benchmark suites.
 * Each up/preview/down runs the CLI in a child process (a fresh Pulumi runtime per run, like
 * `pulumi up`).
 *
 *   const r = await up("dev", { "private-registry:port": 15000 });
 *   r.outputs.endpoint              // plain values, secrets revealed (as --show-secrets)
 *   const p = await preview("dev", { "private-registry:port": 15001 });
 *   p.plan?.steps.filter((s) => s.op === "replace")
 *   await down("dev");
 */
import { spawn } from "child_process";
import * as path from "path";
import { readOutputs } from "./run";
import { loadState } from "./state";
import { readProject } from "./config";
import type { PreviewPlan } from "./preview";
import type { StackOutput, StackState } from "./types";

export type { StackState, ResourceRecord, StackOutput } from "./types";
export type { PreviewPlan, PreviewStep, PreviewOp } from "./preview";

export const REPO_ROOT = path.resolve(__dirname, "../..");

export interface HarnessOptions {
  /** Project directory (default: the repo root). */
  projectDir?: string;
  /** Secret config values (marked secret, like `pulumi config set --secret`). */
  secretConfig?: Record<string, unknown>;
  /** Extra environment, e.g. { LOCAL_APPLY_NOW: "+25d" }. */
  env?: Record<string, string>;
  /** Kill the run after this long (default 10 minutes). */
  timeoutMs?: number;
  /** Echo the harness's progress lines to this process's stdout/stderr. */
  echo?: boolean;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface UpResult extends RunResult {
  /** Stack outputs with secrets revealed. */
  outputs: Record<string, unknown>;
}

export class LocalApplyError extends Error {
  constructor(
    message: string,
    readonly result: RunResult,
  ) {
    super(message);
  }
}

function flagValue(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** Runs the CLI with arguments; resolves with its exit code and output (never throws on failure). */
export function runCli(args: string[], opts: HarnessOptions = {}): Promise<RunResult> {
  const cli = path.join(__dirname, "cli.ts");
  const projectDir = path.resolve(opts.projectDir ?? REPO_ROOT);
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["-r", require.resolve("ts-node/register/transpile-only"), cli, ...args, "--project-dir", projectDir],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, TS_NODE_PROJECT: path.join(REPO_ROOT, "tsconfig.json"), ...(opts.env ?? {}) },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (opts.echo) process.stdout.write(d);
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (opts.echo) process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 600_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

function configArgs(config: Record<string, unknown> = {}, secret: Record<string, unknown> = {}): string[] {
  const args: string[] = [];
  for (const [k, v] of Object.entries(config)) args.push("--config", `${k}=${flagValue(v)}`);
  for (const [k, v] of Object.entries(secret)) args.push("--secret", `${k}=${flagValue(v)}`);
  return args;
}

/** `up` for a stack with optional config overrides; throws LocalApplyError when it fails. */
export async function up(stack: string, config: Record<string, unknown> = {}, opts: HarnessOptions = {}): Promise<UpResult> {
  const r = await tryUp(stack, config, opts);
  if (r.code !== 0) throw new LocalApplyError(`local up --stack ${stack} failed (exit ${r.code}):\n${r.stderr || r.stdout}`, r);
  return r;
}

/** `up` that resolves with the result even when it fails (for tests expecting a failure). */
export async function tryUp(stack: string, config: Record<string, unknown> = {}, opts: HarnessOptions = {}): Promise<UpResult> {
  const r = await runCli(["up", "--stack", stack, ...configArgs(config, opts.secretConfig)], opts);
  return { ...r, outputs: r.code === 0 ? outputs(stack, opts) : {} };
}

export interface PreviewResult extends RunResult {
  /** The plan (`preview --json --show-secrets`); undefined when the preview failed. */
  plan?: PreviewPlan;
}

/**
 * `preview` for a stack with optional config overrides: the steps `up` would take, nothing
 * carried out. Resolves even when it fails (code, stderr; no plan).
 */
export async function preview(stack: string, config: Record<string, unknown> = {}, opts: HarnessOptions = {}): Promise<PreviewResult> {
  const r = await runCli(["preview", "--stack", stack, "--json", "--show-secrets", ...configArgs(config, opts.secretConfig)], opts);
  return { ...r, plan: r.code === 0 ? (JSON.parse(r.stdout) as PreviewPlan) : undefined };
}

/** `down` for a stack; throws LocalApplyError when it fails. */
export async function down(stack: string, opts: HarnessOptions = {}): Promise<RunResult> {
  const r = await runCli(["down", "--stack", stack], opts);
  if (r.code !== 0) throw new LocalApplyError(`local down --stack ${stack} failed (exit ${r.code}):\n${r.stderr || r.stdout}`, r);
  return r;
}

/** The stack's outputs from its state file, secrets revealed (like `output --json --show-secrets`). */
export function outputs(stack: string, opts: Pick<HarnessOptions, "projectDir"> = {}): Record<string, unknown> {
  const outs: Record<string, StackOutput> = readOutputs(opts.projectDir ?? REPO_ROOT, stack);
  return Object.fromEntries(Object.entries(outs).map(([k, o]) => [k, o.value]));
}

/** Names of the stack outputs that are secret. */
export function secretOutputNames(stack: string, opts: Pick<HarnessOptions, "projectDir"> = {}): string[] {
  const outs = readOutputs(opts.projectDir ?? REPO_ROOT, stack);
  return Object.keys(outs).filter((k) => outs[k].secret);
}

/** The raw state (resources with inputs, outputs, ids, options), for assertions. */
export function state(stack: string, opts: Pick<HarnessOptions, "projectDir"> = {}): StackState {
  const dir = path.resolve(opts.projectDir ?? REPO_ROOT);
  return loadState(dir, stack, readProject(dir).name);
}
