/**
 * A preview's plan as the CLI prints it: one line per resource like `pulumi preview`, or one
 * JSON document (the contract other suites test against). Secret inputs read "[secret]" unless
 * shown; values not known before the apply read "[unknown]".
 */
import type { PlannedStep } from "./engine";
import { isDefaultProvider } from "./engine";
import { redact } from "./redact";
import { showUnknowns, UNKNOWN, unknownKeys } from "./schema";
import type { ResourceOptions } from "./types";

export type PreviewOp = "create" | "same" | "update" | "replace" | "delete";

export const SECRET_PLACEHOLDER = "[secret]";
export const UNKNOWN_PLACEHOLDER = "[unknown]";

export interface PreviewStep {
  op: PreviewOp;
  urn: string;
  type: string;
  name: string;
  /** False for components and the stack. */
  custom: boolean;
  parent?: string;
  /** "urn::id" of the provider; the id reads "[unknown]" while that provider is still to be created. */
  provider?: string;
  /** Inputs as the program declared them (ignoreChanges applied); secrets "[secret]" unless shown. */
  inputs: Record<string, unknown>;
  /** Top-level inputs that are secret. */
  secretInputs: string[];
  /** Top-level inputs that are, or contain, values not known before the apply. */
  unknownInputs: string[];
  options: ResourceOptions;
  /** Resources it depends on (dependsOn and the ones whose outputs feed its inputs). */
  dependencies: string[];
  /** update / replace: the top-level inputs that differ. */
  changed?: string[];
  /** replace: the properties (or "provider", or a reason such as a certificate due for renewal) forcing it. */
  replaceReasons?: string[];
  /** delete: why; update without a changed input: why. */
  note?: string;
}

export interface PreviewPlan {
  stack: string;
  steps: PreviewStep[];
  /** Counts of the steps by op; the engine's default providers are not counted (as Pulumi's summary). */
  summary: Record<PreviewOp, number>;
}

const OPS: PreviewOp[] = ["create", "update", "replace", "delete", "same"];

export function planSummary(steps: { op: PreviewOp; type: string; name: string }[]): Record<PreviewOp, number> {
  const summary = Object.fromEntries(OPS.map((op) => [op, 0])) as Record<PreviewOp, number>;
  for (const s of steps) if (!isDefaultProvider(s)) summary[s.op]++;
  return summary;
}

/** Masks secrets: secret inputs wholesale, and any secret value that turns up elsewhere. */
function maskValue(v: unknown): unknown {
  if (typeof v === "string") return redact(v);
  if (Array.isArray(v)) return v.map(maskValue);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskValue(x)]));
  }
  return v;
}

export function toPreviewStep(step: PlannedStep, showSecrets: boolean): PreviewStep {
  const inputs: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(step.inputs)) {
    if (!showSecrets && step.secretInputs.includes(k)) inputs[k] = SECRET_PLACEHOLDER;
    else inputs[k] = showUnknowns(showSecrets ? v : maskValue(v), UNKNOWN_PLACEHOLDER);
  }
  const out: PreviewStep = {
    op: step.op,
    urn: step.urn,
    type: step.type,
    name: step.name,
    custom: step.custom,
    ...(step.parent ? { parent: step.parent } : {}),
    ...(step.provider ? { provider: step.provider.split(UNKNOWN).join(UNKNOWN_PLACEHOLDER) } : {}),
    inputs,
    secretInputs: [...step.secretInputs],
    unknownInputs: unknownKeys(step.inputs),
    options: step.options,
    dependencies: step.dependencies,
  };
  if (step.changed) out.changed = step.changed;
  if (step.replaceReasons) out.replaceReasons = step.replaceReasons;
  if (step.note) out.note = step.note;
  return out;
}

export function toPreviewPlan(stack: string, steps: PlannedStep[], showSecrets: boolean): PreviewPlan {
  return { stack, steps: steps.map((s) => toPreviewStep(s, showSecrets)), summary: planSummary(steps) };
}

const SYMBOL: Record<PreviewOp, string> = { create: "+", update: "~", replace: "+-", delete: "-", same: "=" };

/** One line per step (the engine's default providers left out, as Pulumi does), then the summary. */
export function renderPlanText(steps: PlannedStep[]): string {
  const lines: string[] = [];
  for (const s of steps) {
    if (isDefaultProvider(s)) continue;
    let extra = "";
    if (s.op === "update") extra = s.changed?.length ? ` (changed: ${s.changed.join(", ")})` : s.note ? ` (${s.note})` : "";
    if (s.op === "replace") {
      extra = ` (replace because: ${(s.replaceReasons ?? []).join(", ")})${s.options.deleteBeforeReplace ? " [delete-before-replace]" : ""}`;
    }
    if (s.op === "delete" && s.note) extra = ` (${s.note})`;
    const unknown = s.op === "update" || s.op === "replace" ? unknownKeys(s.inputs) : [];
    if (unknown.length > 0) extra += ` [unknown until applied: ${unknown.join(", ")}]`;
    lines.push(`${SYMBOL[s.op]} ${s.op} ${s.type} ${s.name}${extra}`);
  }
  const n = planSummary(steps);
  lines.push(`Resources: ${n.create} to create, ${n.update} to update, ${n.replace} to replace, ${n.delete} to delete, ${n.same} unchanged`);
  return lines.join("\n");
}
