/**
 * Property schemas of the resource types the harness implements: which input properties
 * exist (anything else is refused), which force a replacement (the provider's ForceNew /
 * RequiresReplace), defaults (so leaving a property out equals setting its default), and
 * which lists are sets (order does not matter).
 */

export interface PropSpec {
  /** Changing this property replaces the resource (ForceNew). */
  forceNew?: boolean;
  /** The provider's default, used when the program leaves the property out. */
  default?: unknown;
  /** A list whose order does not matter (a Terraform set). */
  set?: boolean;
  /** A list of objects with these properties. */
  items?: Schema;
  /** A single nested object with these properties (a MaxItems=1 block). */
  object?: Schema;
  /** A string-keyed map of scalars. */
  map?: boolean;
  /** Any JSON value (e.g. command triggers). */
  any?: boolean;
  /** The provider's schema marks the property secret: its value is kept secret in outputs. */
  secret?: boolean;
}

export type Schema = Record<string, PropSpec>;

export class NotImplementedError extends Error {}

/**
 * A value not known until the resource it comes from exists (only during a preview): the SDK's
 * own wire sentinel (rpc.unknownValue), kept in place so diffs see it as a change.
 */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

export function isUnknown(v: unknown): boolean {
  return v === UNKNOWN;
}

export function containsUnknown(v: unknown): boolean {
  if (isUnknown(v)) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (v !== null && typeof v === "object") return Object.values(v).some(containsUnknown);
  return false;
}

/** Top-level input properties whose value is, or contains, an unknown. */
export function unknownKeys(inputs: Record<string, unknown>): string[] {
  return Object.keys(inputs).filter((k) => containsUnknown(inputs[k]));
}

/** The inputs without the properties that are (or contain) unknowns. */
export function knownOnly(inputs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(inputs).filter(([, v]) => !containsUnknown(v)));
}

/** Replaces every unknown (at any depth) with `placeholder`, for display. */
export function showUnknowns(v: unknown, placeholder: unknown): unknown {
  if (isUnknown(v)) return placeholder;
  if (Array.isArray(v)) return v.map((x) => showUnknowns(x, placeholder));
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, showUnknowns(x, placeholder)]));
  }
  return v;
}

/** Refuses any input property (at any depth) the schema does not declare. */
export function checkInputs(type: string, schema: Schema, inputs: Record<string, unknown>): void {
  walk(schema, inputs, "");
  function walk(s: Schema, obj: Record<string, unknown>, prefix: string): void {
    for (const key of Object.keys(obj)) {
      const path = prefix ? `${prefix}.${key}` : key;
      const spec = s[key];
      if (!spec) {
        throw new NotImplementedError(
          `${type}: input property '${path}' is not implemented by the local apply harness ` +
            `(implemented: ${Object.keys(s).sort().join(", ")})`,
        );
      }
      const v = obj[key];
      // An unknown value is checked once it is known (as a provider's Check skips it).
      if (v === undefined || v === null || isUnknown(v)) continue;
      if (spec.items) {
        if (!Array.isArray(v)) throw new Error(`${type}: input property '${path}' must be a list`);
        v.forEach((el, i) => {
          if (isUnknown(el)) return;
          if (el === null || typeof el !== "object" || Array.isArray(el)) {
            throw new Error(`${type}: input property '${path}[${i}]' must be an object`);
          }
          walk(spec.items!, el as Record<string, unknown>, `${path}[${i}]`);
        });
      } else if (spec.object) {
        if (typeof v !== "object" || Array.isArray(v)) {
          throw new Error(`${type}: input property '${path}' must be an object`);
        }
        walk(spec.object, v as Record<string, unknown>, path);
      }
    }
  }
}

/** Fills in defaults and sorts sets, so equal configurations compare equal. */
export function normalize(schema: Schema, inputs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(schema)) {
    const v = normValue(spec, inputs[key]);
    if (v !== undefined) out[key] = v;
  }
  // Keep undeclared keys too (checkInputs refuses them for real resources).
  for (const key of Object.keys(inputs)) {
    if (!(key in schema) && inputs[key] !== undefined) out[key] = inputs[key];
  }
  return out;
}

function normValue(spec: PropSpec, v: unknown): unknown {
  if (v === undefined || v === null) return spec.default;
  if (isUnknown(v)) return v;
  if (spec.items && Array.isArray(v)) {
    const list = (v as unknown[]).map((el) => (isUnknown(el) ? el : normalize(spec.items!, el as Record<string, unknown>)));
    return spec.set ? sortByJson(list) : list;
  }
  if (spec.object && typeof v === "object" && !Array.isArray(v)) return normalize(spec.object, v as Record<string, unknown>);
  if (spec.set && Array.isArray(v)) return sortByJson(v);
  return v;
}

function sortByJson<T>(list: T[]): T[] {
  return [...list].sort((a, b) => {
    const x = stableJson(a);
    const y = stableJson(b);
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

export interface DiffResult {
  /** Top-level properties whose value changed. */
  changed: string[];
  /** The subset of `changed` that forces a replacement. */
  replaces: string[];
}

/** Diffs two input sets the way a Terraform-bridged provider plans: ForceNew means replace. */
export function diffInputs(schema: Schema, olds: Record<string, unknown>, news: Record<string, unknown>): DiffResult {
  const a = normalize(schema, olds);
  const b = normalize(schema, news);
  const changed: string[] = [];
  const replaces: string[] = [];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const key of keys) {
    if (deepEqual(a[key], b[key])) continue;
    changed.push(key);
    const spec = schema[key];
    if (!spec || spec.forceNew || nestedForceNew(spec, a[key], b[key])) replaces.push(key);
  }
  return { changed, replaces };
}

function nestedForceNew(spec: PropSpec, a: unknown, b: unknown): boolean {
  const sub = spec.items ?? spec.object;
  if (!sub) return false;
  const forceNewKeys = Object.entries(sub).filter(([, s]) => s.forceNew).map(([k]) => k);
  if (forceNewKeys.length === 0) return false;
  // An unknown element may hold any value in its ForceNew properties: it compares unequal.
  const pick = (v: unknown): unknown[] =>
    (Array.isArray(v) ? (v as unknown[]) : v === undefined ? [] : [v]).map((el) =>
      isUnknown(el) ? el : Object.fromEntries(forceNewKeys.map((k) => [k, (el as Record<string, unknown>)[k]])),
    );
  return !deepEqual(pick(a), pick(b));
}

/** Applies ignoreChanges: the listed (top-level or dotted) properties keep their old values. */
export function applyIgnoreChanges(
  ignore: string[],
  olds: Record<string, unknown>,
  news: Record<string, unknown>,
): Record<string, unknown> {
  if (ignore.length === 0) return news;
  const out = JSON.parse(JSON.stringify(news)) as Record<string, unknown>;
  for (const path of ignore) {
    if (path === "*") return JSON.parse(JSON.stringify(olds)) as Record<string, unknown>;
    const parts = path.replace(/\[(\d+)\]/g, ".$1").split(".").filter(Boolean);
    const oldVal = getPath(olds, parts);
    setPath(out, parts, oldVal);
  }
  return out;
}

function getPath(obj: unknown, parts: string[]): unknown {
  let cur: unknown = obj;
  for (const p of parts) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, parts: string[], value: unknown): void {
  let cur: Record<string, unknown> = obj;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = cur[parts[i]];
    if (next === null || typeof next !== "object") {
      if (value === undefined) return;
      cur[parts[i]] = /^\d+$/.test(parts[i + 1]) ? [] : {};
    }
    cur = cur[parts[i]] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1];
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}
