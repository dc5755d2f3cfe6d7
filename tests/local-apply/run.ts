/**
 * up / preview / down / output, in-process (the CLI runs these; the programmatic API spawns the CLI so
 * each run gets a fresh Pulumi runtime, like `pulumi up` does).
 */
import * as path from "path";
import { inspect } from "util";
import { configEnv, loadStackConfig } from "./config";
import type { StackConfig } from "./config";
import { Engine } from "./engine";
import { createLocalMonitor } from "./monitor";
import type { LocalMonitor } from "./monitor";
import { toPreviewPlan, renderPlanText } from "./preview";
import { loadPulumiSdk, useProjectTsconfig } from "./project";
import type { PulumiSdk } from "./project";
import { addSecret, say, warn } from "./redact";
import { loadState, lockStack, saveState } from "./state";
import type { StackOutput } from "./types";

export interface RunOptions {
  projectDir: string;
  stack: string;
  /** The program's entry, default <projectDir>/index.ts. */
  program?: string;
  config?: Record<string, unknown>;
  secretConfig?: Record<string, unknown>;
}

/* eslint-disable @typescript-eslint/no-require-imports */

function summary(counts: Record<string, number>): string {
  const parts = Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k === "same" ? "unchanged" : k === "create" ? "created" : k === "update" ? "updated" : k === "replace" ? "replaced" : "deleted"}`);
  return `Resources: ${parts.length ? parts.join(", ") : "none"}`;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : inspect(e);
}

function errorText(e: unknown): string {
  return e instanceof Error ? (e.stack ?? e.message) : inspect(e);
}

/** Reads the stack's config and hands it to the program as a Pulumi language host would. */
function prepareConfig(projectDir: string, opts: RunOptions): StackConfig {
  const cfg = loadStackConfig(projectDir, opts.stack, opts.config, opts.secretConfig);
  for (const k of cfg.secretKeys) addSecret(cfg.values[k]);
  for (const k of cfg.undecryptable) {
    warn(`warning: ${k} is encrypted in Pulumi.${opts.stack}.yaml and cannot be decrypted here; pass it with --secret ${k}=...`);
  }
  Object.assign(process.env, configEnv(cfg));
  return cfg;
}

/** Says which @pulumi/pulumi and tsconfig the program runs with, when they are the project's own. */
function noteProjectToolchain(sdk: PulumiSdk, tsconfig: string | undefined, print: (msg: string) => void): void {
  if (sdk.projectLocal) print(`Using the project's @pulumi/pulumi ${sdk.version} (${sdk.dir})`);
  if (tsconfig) print(`Compiling the program with ${tsconfig}`);
}

/**
 * Runs the program against the engine through the project's @pulumi/pulumi mock runtime
 * (isDryRun when the engine previews). Returns what failed; empty when everything registered.
 */
async function runProgram(
  sdk: PulumiSdk,
  engine: Engine,
  cfg: StackConfig,
  opts: RunOptions,
): Promise<{ failures: string[]; monitor: LocalMonitor }> {
  const projectDir = path.resolve(opts.projectDir);
  const { pulumi, settings, state: stateMod } = sdk;
  const monitor = createLocalMonitor(sdk, engine, opts.stack, cfg.project, cfg.values);
  settings.setMockOptions(monitor, cfg.project, opts.stack, engine.preview);
  const store = stateMod.getStore();
  store.supportsSecrets = true;
  store.supportsResourceReferences = false;
  store.supportsOutputValues = false;
  store.supportsDeletedWith = true;
  store.supportsAliasSpecs = true;
  store.supportsParameterization = true;
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(cfg.values).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
    cfg.secretKeys,
  );

  const unexpected: unknown[] = [];
  const onRejection = (reason: unknown) => {
    const msg = reason instanceof Error ? reason.message : String(reason);
    if (engine.errors.some((e) => msg.includes(e.error.message) || e.error.message.includes(msg))) return;
    unexpected.push(reason);
  };
  process.on("unhandledRejection", onRejection);

  const program = path.resolve(projectDir, opts.program ?? "index.ts");
  let programError: unknown;
  // After a failed step the resources that wait on it never register, so the program never
  // settles: stop waiting once a step failed and nothing has moved for a while. A program whose
  // promises can no longer settle at all empties the event loop ("beforeExit").
  let stalledTimer: NodeJS.Timeout | undefined;
  let onBeforeExit: (() => void) | undefined;
  const stalled = new Promise<"stalled" | "hung">((resolve) => {
    stalledTimer = setInterval(() => {
      if (engine.errors.length > 0 && engine.inFlight === 0 && Date.now() - engine.lastActivity > 1500) resolve("stalled");
    }, 250);
    stalledTimer.unref();
    onBeforeExit = () => resolve("hung");
    process.on("beforeExit", onBeforeExit);
  });
  const finished = (async () => {
    await pulumi.runtime.runInPulumiStack(async () => {
      const exp = require(program);
      const val = typeof exp === "function" ? exp() : exp?.default !== undefined && Object.keys(exp).length === 1 ? exp.default : exp;
      return await (typeof val === "function" ? val() : val);
    });
    await settings.waitForRPCs();
    return "done" as const;
  })();
  try {
    const how = await Promise.race([finished, stalled]);
    if (how === "hung") programError = new Error("the program did not finish: promises are still pending but nothing can settle them");
  } catch (e) {
    programError = e;
  } finally {
    clearInterval(stalledTimer);
    if (onBeforeExit) process.off("beforeExit", onBeforeExit);
  }
  await new Promise((r) => setImmediate(r));
  process.off("unhandledRejection", onRejection);

  const failures = [...engine.errors.map((e) => `${e.urn}: ${e.error.message}`)];
  if (programError && !engine.errors.some((e) => errorMessage(programError).includes(e.error.message))) {
    failures.push(`program: ${errorText(programError)}`);
  }
  for (const u of unexpected) failures.push(`program: ${errorText(u)}`);
  // One error can surface both as the program's and as unhandled rejections: say it once.
  return { failures: [...new Set(failures)], monitor };
}

export async function up(opts: RunOptions): Promise<number> {
  const projectDir = path.resolve(opts.projectDir);
  const cfg = prepareConfig(projectDir, opts);
  process.chdir(projectDir);
  lockStack(projectDir, opts.stack);
  const sdk = loadPulumiSdk(projectDir);
  const tsconfig = useProjectTsconfig(projectDir);

  const state = loadState(projectDir, opts.stack, cfg.project);
  const engine = new Engine(state, { projectDir });
  say(`Updating stack ${opts.stack} (project ${cfg.project}, local apply harness)`);
  noteProjectToolchain(sdk, tsconfig, say);
  await engine.deletePendingFromEarlierRun();

  const { failures, monitor } = await runProgram(sdk, engine, cfg, opts);
  if (failures.length > 0) {
    engine.persist();
    warn(`error: update failed; no resources were deleted.\n${failures.map((f) => `  - ${f}`).join("\n")}`);
    warn(summary(engine.counts));
    return 1;
  }

  try {
    await engine.deleteUnregistered();
  } catch (e) {
    engine.persist();
    warn(`error: ${(e as Error).message}`);
    return 1;
  }
  const outs = monitor.stackOutputs ?? { values: {}, secretKeys: [] };
  const stackOutputs: Record<string, StackOutput> = {};
  for (const [k, v] of Object.entries(outs.values)) stackOutputs[k] = { value: v, secret: outs.secretKeys.includes(k) };
  state.outputs = stackOutputs;
  engine.persist();
  saveState(projectDir, state);
  say(summary(engine.counts));
  const names = Object.keys(stackOutputs).sort();
  if (names.length) say(`Outputs:\n${names.map((k) => `    ${k}: ${brief(stackOutputs[k])}`).join("\n")}`);
  return 0;
}

export interface PreviewOptions extends RunOptions {
  /** Print the plan as one JSON document (PreviewPlan) instead of lines. */
  json?: boolean;
  /** Show secret input values instead of "[secret]". */
  showSecrets?: boolean;
}

/**
 * preview: the program runs with isDryRun, every step is decided exactly as up would decide
 * it, and nothing is carried out: no handler runs, no Docker client is made, no state or lock
 * file is written (an empty stack's state file does not come into being).
 */
export async function preview(opts: PreviewOptions): Promise<number> {
  const projectDir = path.resolve(opts.projectDir);
  const cfg = prepareConfig(projectDir, opts);
  process.chdir(projectDir);
  const sdk = loadPulumiSdk(projectDir);
  const tsconfig = useProjectTsconfig(projectDir);

  const state = loadState(projectDir, opts.stack, cfg.project);
  const engine = new Engine(state, { projectDir, preview: true, persist: false });
  // With --json, stdout holds the plan only.
  const note = opts.json ? warn : say;
  note(`Previewing update of stack ${opts.stack} (project ${cfg.project}, local apply harness)`);
  noteProjectToolchain(sdk, tsconfig, note);

  const { failures } = await runProgram(sdk, engine, cfg, opts);
  if (failures.length === 0) {
    try {
      engine.planDeletes();
    } catch (e) {
      failures.push((e as Error).message);
    }
  }
  if (failures.length > 0) {
    warn(`error: preview failed; nothing was changed.\n${failures.map((f) => `  - ${f}`).join("\n")}`);
    return 1;
  }
  if (opts.json) {
    const plan = toPreviewPlan(opts.stack, engine.plan, opts.showSecrets === true);
    process.stdout.write(JSON.stringify(plan, null, 2) + "\n");
  } else {
    say(renderPlanText(engine.plan));
  }
  return 0;
}

function brief(o: StackOutput): string {
  if (o.secret) return "[secret]";
  const text = JSON.stringify(o.value) ?? "undefined";
  return text.length > 90 ? `${text.substring(0, 87)}...` : text;
}

export async function down(opts: RunOptions): Promise<number> {
  const projectDir = path.resolve(opts.projectDir);
  const cfg = loadStackConfig(projectDir, opts.stack, opts.config, opts.secretConfig);
  process.chdir(projectDir);
  lockStack(projectDir, opts.stack);
  const state = loadState(projectDir, opts.stack, cfg.project);
  const engine = new Engine(state, { projectDir });
  say(`Destroying stack ${opts.stack} (project ${cfg.project}, local apply harness)`);
  try {
    await engine.destroyAll();
  } catch (e) {
    engine.persist();
    warn(`error: ${(e as Error).message}`);
    return 1;
  }
  state.outputs = {};
  engine.persist();
  saveState(projectDir, state);
  say(summary(engine.counts));
  return 0;
}

export function readOutputs(projectDir: string, stack: string): Record<string, StackOutput> {
  const cfgProject = loadStackConfig(path.resolve(projectDir), stack).project;
  return loadState(path.resolve(projectDir), stack, cfgProject).outputs;
}

/** Prints outputs like `pulumi stack output` ([secret] unless showSecrets). */
export function printOutputs(outputs: Record<string, StackOutput>, json: boolean, showSecrets: boolean, only?: string): void {
  const shown = (o: StackOutput) => (o.secret && !showSecrets ? "[secret]" : o.value);
  if (only !== undefined) {
    const o = outputs[only];
    if (!o) throw new Error(`current stack does not have output property '${only}'`);
    const v = shown(o);
    process.stdout.write((json ? JSON.stringify(v, null, 2) : typeof v === "string" ? v : JSON.stringify(v)) + "\n");
    return;
  }
  if (json) {
    const obj = Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, shown(o)]));
    process.stdout.write(JSON.stringify(obj, null, 2) + "\n");
    return;
  }
  const keys = Object.keys(outputs).sort();
  let text = `Current stack outputs (${keys.length}):\n`;
  if (keys.length) {
    const w = Math.max(6, ...keys.map((k) => k.length));
    text += `    ${"OUTPUT".padEnd(w)}  VALUE\n`;
    for (const k of keys) {
      const v = shown(outputs[k]);
      text += `    ${k.padEnd(w)}  ${typeof v === "string" ? v : JSON.stringify(v)}\n`;
    }
  }
  // Secret outputs are already masked by their flag, as `pulumi stack output` does.
  process.stdout.write(text);
}
