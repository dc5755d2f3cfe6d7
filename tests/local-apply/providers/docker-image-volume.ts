/** docker:index/remoteImage:RemoteImage and docker:index/volume:Volume. */
import type Docker from "dockerode";
import type { ResourceHandler } from "../types";
import { dockerMessage, inspectLocalImage, labelsToMap, needDocker, sleep, statusOf } from "./docker-common";

const labelItem = { label: { forceNew: true }, value: { forceNew: true } };

export const remoteImage: ResourceHandler = {
  type: "docker:index/remoteImage:RemoteImage",
  schema: {
    name: { forceNew: true },
    keepLocally: { default: false },
    forceRemove: { default: false },
  },
  async create(ctx, inputs) {
    const name = inputs.name as string;
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
  delete(ctx, _id, inputs) {
    if (inputs.keepLocally === true) return Promise.resolve();
    // The real provider removes the image here. Nothing can be pulled back on this machine,
    // so the harness keeps it and says so.
    ctx.log(
      `note: keepLocally is not true, so the real provider would remove image ${String(inputs.name)} now; ` +
        `the local apply harness keeps it (it cannot be pulled back here)`,
    );
    return Promise.resolve();
  },
};

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
