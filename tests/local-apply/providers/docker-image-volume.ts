/**
 * docker:index/remoteImage:RemoteImage and docker:index/volume:Volume.
 *
 * RemoteImage's `build` block follows terraform-provider-docker v4.5.0 (wrapped by @pulumi/docker
 * 5.2.0): on Linux its default (buildx) path builds with the daemon's BuildKit, and even its
 * `useLegacyBuilder` path does on an engine with API >= 1.39 (it sends /build with version=2 and a
 * session), so the harness builds through /build with version=2 as well — never with the classic
 * builder. The context is tarred here, filtered by its .dockerignore, as the provider does.
 */
import dockerignore from "@balena/dockerignore";
import { randomBytes } from "crypto";
import type Docker from "dockerode";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tarFs from "tar-fs";
import { NotImplementedError } from "../schema";
import type { Schema } from "../schema";
import type { OpContext, Props, ResourceHandler } from "../types";
import { dockerMessage, inspectLocalImage, labelsToMap, needDocker, sleep, statusOf } from "./docker-common";

const labelItem = { label: { forceNew: true }, value: { forceNew: true } };

/**
 * The build fields the harness carries out, with the provider's ForceNew and defaults. Others
 * (buildx-only ones such as builder, secrets, cacheTos; resource limits; platform; authConfigs;
 * remoteContext) are left out, so checkInputs refuses them by name.
 */
export const buildSchema: Schema = {
  context: { forceNew: true },
  dockerfile: { forceNew: true, default: "Dockerfile" },
  buildArgs: { forceNew: true, map: true },
  // The buildx path labels the image with `label` and ignores `labels` (the legacy path the reverse).
  label: { map: true },
  labels: { forceNew: true, map: true },
  tags: {},
  target: { forceNew: true },
  noCache: { forceNew: true },
  remove: { default: true },
  forceRemove: { forceNew: true },
  suppressOutput: { forceNew: true },
  pullParent: { forceNew: true },
  networkMode: { forceNew: true },
  useLegacyBuilder: { forceNew: true, default: false },
};

export const remoteImage: ResourceHandler = {
  type: "docker:index/remoteImage:RemoteImage",
  schema: {
    name: { forceNew: true },
    keepLocally: { default: false },
    forceRemove: { default: false },
    // A TypeSet with MaxItems 1: any change rehashes the element, whose ForceNew fields (context,
    // dockerfile, ...) then show as changed, so every change of the block replaces.
    build: { forceNew: true, object: buildSchema },
    triggers: { forceNew: true, map: true },
  },
  validate(inputs) {
    const build = inputs.build as Props | undefined;
    if (!build || typeof build !== "object") return;
    if (build.useLegacyBuilder === true) {
      throw new NotImplementedError(
        "docker:index/remoteImage:RemoteImage: build.useLegacyBuilder = true is not implemented by the local apply harness " +
          "(the provider's legacy path reads `labels` instead of `label` and resolves a relative dockerfile against its working directory)",
      );
    }
    if (build.pullParent === true) {
      throw new NotImplementedError(
        "docker:index/remoteImage:RemoteImage: build.pullParent = true would pull the base image; the local apply harness never pulls",
      );
    }
  },
  async create(ctx, inputs) {
    const name = inputs.name as string;
    if (inputs.build) await buildImage(ctx, name, inputs.build as Props);
    let info;
    try {
      info = await inspectLocalImage(ctx, name);
    } catch (e) {
      throw new Error(`Unable to read Docker image into resource: ${dockerMessage(e)}`);
    }
    // repo_digest: the registry digest of the reference. A pinned reference names it; a
    // stand-in built locally has none of its own.
    const at = name.indexOf("@sha256:");
    let repoDigest = "";
    if (at >= 0) {
      const repoTag = name.substring(0, at);
      const colon = repoTag.lastIndexOf(":");
      const repo = colon > repoTag.lastIndexOf("/") ? repoTag.substring(0, colon) : repoTag;
      repoDigest = `${repo}${name.substring(at)}`;
    } else {
      repoDigest = (info.RepoDigests ?? [])[0] ?? "";
    }
    return {
      id: `${info.Id}${name}`,
      outputs: { ...inputs, imageId: info.Id, repoDigest },
    };
  },
  update(_ctx, _id, _olds, news, oldOutputs) {
    return Promise.resolve({ ...oldOutputs, ...news });
  },
  async delete(ctx, _id, inputs) {
    if (inputs.keepLocally === true) return;
    // A built image can be built again: remove it by name as the provider does (whatever image
    // the name points to now).
    if (inputs.build) return removeImageByName(needDocker(ctx), inputs.name as string, inputs.forceRemove === true);
    // The real provider removes the image here. Nothing can be pulled back on this machine,
    // so the harness keeps it and says so.
    ctx.log(
      `note: keepLocally is not true, so the real provider would remove image ${String(inputs.name)} now; ` +
        `the local apply harness keeps it (it cannot be pulled back here)`,
    );
  },
};

/** The provider's removeImage: nothing when the name resolves to no image, else remove it by name. */
async function removeImageByName(docker: Docker, name: string, force: boolean): Promise<void> {
  try {
    await docker.getImage(name).inspect();
  } catch (e) {
    if (statusOf(e) === 404) return;
    throw new Error(`Unable to remove Docker image: removeImage: error looking up local image "${name}": ${dockerMessage(e)}`);
  }
  try {
    await docker.getImage(name).remove({ force });
  } catch (e) {
    throw new Error(`Unable to remove Docker image: ${dockerMessage(e)}`);
  }
}

/** The build's paths as the provider resolves them: `~` expanded, the context absolute, a relative dockerfile inside it. */
export function resolveBuildPaths(context: string, dockerfile: string, home = os.homedir()): { contextDir: string; dockerfilePath: string } {
  const expanded = context === "~" ? home : context.startsWith("~/") ? path.join(home, context.slice(2)) : context;
  const contextDir = path.resolve(expanded);
  const dockerfilePath = path.normalize(path.isAbsolute(dockerfile) ? dockerfile : path.join(contextDir, dockerfile));
  return { contextDir, dockerfilePath };
}

/**
 * What of the context goes to the daemon under a .dockerignore (paths relative, "/"-separated):
 * Docker's pattern semantics (by @balena/dockerignore, a port of moby's), and moby's walk rule
 * that an excluded directory is still entered when an exception (`!dir/...`) may re-include
 * something below it. (tar-fs then keeps that directory's own entry, which moby leaves out;
 * extracting the re-included file creates it anyway.)
 */
export function contextFilter(dockerignoreText: string): { includes: (rel: string) => boolean; enters: (relDir: string) => boolean } {
  const ig = dockerignore({ ignorecase: false }).add(dockerignoreText);
  const exceptions = dockerignoreText
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith("!"))
    .map((l) => path.posix.normalize(l.slice(1).trim()).replace(/^\/+/, ""));
  return {
    includes: (rel) => !ig.ignores(rel),
    enters: (relDir) => !ig.ignores(relDir) || exceptions.some((p) => `${p}/`.startsWith(`${relDir}/`)),
  };
}

/** The Dockerfile's name inside the context, or undefined when it is outside it or excluded from it. */
export function dockerfileInContext(contextDir: string, dockerfilePath: string, includes: (rel: string) => boolean): string | undefined {
  const rel = path.relative(contextDir, dockerfilePath);
  if (rel === "" || rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return undefined;
  const posix = rel.split(path.sep).join("/");
  return includes(posix) ? posix : undefined;
}

/** The /build query (every tag a `t` of its own) for a `build` block, as the provider's buildx path maps it. */
export type BuildQuery = Omit<Docker.ImageBuildOptions, "t"> & { t: string[] };

export function buildQuery(name: string, build: Props, dockerfile: string): BuildQuery {
  const q: BuildQuery = {
    t: [name, ...((build.tags as string[] | undefined) ?? [])],
    dockerfile,
    version: "2",
  };
  if (build.buildArgs) q.buildargs = build.buildArgs as Record<string, string>;
  if (build.label) q.labels = build.label as Record<string, string>;
  if (build.target) q.target = build.target as string;
  if (build.noCache === true) q.nocache = true;
  if (build.remove !== undefined) q.rm = build.remove as boolean;
  if (build.forceRemove === true) q.forcerm = true;
  if (build.suppressOutput === true) q.q = true;
  if (build.networkMode) q.networkmode = build.networkMode as string;
  return q;
}

const DIGEST_PINNED = /^[^\s@]+@sha256:[0-9a-f]{64}$/;

/**
 * Build args that name a digest-pinned image which is not here under that digest are passed as
 * the local stand-in's name:tag (BuildKit would fetch the digest from the registry; the stand-in
 * cannot carry it), as the harness matches pinned images elsewhere. Other args pass unchanged.
 */
async function localBuildArgs(ctx: OpContext, args: Record<string, string> | undefined): Promise<Record<string, string> | undefined> {
  if (!args) return args;
  const docker = needDocker(ctx);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(args)) {
    out[key] = value;
    if (!DIGEST_PINNED.test(value)) continue;
    try {
      await docker.getImage(value).inspect();
      continue;
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
    const info = await inspectLocalImage(ctx, value);
    const repoTag = value.substring(0, value.indexOf("@"));
    const hasTag = repoTag.lastIndexOf(":") > repoTag.lastIndexOf("/");
    out[key] = hasTag ? repoTag : (info.RepoTags ?? [])[0] ?? info.Id;
    ctx.log(`note: build arg ${key} is passed as ${out[key]}, the local stand-in for ${value} (BuildKit would fetch the digest from the registry)`);
  }
  return out;
}

/** The daemon's error in one event of the build's JSON stream, if it carries one. */
export function buildEventError(ev: { error?: string; errorDetail?: { message?: string } }): string | undefined {
  return ev.errorDetail?.message ?? ev.error;
}

interface BuildEvent {
  stream?: string;
  error?: string;
  errorDetail?: { message?: string };
}
/** dockerode 5's followProgress, which decodes BuildKit's trace into text (not in @types/dockerode 4). */
type FollowProgress = (this: void, stream: NodeJS.ReadableStream, onFinished: (err: Error | null) => void, onProgress: (ev: BuildEvent) => void) => void;

/**
 * The context as a tar stream, filtered by its .dockerignore, files owned by root (as the
 * provider's archive.TarWithOptions). The daemon reads the Dockerfile from the context, so one
 * outside it or excluded from it travels under a name of its own, as the Docker CLI sends it.
 */
export function packContext(contextDir: string, dockerfilePath: string): { tar: NodeJS.ReadableStream; dockerfile: string; dockerfileAdded: boolean } {
  const ignoreFile = path.join(contextDir, ".dockerignore");
  const filter = contextFilter(fs.existsSync(ignoreFile) ? fs.readFileSync(ignoreFile, "utf8") : "");
  const inContext = dockerfileInContext(contextDir, dockerfilePath, filter.includes);
  const dockerfile = inContext ?? `.dockerfile.${randomBytes(10).toString("hex")}`;
  const tar = tarFs.pack(contextDir, {
    ignore: (abs) => {
      const rel = path.relative(contextDir, abs).split(path.sep).join("/");
      return fs.lstatSync(abs).isDirectory() ? !filter.enters(rel) : !filter.includes(rel);
    },
    map: (h) => ({ ...h, uid: 0, gid: 0 }),
    finalize: inContext !== undefined,
    finish: (pack) => {
      if (inContext !== undefined) return;
      pack.entry({ name: dockerfile, mode: 0o644 }, fs.readFileSync(dockerfilePath));
      pack.finalize();
    },
  });
  return { tar, dockerfile, dockerfileAdded: inContext === undefined };
}

/** Builds `name` from a `build` block (create, before the image is read like a pulled one). */
async function buildImage(ctx: OpContext, name: string, build: Props): Promise<void> {
  const docker = needDocker(ctx);
  const { contextDir, dockerfilePath } = resolveBuildPaths(build.context as string, (build.dockerfile as string | undefined) ?? "Dockerfile");
  if (!fs.existsSync(dockerfilePath)) {
    throw new Error(`Error mapping build attributes: error resolving dockerfile path: dockerfile not found at path: ${dockerfilePath}`);
  }
  if (!fs.statSync(contextDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new Error(`Error running buildx build: unable to prepare context: path "${contextDir}" not found`);
  }
  if (build.labels) {
    ctx.log("note: build.labels is ignored, as the provider's buildx path ignores it (it labels the image with build.label)");
  }
  const show = process.env.LOCAL_APPLY_SHOW_BUILD_OUTPUT === "1";
  let failure: string | undefined;
  try {
    const buildArgs = await localBuildArgs(ctx, build.buildArgs as Record<string, string> | undefined);
    const { tar, dockerfile, dockerfileAdded } = packContext(contextDir, dockerfilePath);
    if (dockerfileAdded) {
      ctx.log(`note: the Dockerfile is outside the context or excluded from it: it is sent as ${dockerfile} (a COPY of the whole context sees it, unlike with buildx)`);
    }
    const query = buildQuery(name, { ...build, buildArgs }, dockerfile);
    const stream = await docker.buildImage(tar, query as unknown as Docker.ImageBuildOptions);
    const withFollow = docker as unknown as { followProgress: FollowProgress };
    await new Promise<void>((resolve, reject) => {
      withFollow.followProgress(
        stream,
        (err) => (err ? reject(err) : resolve()),
        (ev) => {
          failure ??= buildEventError(ev);
          if (show && ev.stream?.trim()) ctx.log(`build: ${ev.stream.trimEnd()}`);
        },
      );
    });
  } catch (e) {
    failure ??= dockerMessage(e);
  }
  if (failure !== undefined) throw new Error(`Error running buildx build: ${failure}`);
}

export const volume: ResourceHandler = {
  type: "docker:index/volume:Volume",
  schema: {
    name: { forceNew: true },
    driver: { forceNew: true },
    driverOpts: { forceNew: true, map: true },
    labels: { forceNew: true, set: true, items: labelItem },
  },
  async create(ctx, inputs) {
    const docker = needDocker(ctx);
    let vol: Docker.VolumeInspectInfo;
    try {
      // dockerode resolves createVolume with a Volume handle; inspect it for the daemon's view.
      const handle = await docker.createVolume({
        Name: (inputs.name as string | undefined) ?? "",
        Driver: (inputs.driver as string | undefined) ?? "local",
        DriverOpts: (inputs.driverOpts as Record<string, string> | undefined) ?? {},
        Labels: labelsToMap(inputs.labels) ?? {},
      });
      vol = await handle.inspect();
    } catch (e) {
      throw new Error(`Unable to create volume: ${dockerMessage(e)}`);
    }
    if (!vol.Name) throw new Error("Unable to create volume: the daemon returned no volume name");
    return {
      id: vol.Name,
      outputs: { ...inputs, name: vol.Name, driver: vol.Driver, mountpoint: vol.Mountpoint },
    };
  },
  async delete(ctx, id) {
    const docker = needDocker(ctx);
    if (!id) throw new Error("Unable to remove volume: the state has no volume id");
    // Like the provider: retry while the volume is in use, up to 30 s (LOCAL_APPLY_VOLUME_DELETE_TIMEOUT_S).
    const timeoutMs = Number(process.env.LOCAL_APPLY_VOLUME_DELETE_TIMEOUT_S ?? "30") * 1000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await docker.getVolume(id).remove({ force: true });
        return;
      } catch (e) {
        if (statusOf(e) === 404) return;
        const msg = dockerMessage(e);
        if (!msg.includes("volume is in use")) throw new Error(`Unable to remove volume ${id}: ${msg}`);
        if (Date.now() >= deadline) {
          throw new Error(
            `timeout while waiting for state to become 'removed' (last state: 'in_use', timeout: ${timeoutMs / 1000}s): ${msg}`,
          );
        }
        await sleep(1000);
      }
    }
  },
};
