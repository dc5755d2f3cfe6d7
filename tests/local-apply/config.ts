/**
 * Stack configuration the way Pulumi builds it: project defaults (Pulumi.yaml `config:`
 * entries with `default`) < Pulumi.<stack>.yaml < --config flags. Values go to the program
 * as PULUMI_CONFIG (JSON of strings; structured values JSON-encoded) and
 * PULUMI_CONFIG_SECRET_KEYS.
 */
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";

export interface StackConfig {
  project: string;
  /** Full keys ("private-registry:port") to plain values. */
  values: Record<string, unknown>;
  /** Keys whose values are secret. */
  secretKeys: string[];
  /** Keys that are encrypted in the stack file and were not given with --config. */
  undecryptable: string[];
}

export interface ProjectFile {
  name: string;
  config?: Record<string, unknown>;
}

export function readProject(projectDir: string): ProjectFile {
  const file = path.join(projectDir, "Pulumi.yaml");
  const doc = YAML.parse(fs.readFileSync(file, "utf8")) as ProjectFile;
  if (!doc || typeof doc.name !== "string") throw new Error(`${file}: no project name`);
  return doc;
}

/** "port" -> "private-registry:port"; keys with a namespace stay as they are. */
export function fullKey(project: string, key: string): string {
  return key.includes(":") ? key : `${project}:${key}`;
}

/** Parses "key=value" with the value read as YAML ("[a, b]" is a list, "5000" a number). */
export function parseConfigFlag(project: string, flag: string): [string, unknown] {
  const i = flag.indexOf("=");
  if (i <= 0) throw new Error(`--config expects key=value, got '${flag}'`);
  const key = fullKey(project, flag.substring(0, i).trim());
  const raw = flag.substring(i + 1);
  let value: unknown;
  try {
    value = raw === "" ? "" : YAML.parse(raw);
  } catch {
    value = raw;
  }
  if (value === null) value = raw;
  return [key, value];
}

export function loadStackConfig(
  projectDir: string,
  stack: string,
  overrides: Record<string, unknown> = {},
  secretOverrides: Record<string, unknown> = {},
): StackConfig {
  const project = readProject(projectDir);
  const values: Record<string, unknown> = {};
  const secretKeys = new Set<string>();
  const undecryptable = new Set<string>();
  const types: Record<string, string | undefined> = {};

  for (const [k, decl] of Object.entries(project.config ?? {})) {
    const key = fullKey(project.name, k);
    if (decl && typeof decl === "object" && !Array.isArray(decl)) {
      const d = decl as { default?: unknown; value?: unknown; type?: string; secret?: boolean };
      types[key] = d.type;
      if (d.secret) secretKeys.add(key);
      if ("default" in d) values[key] = d.default;
      else if ("value" in d) values[key] = d.value;
    } else {
      values[key] = decl;
    }
  }

  const stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
  if (fs.existsSync(stackFile)) {
    const doc = (YAML.parse(fs.readFileSync(stackFile, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    for (const [k, v] of Object.entries(doc.config ?? {})) {
      const key = fullKey(project.name, k);
      if (v && typeof v === "object" && !Array.isArray(v) && "secure" in v) {
        secretKeys.add(key);
        undecryptable.add(key);
        delete values[key];
      } else {
        values[key] = v;
      }
    }
  }

  for (const [k, v] of Object.entries(overrides)) {
    const key = fullKey(project.name, k);
    values[key] = v;
    undecryptable.delete(key);
  }
  for (const [k, v] of Object.entries(secretOverrides)) {
    const key = fullKey(project.name, k);
    values[key] = v;
    secretKeys.add(key);
    undecryptable.delete(key);
  }

  for (const [key, type] of Object.entries(types)) {
    if (key in values) checkType(key, type, values[key]);
  }
  return { project: project.name, values, secretKeys: [...secretKeys], undecryptable: [...undecryptable] };
}

function checkType(key: string, type: string | undefined, v: unknown): void {
  const bad = (what: string) => {
    throw new Error(`config ${key}: expected ${what}, got ${JSON.stringify(v)}`);
  };
  switch (type) {
    case "integer":
      if (typeof v !== "number" || !Number.isInteger(v)) bad("an integer");
      break;
    case "boolean":
      if (typeof v !== "boolean") bad("a boolean");
      break;
    case "string":
      if (typeof v !== "string") bad("a string");
      break;
    case "array":
      if (!Array.isArray(v)) bad("an array");
      break;
    default:
      break;
  }
}

/** The PULUMI_CONFIG environment a Pulumi language host gives the program. */
export function configEnv(cfg: StackConfig): { PULUMI_CONFIG: string; PULUMI_CONFIG_SECRET_KEYS: string } {
  const strings: Record<string, string> = {};
  for (const [k, v] of Object.entries(cfg.values)) {
    strings[k] = typeof v === "string" ? v : JSON.stringify(v);
  }
  return {
    PULUMI_CONFIG: JSON.stringify(strings),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(cfg.secretKeys),
  };
}
