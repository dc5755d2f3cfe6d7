/**
 * The deployment engine: given each resource's goal (type, name, inputs, options) it decides
 * create / same / update / replace against the state and carries it out through the resource
 * type's handler, like the Pulumi engine with a Terraform-bridged provider would. Deletions of
 * resources the program no longer declares, and of the old halves of create-before-delete
 * replacements, run after the program, dependents first.
 *
 * In preview mode the same decisions are only recorded (`plan`): no handler creates, updates
 * or deletes anything, no Docker client is made, the state is never written, and outputs that
 * a create, replace or update would compute are returned as unknown.
 */
import type Docker from "dockerode";
import { dockerClientFor } from "./providers/pulumi-providers";
import { handlerFor } from "./providers/index";
import { addSecret, say, warn } from "./redact";
import { applyIgnoreChanges, checkInputs, diffInputs, knownOnly, unknownKeys } from "./schema";
import { deletionOrder, describe, providerUrn, saveState } from "./state";
import type { OpContext, Props, ResourceHandler, ResourceOptions, ResourceRecord, StackState } from "./types";
import { PartialCreateError } from "./types";

export interface Goal {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent?: string;
  /** "urn::id" of the provider (custom resources other than providers). */
  provider?: string;
  inputs: Props;
  secretInputs: string[];
  options: ResourceOptions;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
}

export interface ApplyResult {
  id: string;
  outputs: Props;
  secretOutputs: string[];
}

export type Step = "create" | "same" | "update" | "replace";

/** What `up` would do with one registered custom resource, decided against the state. */
export interface Decision {
  op: Step;
  /** The live old record (all but create). */
  old?: ResourceRecord;
  /** The goal's inputs with ignoreChanges applied (create: the goal's own). */
  inputs: Props;
  /** Top-level properties that differ (unknown ones count as changed). */
  changed: string[];
  /** Why it is replaced: the properties (or "provider", or the handler's reason). */
  replaceKeys: string[];
}

/** One step of a preview's plan. Inputs hold UNKNOWN where a value is not known yet. */
export interface PlannedStep extends Omit<Goal, "propertyDependencies"> {
  op: Step | "delete";
  changed?: string[];
  replaceReasons?: string[];
  /** Why a delete happens, or why an update has no changed property. */
  note?: string;
}

export interface EngineOptions {
  projectDir: string;
  /** Write the state file after each step (off in pure unit tests; always off in preview). */
  persist?: boolean;
  /** Plan only: decide every step as up would, carry out none. */
  preview?: boolean;
  now?: () => Date;
}

/** Default providers are the engine's own; like Pulumi, their steps are not shown. */
export function isDefaultProvider(rec: { type: string; name: string }): boolean {
  return rec.type.startsWith("pulumi:providers:") && rec.name.startsWith("default");
}

function protectedReplaceError(urn: string, keys: string[]): Error {
  return new Error(
    `unable to replace resource "${urn}"\nas it is currently marked for protection ` +
      `(changed: ${keys.join(", ")}). To unprotect the resource, remove the \`protect\` flag ` +
      `from the resource in your Pulumi program and run \`pulumi up\``,
  );
}

function protectedDeleteError(rec: ResourceRecord): Error {
  return new Error(
    `refusing to delete protected resource ${describe(rec)} (${rec.urn}), which the program no longer declares; ` +
      `set protect: false on it and run up first`,
  );
}

export function makeUrn(stack: string, project: string, parent: string | undefined, type: string, name: string): string {
  let qualified = type;
  if (parent) {
    const parentType = parent.split("::")[2];
    if (parentType && parentType !== "pulumi:pulumi:Stack") qualified = `${parentType}$${type}`;
  }
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** "LOCAL_APPLY_NOW": an ISO time or an offset like +25d / +12h, to test certificate renewal. */
export function nowFromEnv(): () => Date {
  const v = process.env.LOCAL_APPLY_NOW;
  if (!v) return () => new Date();
  const m = /^\+(\d+(?:\.\d+)?)([dhm])$/.exec(v);
  if (m) {
    const ms = parseFloat(m[1]) * ({ d: 86400e3, h: 3600e3, m: 60e3 } as Record<string, number>)[m[2]];
    return () => new Date(Date.now() + ms);
  }
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new Error(`LOCAL_APPLY_NOW: cannot parse '${v}' (ISO time or +Nd/+Nh/+Nm)`);
  return () => new Date(t);
}

export class Engine {
  /** Records written by this run, in the order their steps finished. */
  readonly newList: ResourceRecord[] = [];
  /** Records from the state at the start that this run has not replaced or deleted yet. */
  readonly oldList: ResourceRecord[];
  readonly registered = new Set<string>();
  readonly errors: { urn: string; error: Error }[] = [];
  readonly counts: Record<string, number> = { create: 0, same: 0, update: 0, replace: 0, delete: 0 };
  /** Preview mode: the steps up would take, in the order they were decided. */
  readonly plan: PlannedStep[] = [];
  /** Steps under way, and when the last one started or ended (to notice a stalled program). */
  inFlight = 0;
  lastActivity = Date.now();
  private readonly clients = new Map<string, Docker>();
  private readonly providerInputs = new Map<string, Props>();
  private readonly now: () => Date;

  constructor(
    readonly state: StackState,
    private readonly opts: EngineOptions,
  ) {
    this.oldList = [...state.resources];
    for (const r of this.oldList) {
      if (r.type.startsWith("pulumi:providers:")) this.providerInputs.set(r.urn, r.inputs);
      for (const k of r.secretInputs ?? []) addSecret(r.inputs[k]);
      for (const k of r.secretOutputs ?? []) addSecret(r.outputs[k]);
    }
    this.now = opts.now ?? nowFromEnv();
  }

  /** The live (not pending-delete) old record of a URN. */
  oldLive(urn: string): ResourceRecord | undefined {
    return this.oldList.find((r) => r.urn === urn && !r.pendingDelete);
  }

  get preview(): boolean {
    return this.opts.preview === true;
  }

  persist(): void {
    if (this.preview) return;
    this.state.resources = [...this.newList, ...this.oldList];
    if (this.opts.persist !== false) saveState(this.opts.projectDir, this.state);
  }

  private removeOld(rec: ResourceRecord): void {
    const i = this.oldList.indexOf(rec);
    if (i >= 0) this.oldList.splice(i, 1);
  }

  ctx(rec: { urn: string; type: string; name: string; provider?: string }): OpContext {
    let docker: Docker | undefined;
    // A preview never talks to Docker (its host may well be out of reach, e.g. over SSH).
    if (rec.type.startsWith("docker:") && rec.provider && !this.preview) {
      const purn = providerUrn(rec.provider);
      docker = this.clients.get(purn);
      if (!docker) {
        docker = dockerClientFor(this.providerInputs.get(purn)?.host as string | undefined);
        this.clients.set(purn, docker);
      }
    }
    return {
      urn: rec.urn,
      type: rec.type,
      name: rec.name,
      docker,
      log: (msg) => say(`    ${msg.split("\n").join("\n    ")}`),
      now: () => this.now(),
    };
  }

  private line(sym: string, verb: string, goal: { type: string; name: string }, extra = ""): void {
    say(`${sym} ${verb} ${describe(goal)}${extra}`);
  }

  /** Registers one resource (the monitor calls this for every RegisterResource). */
  async apply(goal: Goal): Promise<ApplyResult> {
    if (this.registered.has(goal.urn)) throw new Error(`Duplicate resource URN '${goal.urn}'; try giving it a unique name`);
    this.registered.add(goal.urn);
    this.inFlight++;
    this.lastActivity = Date.now();
    try {
      return await this.applyInner(goal);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      this.errors.push({ urn: goal.urn, error });
      warn(`  error: ${describe(goal)}: ${error.message}`);
      throw error;
    } finally {
      this.inFlight--;
      this.lastActivity = Date.now();
    }
  }

  /** Checks a custom resource's inputs against its type; returns its handler. */
  private checkGoal(goal: Goal): ResourceHandler {
    const handler = handlerFor(goal.type);
    checkInputs(goal.type, handler.schema, goal.inputs);
    handler.validate?.(goal.inputs);
    if (goal.type.startsWith("pulumi:providers:")) this.providerInputs.set(goal.urn, goal.inputs);
    return handler;
  }

  /**
   * Decides a custom resource's step against the state, for up and preview alike: schema
   * ForceNew, replaceOnChanges, a changed provider and the handler's own reason replace; a
   * replacement of a protected resource is refused.
   */
  decide(handler: ResourceHandler, goal: Goal): Decision {
    const old = this.oldLive(goal.urn);
    if (!old) return { op: "create", inputs: goal.inputs, changed: [], replaceKeys: [] };
    const inputs = applyIgnoreChanges(goal.options.ignoreChanges, old.inputs, goal.inputs);
    const diff = handler.diff ? handler.diff(old.inputs, inputs) : diffInputs(handler.schema, old.inputs, inputs);
    const replaceKeys = [...diff.replaces];
    for (const key of goal.options.replaceOnChanges) {
      for (const c of diff.changed) {
        if ((key === "*" || c === key || key.startsWith(`${c}.`) || key.startsWith(`${c}[`)) && !replaceKeys.includes(c)) replaceKeys.push(c);
      }
    }
    if ((old.provider ?? "") !== (goal.provider ?? "")) replaceKeys.push("provider");
    const reason = handler.replaceReason?.(this.ctx(old), old);
    if (reason) replaceKeys.push(reason);
    if (replaceKeys.length === 0 && !handler.update && diff.changed.length > 0) replaceKeys.push(...diff.changed);

    if (replaceKeys.length > 0) {
      if (goal.options.protect) throw protectedReplaceError(goal.urn, replaceKeys);
      return { op: "replace", old, inputs, changed: diff.changed, replaceKeys };
    }
    if (diff.changed.length > 0 || (old.initErrors?.length ?? 0) > 0) return { op: "update", old, inputs, changed: diff.changed, replaceKeys };
    return { op: "same", old, inputs, changed: [], replaceKeys };
  }

  private async applyInner(goal: Goal): Promise<ApplyResult> {
    for (const k of goal.secretInputs) addSecret(goal.inputs[k]);
    if (!goal.custom) return this.applyComponent(goal);
    const handler = this.checkGoal(goal);
    const unknown = unknownKeys(goal.inputs);
    if (unknown.length > 0 && !this.preview) {
      throw new Error(`${describe(goal)}: input properties ${unknown.join(", ")} are unknown, which only a preview allows`);
    }
    const d = this.decide(handler, goal);
    if (this.preview) return this.planned(handler, goal, d);
    const g: Goal = { ...goal, inputs: d.inputs };
    const old = d.old;

    if (d.op === "create") {
      const rec = await this.create(handler, goal);
      this.line("+", "create", goal);
      this.counts.create++;
      return this.result(rec);
    }
    if (d.op === "replace") {
      const rec = await this.replace(handler, g, old!, d.replaceKeys);
      this.counts.replace++;
      return this.result(rec);
    }
    if (d.op === "update") {
      const outputs = await handler.update!(this.ctx({ ...g, provider: goal.provider }), old!.id!, old!.inputs, d.inputs, old!.outputs, d.changed);
      const rec = this.record(g, old!.id!, outputs, old!.secretOutputs);
      this.removeOld(old!);
      this.newList.push(rec);
      this.persist();
      this.line("~", "update", goal, d.changed.length ? ` (changed: ${d.changed.join(", ")})` : " (retrying after initialization errors)");
      this.counts.update++;
      return this.result(rec);
    }
    const rec: ResourceRecord = { ...this.record(g, old!.id!, old!.outputs, old!.secretOutputs) };
    this.removeOld(old!);
    this.newList.push(rec);
    this.persist();
    if (!isDefaultProvider(goal)) this.line("=", "same", goal);
    this.counts.same++;
    return this.result(rec);
  }

  /**
   * Preview: records the step and answers the program as the Pulumi engine does during a
   * preview: a create or replace knows only its known inputs (everything else, the id
   * included, is unknown), an update its old outputs with the known new inputs laid over,
   * a same its recorded outputs.
   */
  private planned(handler: ResourceHandler, goal: Goal, d: Decision): ApplyResult {
    const g: Goal = { ...goal, inputs: d.inputs };
    const step = this.stepOf(g, d.op);
    if (d.op === "update" || d.op === "replace") step.changed = d.changed;
    if (d.op === "replace") step.replaceReasons = d.replaceKeys;
    if (d.op === "update" && d.changed.length === 0) step.note = "retrying after initialization errors";
    this.plan.push(step);
    this.counts[d.op]++;
    let id = "";
    let outputs: Props;
    let handlerSecrets: string[] = [];
    if (d.op === "create" || d.op === "replace") {
      outputs = knownOnly(g.inputs);
    } else {
      const old = d.old!;
      id = old.id ?? "";
      handlerSecrets = old.secretOutputs;
      outputs = d.op === "same" ? old.outputs : { ...old.outputs, ...knownOnly(g.inputs) };
      for (const k of unknownKeys(g.inputs)) delete outputs[k];
    }
    return { id, outputs, secretOutputs: this.secretKeysOf(g, handler, outputs, handlerSecrets) };
  }

  private stepOf(goal: Goal, op: PlannedStep["op"]): PlannedStep {
    return {
      op,
      urn: goal.urn,
      type: goal.type,
      name: goal.name,
      custom: goal.custom,
      parent: goal.parent,
      provider: goal.provider,
      inputs: goal.inputs,
      secretInputs: this.secretInputsOf(goal),
      options: goal.options,
      dependencies: goal.dependencies,
    };
  }

  /** Secret inputs: as the program sent them, plus the properties the provider's schema marks secret. */
  private secretInputsOf(goal: { type: string; custom: boolean; inputs: Props; secretInputs: string[] }): string[] {
    const keys = new Set(goal.secretInputs ?? []);
    let schema: ResourceHandler["schema"] = {};
    try {
      if (goal.custom) schema = handlerFor(goal.type).schema;
    } catch {
      // A type no longer implemented (a delete from an old state): the request's secrets only.
    }
    for (const k of Object.keys(goal.inputs)) if (schema[k]?.secret) keys.add(k);
    return [...keys];
  }

  private applyComponent(goal: Goal): ApplyResult {
    const old = this.oldLive(goal.urn);
    if (this.preview) {
      this.plan.push(this.stepOf(goal, old ? "same" : "create"));
      this.counts[old ? "same" : "create"]++;
    }
    const rec = this.record(goal, "", old?.outputs ?? {}, old?.secretOutputs ?? []);
    if (old) this.removeOld(old);
    this.newList.push(rec);
    this.persist();
    return { id: "", outputs: {}, secretOutputs: [] };
  }

  /** Outputs a component (or the stack) registers after its constructor. */
  registerOutputs(urn: string, outputs: Props, secretOutputs: string[]): void {
    const rec = this.newList.find((r) => r.urn === urn);
    if (!rec) return;
    rec.outputs = outputs;
    rec.secretOutputs = secretOutputs;
    for (const k of secretOutputs) addSecret(outputs[k]);
    this.persist();
  }

  /** Which outputs are secret: the handler's, additionalSecretOutputs, secret inputs, schema secrets. */
  private secretKeysOf(goal: Goal, handler: ResourceHandler | undefined, outputs: Props, handlerSecrets: string[]): string[] {
    const secretOutputs = new Set<string>();
    for (const k of handlerSecrets) if (k in outputs) secretOutputs.add(k);
    for (const k of goal.options.additionalSecretOutputs) if (k in outputs) secretOutputs.add(k);
    for (const k of goal.secretInputs) if (k in outputs) secretOutputs.add(k);
    for (const k of Object.keys(outputs)) if (handler?.schema[k]?.secret) secretOutputs.add(k);
    for (const k of secretOutputs) addSecret(outputs[k]);
    return [...secretOutputs];
  }

  private record(goal: Goal, id: string, outputs: Props, handlerSecrets: string[] = []): ResourceRecord {
    const handler = goal.custom ? handlerFor(goal.type) : undefined;
    const secretOutputs = this.secretKeysOf(goal, handler, outputs, handlerSecrets);
    return {
      urn: goal.urn,
      type: goal.type,
      name: goal.name,
      custom: goal.custom,
      id,
      parent: goal.parent,
      provider: goal.provider,
      inputs: goal.inputs,
      outputs,
      secretInputs: goal.secretInputs,
      secretOutputs,
      dependencies: goal.dependencies,
      propertyDependencies: goal.propertyDependencies,
      options: goal.options,
    };
  }

  private result(rec: ResourceRecord): ApplyResult {
    return { id: rec.id ?? "", outputs: rec.outputs, secretOutputs: rec.secretOutputs };
  }

  private async create(handler: ResourceHandler, goal: Goal): Promise<ResourceRecord> {
    try {
      const r = await withTimeout(handler.create(this.ctx(goal), goal.inputs), goal.options.customTimeouts?.create, `create ${describe(goal)}`);
      const rec = this.record(goal, r.id, r.outputs, r.secretOutputs);
      this.newList.push(rec);
      this.persist();
      return rec;
    } catch (e) {
      if (e instanceof PartialCreateError) {
        // The object exists: keep it in the state so the next up retries it and down removes it.
        const rec = this.record(goal, e.id, e.outputs);
        rec.initErrors = [e.message];
        this.newList.push(rec);
        this.persist();
      }
      throw e;
    }
  }

  private async replace(handler: ResourceHandler, goal: Goal, old: ResourceRecord, keys: string[]): Promise<ResourceRecord> {
    const why = ` (replace because: ${keys.join(", ")})`;
    if (goal.options.deleteBeforeReplace) {
      await this.deleteDependentsForReplace(old);
      await this.deleteRecord(old, "delete-before-replace");
      this.removeOld(old);
      this.persist();
      const rec = await this.create(handler, goal);
      this.line("+-", "replace", goal, `${why} [delete-before-replace]`);
      return rec;
    }
    // Create before delete: the old copy is deleted after the program finishes.
    old.pendingDelete = true;
    this.persist();
    const rec = await this.create(handler, goal);
    this.line("+-", "replace", goal, why);
    return rec;
  }

  /**
   * Before a delete-before-replace of `old`, deletes the resources that depend on it through a
   * property that would force their own replacement (as the Pulumi engine does); they are
   * created anew when the program registers them.
   */
  private async deleteDependentsForReplace(old: ResourceRecord): Promise<void> {
    const dependents = this.oldList.filter((r) => {
      if (r === old || r.pendingDelete || this.registered.has(r.urn)) return false;
      if (r.provider && providerUrn(r.provider) === old.urn) return true;
      let h: ResourceHandler;
      try {
        h = handlerFor(r.type);
      } catch {
        return false;
      }
      return Object.entries(r.propertyDependencies ?? {}).some(
        ([prop, deps]) => deps.includes(old.urn) && (h.schema[prop]?.forceNew ?? true),
      );
    });
    for (const d of dependents) {
      await this.deleteDependentsForReplace(d);
      if (d.options.protect) {
        throw new Error(`unable to replace ${describe(d)} (it depends on ${describe(old)}, which is being replaced) as it is marked for protection`);
      }
      await this.deleteRecord(d, `dependent of ${old.name}, replaced with it`);
      this.removeOld(d);
      this.persist();
    }
  }

  /** Deletes one record through its handler (or keeps it, for retainOnDelete). */
  async deleteRecord(rec: ResourceRecord, why?: string): Promise<"deleted" | "kept"> {
    if (rec.options?.retainOnDelete) {
      say(`- kept ${describe(rec)}${rec.id && rec.id !== rec.name ? ` [${rec.id}]` : ""} (retainOnDelete): dropped from the state, not deleted`);
      return "kept";
    }
    if (rec.custom) {
      const handler = handlerFor(rec.type);
      await withTimeout(
        handler.delete(this.ctx(rec), rec.id ?? "", rec.inputs, rec.outputs),
        rec.options?.customTimeouts?.delete,
        `delete ${describe(rec)}`,
      );
    }
    if (rec.custom && !isDefaultProvider(rec)) {
      this.line("-", "delete", rec, why ? ` (${why})` : "");
    }
    this.counts.delete++;
    return "deleted";
  }

  /** At the start of an up: old halves of replacements a failed run left behind. */
  async deletePendingFromEarlierRun(): Promise<void> {
    const pending = this.oldList.filter((r) => r.pendingDelete);
    for (const rec of deletionOrder(pending)) {
      await this.deleteRecord(rec, "left over from an earlier replacement");
      this.removeOld(rec);
      this.persist();
    }
  }

  /**
   * After a successful program run: deletes what the program no longer declares and the old
   * halves of replacements, dependents first. A protected resource stops the deletion, as in
   * Pulumi ("refusing to delete protected resource").
   */
  async deleteUnregistered(): Promise<void> {
    const doomed = this.oldList.filter((r) => r.pendingDelete || !this.registered.has(r.urn));
    const deletedUrns = new Set<string>();
    for (const rec of deletionOrder(doomed)) {
      if (rec.options?.protect && !rec.pendingDelete) throw protectedDeleteError(rec);
      const dw = rec.options?.deletedWith;
      if (dw && deletedUrns.has(dw) && !rec.options.retainOnDelete) {
        say(`- delete ${describe(rec)} (deleted with ${dw.split("::").pop()})`);
      } else {
        await this.deleteRecord(rec, rec.pendingDelete ? "replaced" : "no longer declared");
      }
      deletedUrns.add(rec.urn);
      this.removeOld(rec);
      this.persist();
    }
  }

  /**
   * Preview: the deletions up would carry out after the program (what it no longer declares,
   * old halves an earlier run left), dependents first; a protected one is refused as in up.
   */
  planDeletes(): void {
    const doomed = this.oldList.filter((r) => r.pendingDelete || !this.registered.has(r.urn));
    for (const rec of deletionOrder(doomed)) {
      if (rec.options?.protect && !rec.pendingDelete) throw protectedDeleteError(rec);
      const step: PlannedStep = {
        op: "delete",
        urn: rec.urn,
        type: rec.type,
        name: rec.name,
        custom: rec.custom,
        parent: rec.parent,
        provider: rec.provider,
        inputs: rec.inputs,
        secretInputs: rec.custom ? this.secretInputsOf(rec) : rec.secretInputs,
        options: rec.options,
        dependencies: rec.dependencies,
        note: rec.pendingDelete ? "left over from an earlier replacement" : rec.options?.retainOnDelete ? "retainOnDelete: kept, not deleted" : "no longer declared",
      };
      this.plan.push(step);
      this.counts.delete++;
    }
  }

  /** down: deletes everything, dependents first; protect / retainOnDelete keep theirs. */
  async destroyAll(): Promise<void> {
    const all = [...this.oldList];
    const deletedUrns = new Set<string>();
    for (const rec of deletionOrder(all)) {
      if (rec.options?.protect) {
        say(`- kept ${describe(rec)}${rec.id && rec.id !== rec.name ? ` [${rec.id}]` : ""} (protect): dropped from the state, not deleted`);
      } else {
        const dw = rec.options?.deletedWith;
        if (dw && deletedUrns.has(dw) && !rec.options.retainOnDelete) say(`- delete ${describe(rec)} (deleted with its owner)`);
        else await this.deleteRecord(rec);
        deletedUrns.add(rec.urn);
      }
      this.removeOld(rec);
      this.persist();
    }
  }
}

function parseTimeout(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s.trim());
  if (!m) throw new Error(`customTimeouts: cannot parse '${s}'`);
  return parseFloat(m[1]) * ({ ms: 1, s: 1e3, m: 60e3, h: 3600e3 } as Record<string, number>)[m[2]];
}

async function withTimeout<T>(p: Promise<T>, timeout: string | undefined, what: string): Promise<T> {
  const ms = parseTimeout(timeout);
  if (ms === undefined) return p;
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${timeout} (customTimeouts)`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}
