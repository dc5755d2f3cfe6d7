/**
 * The per-stack state file, .local-state/<stack>.json under the project directory
 * (git-ignored). It holds plain values, secrets included, so it is written 0600.
 */
import * as fs from "fs";
import * as path from "path";
import type { ResourceRecord, StackState } from "./types";

export function statePath(projectDir: string, stack: string): string {
  return path.join(projectDir, ".local-state", `${stack}.json`);
}

export function loadState(projectDir: string, stack: string, project: string): StackState {
  const file = statePath(projectDir, stack);
  if (!fs.existsSync(file)) return { version: 1, project, stack, resources: [], outputs: {} };
  const st = JSON.parse(fs.readFileSync(file, "utf8")) as StackState;
  if (st.version !== 1) throw new Error(`${file}: unknown state version ${String(st.version)}`);
  return st;
}

export function saveState(projectDir: string, st: StackState): void {
  const file = statePath(projectDir, st.stack);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(st, null, 2) + "\n", { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Everything a record points at: dependencies, parent, provider, deletedWith. */
export function referencedUrns(rec: ResourceRecord): string[] {
  const refs = new Set<string>(rec.dependencies);
  for (const deps of Object.values(rec.propertyDependencies ?? {})) deps.forEach((d) => refs.add(d));
  if (rec.parent) refs.add(rec.parent);
  if (rec.provider) refs.add(providerUrn(rec.provider));
  if (rec.options?.deletedWith) refs.add(rec.options.deletedWith);
  refs.delete(rec.urn);
  return [...refs];
}

export function providerUrn(ref: string): string {
  const i = ref.lastIndexOf("::");
  return i < 0 ? ref : ref.substring(0, i);
}

/**
 * Orders records for deletion: every record before the records it references
 * (dependents first), keeping the reverse of the state order otherwise.
 */
export function deletionOrder(records: ResourceRecord[]): ResourceRecord[] {
  const reversed = [...records].reverse();
  const remaining = new Set(reversed);
  const out: ResourceRecord[] = [];
  while (remaining.size > 0) {
    let progressed = false;
    for (const rec of reversed) {
      if (!remaining.has(rec)) continue;
      // Blocked while another remaining record references it (a dependent still to delete).
      const blocked = [...remaining].some(
        (other) => other !== rec && other.urn !== rec.urn && referencedUrns(other).includes(rec.urn),
      );
      if (!blocked) {
        out.push(rec);
        remaining.delete(rec);
        progressed = true;
      }
    }
    if (!progressed) {
      // A cycle should not happen; fall back to reverse state order.
      for (const rec of reversed) if (remaining.has(rec)) out.push(rec);
      break;
    }
  }
  return out;
}

/** Human name of a record for messages: type and logical name. */
export function describe(rec: { type: string; name: string }): string {
  return `${rec.type} ${rec.name}`;
}

/**
 * Takes the stack's lock (.local-state/<stack>.lock holding the pid), so two runs on one stack
 * cannot interleave; a lock left by a process that is gone is taken over. Returns the release.
 */
export function lockStack(projectDir: string, stack: string): () => void {
  const file = statePath(projectDir, stack).replace(/\.json$/, ".lock");
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx", mode: 0o600 });
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (fs.readFileSync(file, "utf8") === String(process.pid)) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
      process.once("exit", release);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const pid = Number(fs.readFileSync(file, "utf8"));
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = pid !== process.pid;
      } catch {
        alive = false;
      }
      if (alive) throw new Error(`stack ${stack} is being updated by another local apply run (pid ${pid}); wait for it to finish`);
      fs.unlinkSync(file);
    }
  }
  throw new Error(`could not lock stack ${stack}`);
}
