/** Docker helpers shared by the docker resource types. */
import type Docker from "dockerode";
import type { OpContext } from "../types";

const notedDigests = new Set<string>();

/** Label the stand-in image built by tests/setup/prepare-machine.sh carries: the pinned reference. */
export const STAND_IN_LABEL = "org.private-registry.stand-in-for";

export function needDocker(ctx: OpContext): Docker {
  if (!ctx.docker) throw new Error(`${ctx.type} ${ctx.name}: no docker provider`);
  return ctx.docker;
}

function splitDigest(ref: string): { repoTag: string; digest?: string } {
  const at = ref.indexOf("@sha256:");
  if (at < 0) return { repoTag: ref };
  return { repoTag: ref.substring(0, at), digest: ref.substring(at + 1) };
}

function repoOf(repoTag: string): string {
  const slash = repoTag.lastIndexOf("/");
  const colon = repoTag.lastIndexOf(":");
  return colon > slash ? repoTag.substring(0, colon) : repoTag;
}

/**
 * Finds an image locally (never pulls). A digest-pinned reference cannot be pulled here and
 * the local stand-in cannot carry the official digest: it is matched by name:tag (or, for
 * `repo@sha256:…` without a tag, by the stand-in's label naming that digest), said once.
 */
export async function inspectLocalImage(ctx: OpContext, ref: string): Promise<Docker.ImageInspectInfo> {
  const docker = needDocker(ctx);
  try {
    return await docker.getImage(ref).inspect();
  } catch (e) {
    if (statusOf(e) !== 404) throw e;
  }
  const { repoTag, digest } = splitDigest(ref);
  if (digest) {
    let candidate: string | undefined;
    if (repoTag.includes(":") && repoTag.lastIndexOf(":") > repoTag.lastIndexOf("/")) {
      candidate = repoTag;
    } else {
      const images = await docker.listImages({ filters: JSON.stringify({ label: [STAND_IN_LABEL] }) });
      const hit = images.find((img) => {
        const pinned = img.Labels?.[STAND_IN_LABEL] ?? "";
        const p = splitDigest(pinned);
        return p.digest === digest && repoOf(p.repoTag) === repoTag;
      });
      candidate = hit?.Id;
    }
    if (candidate) {
      try {
        const info = await docker.getImage(candidate).inspect();
        if (!notedDigests.has(ref)) {
          notedDigests.add(ref);
          ctx.log(
            `note: ${ref} is matched by ${candidate.startsWith("sha256:") ? `the stand-in labelled with its digest` : `name:tag ${candidate}`} ` +
              `(the local stand-in cannot carry the official digest)`,
          );
        }
        return info;
      } catch (e) {
        if (statusOf(e) !== 404) throw e;
      }
    }
  }
  throw new Error(
    `unable to find image ${ref} locally${digest ? ` (nor ${repoTag})` : ""}; the local apply harness never pulls — ` +
      `run tests/setup/prepare-machine.sh to build the stand-in image`,
  );
}

export function statusOf(e: unknown): number | undefined {
  return (e as { statusCode?: number })?.statusCode;
}

/** Docker's error text (dockerode puts the daemon's JSON message in `json.message`). */
export function dockerMessage(e: unknown): string {
  const j = (e as { json?: { message?: string } })?.json;
  if (j && typeof j.message === "string") return j.message;
  return e instanceof Error ? e.message : String(e);
}

export function labelsToMap(labels: unknown): Record<string, string> | undefined {
  if (!Array.isArray(labels) || labels.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const l of labels as { label: string; value: string }[]) out[l.label] = l.value;
  return out;
}

/** Go time.ParseDuration for the forms docker healthchecks use ("30s", "1m30s", "500ms"). */
export function parseGoDuration(s: string | undefined): number {
  if (!s) return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g;
  const unit: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let total = 0;
  let matched = "";
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    total += parseFloat(m[1]) * unit[m[2]];
    matched += m[0];
  }
  if (s !== "0" && matched !== s) throw new Error(`invalid duration '${s}'`);
  return Math.round(total);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
