/**
 * docker:index/container:Container, following terraform-provider-docker's
 * resource_docker_container(_funcs).go: which properties are ForceNew, how create builds the
 * container, connects its networksAdvanced, uploads files (a tar PUT to "/" before start),
 * starts it, waits for health, attaches; what update can change in place; how delete stops and
 * removes.
 */
import * as fs from "fs";
import type Docker from "dockerode";
import type { OpContext, Props, ResourceHandler } from "../types";
import { PartialCreateError } from "../types";
import type { Schema } from "../schema";
import { isUnknown } from "../schema";
import { dockerMessage, inspectLocalImage, labelsToMap, needDocker, parseGoDuration, sleep, statusOf } from "./docker-common";
import { resolveId, singleFileTar } from "./docker-tar";

const F = { forceNew: true } as const;

export const containerSchema: Schema = {
  name: F,
  image: F,
  rm: { default: false },
  readOnly: { forceNew: true, default: false },
  start: { default: true },
  wait: { default: false },
  waitTimeout: { default: 60 },
  attach: { default: false },
  logs: { default: false },
  mustRun: { default: true },
  hostname: F,
  domainname: F,
  command: F,
  entrypoints: F,
  user: F,
  dns: { forceNew: true, set: true },
  dnsOpts: { forceNew: true, set: true },
  dnsSearches: { forceNew: true, set: true },
  publishAllPorts: F,
  restart: { default: "no" },
  maxRetryCount: {},
  workingDir: F,
  removeVolumes: { default: true },
  capabilities: { forceNew: true, object: { adds: { forceNew: true, set: true }, drops: { forceNew: true, set: true } } },
  securityOpts: { forceNew: true, set: true },
  privileged: F,
  stopSignal: F,
  stopTimeout: F,
  mounts: {
    forceNew: true,
    set: true,
    items: {
      target: {},
      source: {},
      type: {},
      readOnly: {},
      bindOptions: { object: { propagation: {} } },
      volumeOptions: {
        object: {
          noCopy: {},
          labels: { set: true, items: { label: {}, value: {} } },
          driverName: {},
          driverOptions: { map: true },
        },
      },
      tmpfsOptions: { forceNew: true, object: { sizeBytes: {}, mode: {} } },
    },
  },
  volumes: {
    forceNew: true,
    set: true,
    items: { fromContainer: F, containerPath: F, hostPath: F, volumeName: F, readOnly: F },
  },
  tmpfs: { map: true },
  ports: {
    forceNew: true,
    items: { internal: F, external: F, ip: { forceNew: true, default: "0.0.0.0" }, protocol: { forceNew: true, default: "tcp" } },
  },
  hosts: { forceNew: true, set: true, items: { host: F, ip: F } },
  ulimits: { forceNew: true, set: true, items: { name: F, soft: F, hard: F } },
  envs: { forceNew: true, set: true },
  destroyGraceSeconds: {},
  labels: { forceNew: true, set: true, items: { label: F, value: F } },
  memory: {},
  memoryReservation: { default: 0 },
  memorySwap: {},
  shmSize: F,
  cpuShares: {},
  cpuSet: {},
  logDriver: F,
  logOpts: { forceNew: true, map: true },
  networkMode: { forceNew: true, default: "bridge" },
  networksAdvanced: {
    forceNew: true,
    set: true,
    items: {
      name: F,
      aliases: { forceNew: true, set: true },
      ipv4Address: F,
      ipv6Address: F,
      linkLocalIps: { forceNew: true, set: true },
      macAddress: F,
      driverOpts: { forceNew: true, set: true },
      gwPriority: F,
    },
  },
  pidMode: F,
  ipcMode: F,
  usernsMode: F,
  uploads: {
    forceNew: true,
    set: true,
    items: {
      content: F,
      contentBase64: F,
      file: F,
      executable: { forceNew: true, default: false },
      permissions: F,
      source: F,
      sourceHash: F,
      owner: F,
      group: F,
    },
  },
  healthcheck: {
    object: {
      tests: {},
      interval: { default: "0s" },
      timeout: { default: "0s" },
      startPeriod: { default: "0s" },
      startInterval: { default: "0s" },
      retries: { default: 0 },
    },
  },
  sysctls: { forceNew: true, map: true },
  groupAdds: { forceNew: true, set: true },
  init: {},
  tty: { forceNew: true, default: false },
  stdinOpen: { forceNew: true, default: false },
  cpus: F,
  containerReadRefreshTimeoutMilliseconds: {},
};

/** Properties the provider's Update sends to Docker (ContainerUpdate); others only change state. */
const UPDATABLE_IN_DOCKER = ["restart", "maxRetryCount", "cpuShares", "memory", "memoryReservation", "cpuSet", "memorySwap"];
/** Properties that only steer the provider itself, so changing them has no effect on a running container. */
const PROVIDER_ONLY = ["rm", "start", "wait", "waitTimeout", "attach", "logs", "mustRun", "destroyGraceSeconds", "removeVolumes", "containerReadRefreshTimeoutMilliseconds"];

type Upload = {
  file: string;
  content?: string;
  contentBase64?: string;
  source?: string;
  executable?: boolean;
  permissions?: string;
  owner?: string;
  group?: string;
};

/** Elements of a list input that are known (a preview may leave a list or an element unknown). */
function knownElements<T>(v: unknown): T[] {
  return Array.isArray(v) ? (v.filter((el) => !isUnknown(el)) as T[]) : [];
}

function validate(inputs: Props): void {
  // An unknown content counts as set, as the provider's ExactlyOneOf counts it.
  for (const u of knownElements<Upload>(inputs.uploads)) {
    const set = [u.content, u.contentBase64, u.source].filter((v) => v !== undefined && v !== "").length;
    if (set === 0) throw new Error("error with upload content: one of 'content', 'content_base64', or 'source' must be set");
    if (set > 1) throw new Error("error with upload content: only one of 'content', 'content_base64', or 'source' can be set");
  }
  for (const v of knownElements<Props>(inputs.volumes)) {
    if (!v.fromContainer && !v.containerPath) throw new Error("Unable to parse volumes: volume entry without container path or source container");
    if (v.fromContainer && v.containerPath) throw new Error("Unable to parse volumes: both a container and a path specified in a volume entry");
  }
  for (const c of knownElements<string>(inputs.command)) {
    if (c === "") throw new Error("values for command may not be empty");
  }
  for (const n of knownElements<NetworkAdvanced>(inputs.networksAdvanced)) {
    if (typeof n.gwPriority === "number" && n.gwPriority < 0) throw new Error(`'${n.gwPriority}' cannot be lower than 0`);
  }
}

type NetworkAdvanced = {
  name: string;
  aliases?: string[];
  ipv4Address?: string;
  ipv6Address?: string;
  linkLocalIps?: string[];
  macAddress?: string;
  driverOpts?: string[];
  gwPriority?: number;
};

/** The EndpointSettings the provider sends to NetworkConnect for one networksAdvanced entry. */
export function endpointConfig(n: NetworkAdvanced): Record<string, unknown> {
  return {
    Aliases: n.aliases ?? [],
    IPAMConfig: { IPv4Address: n.ipv4Address ?? "", IPv6Address: n.ipv6Address ?? "", LinkLocalIPs: n.linkLocalIps ?? [] },
    MacAddress: n.macAddress ?? "",
    // "k=v" entries; one without "=" is skipped, as stringSetToMapStringString does.
    DriverOpts: Object.fromEntries(
      (n.driverOpts ?? []).flatMap((o) => {
        const i = o.indexOf("=");
        return i < 0 ? [] : [[o.substring(0, i), o.substring(i + 1)]];
      }),
    ),
    GwPriority: n.gwPriority ?? 0,
  };
}

/**
 * Endpoint settings the daemon did not take: Docker ignores a connect to a network the
 * container is already on (its networkMode), so that entry's aliases and addresses are lost.
 */
export function droppedEndpointSettings(
  wanted: NetworkAdvanced[],
  networks: Record<string, { NetworkID?: string; Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null }>,
): { network: string; missing: string[] }[] {
  const out: { network: string; missing: string[] }[] = [];
  for (const w of wanted) {
    const ep = Object.entries(networks).find(([name, e]) => name === w.name || (!!e.NetworkID && e.NetworkID.startsWith(w.name)))?.[1];
    const missing: string[] = [];
    for (const a of w.aliases ?? []) if (!(ep?.Aliases ?? []).includes(a)) missing.push(`alias ${a}`);
    if (w.ipv4Address && ep?.IPAMConfig?.IPv4Address !== w.ipv4Address) missing.push(`ipv4Address ${w.ipv4Address}`);
    if (w.ipv6Address && ep?.IPAMConfig?.IPv6Address !== w.ipv6Address) missing.push(`ipv6Address ${w.ipv6Address}`);
    if (missing.length) out.push({ network: w.name, missing });
  }
  return out;
}

function buildCreateOptions(inputs: Props, imageId: string): Docker.ContainerCreateOptions {
  const s = (k: string) => inputs[k] as string | undefined;
  const config: Docker.ContainerCreateOptions & Record<string, unknown> = {
    name: s("name"),
    Image: imageId,
    Hostname: s("hostname") ?? "",
    Domainname: s("domainname") ?? "",
    Tty: inputs.tty === true,
    OpenStdin: inputs.stdinOpen === true,
    StopSignal: s("stopSignal"),
    StopTimeout: inputs.stopTimeout as number | undefined,
  };
  if (inputs.envs) config.Env = inputs.envs as string[];
  if (inputs.command) config.Cmd = inputs.command as string[];
  if (inputs.entrypoints) config.Entrypoint = inputs.entrypoints as string[];
  if (inputs.user) config.User = s("user");
  if (inputs.workingDir) config.WorkingDir = s("workingDir");

  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of (inputs.ports as Props[] | undefined) ?? []) {
    const key = `${p.internal as number}/${(p.protocol as string | undefined) ?? "tcp"}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({
      HostIp: (p.ip as string | undefined) ?? "0.0.0.0",
      HostPort: p.external !== undefined ? `${p.external as number}` : "",
    });
  }
  if (Object.keys(exposed).length) config.ExposedPorts = exposed;

  const volumes: Record<string, object> = {};
  const binds: string[] = [];
  const volumesFrom: string[] = [];
  for (const v of (inputs.volumes as Props[] | undefined) ?? []) {
    const source = (v.hostPath as string | undefined) || (v.volumeName as string | undefined) || "";
    if (v.fromContainer) volumesFrom.push(v.fromContainer as string);
    else if (source) {
      volumes[v.containerPath as string] = {};
      binds.push(`${source}:${v.containerPath as string}:${v.readOnly ? "ro" : "rw"}`);
    } else volumes[v.containerPath as string] = {};
  }
  if (Object.keys(volumes).length) config.Volumes = volumes;
  const labels = labelsToMap(inputs.labels);
  if (labels) config.Labels = labels;

  const hc = inputs.healthcheck as Props | undefined;
  if (hc) {
    config.Healthcheck = {
      Test: (hc.tests as string[] | undefined) ?? [],
      Interval: parseGoDuration(hc.interval as string | undefined),
      Timeout: parseGoDuration(hc.timeout as string | undefined),
      StartPeriod: parseGoDuration(hc.startPeriod as string | undefined),
      Retries: (hc.retries as number | undefined) ?? 0,
    };
    if (hc.startInterval) (config.Healthcheck as Record<string, unknown>).StartInterval = parseGoDuration(hc.startInterval as string);
  }

  const mounts = ((inputs.mounts as Props[] | undefined) ?? []).map((m) => {
    const out: Record<string, unknown> = { Type: m.type, Target: m.target, Source: m.source ?? "", ReadOnly: m.readOnly === true };
    const bo = m.bindOptions as Props | undefined;
    if (m.type === "bind" && bo) out.BindOptions = { Propagation: bo.propagation };
    const vo = m.volumeOptions as Props | undefined;
    if (m.type === "volume" && vo) {
      out.VolumeOptions = {
        NoCopy: vo.noCopy === true,
        Labels: labelsToMap(vo.labels),
        DriverConfig: vo.driverName || vo.driverOptions ? { Name: vo.driverName ?? "", Options: vo.driverOptions ?? {} } : undefined,
      };
    }
    const to = m.tmpfsOptions as Props | undefined;
    if (m.type === "tmpfs" && to) out.TmpfsOptions = { SizeBytes: to.sizeBytes, Mode: to.mode };
    return out;
  });

  const caps = inputs.capabilities as { adds?: string[]; drops?: string[] } | undefined;
  const host: Record<string, unknown> = {
    Privileged: inputs.privileged === true,
    PublishAllPorts: inputs.publishAllPorts === true,
    RestartPolicy: { Name: s("restart") ?? "no", MaximumRetryCount: (inputs.maxRetryCount as number | undefined) ?? 0 },
    Mounts: mounts,
    AutoRemove: inputs.rm === true,
    ReadonlyRootfs: inputs.readOnly === true,
    LogConfig: { Type: s("logDriver") ?? "", Config: (inputs.logOpts as Record<string, string> | undefined) ?? undefined },
    Init: inputs.init === true,
    NetworkMode: s("networkMode") ?? "bridge",
  };
  if (inputs.tmpfs) host.Tmpfs = inputs.tmpfs;
  if (Object.keys(bindings).length) host.PortBindings = bindings;
  if (binds.length) host.Binds = binds;
  if (volumesFrom.length) host.VolumesFrom = volumesFrom;
  if (inputs.hosts) host.ExtraHosts = (inputs.hosts as Props[]).map((h) => `${h.host as string}:${h.ip as string}`);
  if (inputs.ulimits) host.Ulimits = (inputs.ulimits as Props[]).map((u) => ({ Name: u.name, Soft: u.soft, Hard: u.hard }));
  if (caps) {
    host.CapAdd = caps.adds ?? [];
    host.CapDrop = caps.drops ?? [];
  }
  if (inputs.dns) host.Dns = inputs.dns;
  if (inputs.dnsOpts) host.DnsOptions = inputs.dnsOpts;
  if (inputs.dnsSearches) host.DnsSearch = inputs.dnsSearches;
  if (inputs.securityOpts) host.SecurityOpt = inputs.securityOpts;
  if (inputs.memory) host.Memory = (inputs.memory as number) * 1024 * 1024;
  if (inputs.memoryReservation) host.MemoryReservation = (inputs.memoryReservation as number) * 1024 * 1024;
  if (inputs.memorySwap) {
    const swap = inputs.memorySwap as number;
    host.MemorySwap = swap > 0 ? swap * 1024 * 1024 : swap;
  }
  if (inputs.shmSize) host.ShmSize = (inputs.shmSize as number) * 1024 * 1024;
  if (inputs.cpus) host.NanoCpus = Math.round(parseFloat(inputs.cpus as string) * 1e9);
  if (inputs.cpuShares) host.CpuShares = inputs.cpuShares;
  if (inputs.cpuSet) host.CpusetCpus = inputs.cpuSet;
  if (inputs.usernsMode) host.UsernsMode = inputs.usernsMode;
  if (inputs.pidMode) host.PidMode = inputs.pidMode;
  if (inputs.ipcMode) host.IpcMode = inputs.ipcMode;
  if (inputs.sysctls) host.Sysctls = inputs.sysctls;
  if (inputs.groupAdds) host.GroupAdd = inputs.groupAdds;
  config.HostConfig = host;
  return config;
}

function uploadContent(u: Upload): Buffer {
  if (u.content) return Buffer.from(u.content, "utf8");
  if (u.contentBase64) return Buffer.from(u.contentBase64, "base64");
  return fs.readFileSync(u.source as string);
}

function demuxLogs(buf: Buffer): string {
  // Docker's stream format (no tty): 8-byte frame headers [stream,0,0,0,size(4)].
  const out: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return i === buf.length ? Buffer.concat(out).toString("utf8") : buf.toString("utf8");
}

async function containerLogs(c: Docker.Container, tty: boolean, tail?: number): Promise<string> {
  const raw = await c.logs({ stdout: true, stderr: true, follow: false, tail });
  return tty ? raw.toString("utf8") : demuxLogs(raw);
}

async function readOutputs(docker: Docker, id: string, inputs: Props, extra: Props): Promise<Props> {
  const info = await docker.getContainer(id).inspect();
  const nets = info.NetworkSettings?.Networks ?? {};
  // network_data, which Pulumi's schema names networkDatas.
  const networkDatas = Object.entries(nets).map(([networkName, n]) => ({
    networkName,
    ipAddress: n.IPAddress,
    ipPrefixLength: n.IPPrefixLen,
    gateway: n.Gateway,
    globalIpv6Address: n.GlobalIPv6Address,
    globalIpv6PrefixLength: n.GlobalIPv6PrefixLen,
    ipv6Gateway: n.IPv6Gateway,
    macAddress: n.MacAddress,
  }));
  const out: Props = {
    ...inputs,
    name: info.Name.replace(/^\//, ""),
    hostname: inputs.hostname ?? info.Config.Hostname,
    command: inputs.command ?? info.Config.Cmd ?? [],
    entrypoints: inputs.entrypoints ?? info.Config.Entrypoint ?? [],
    logDriver: inputs.logDriver ?? info.HostConfig.LogConfig?.Type,
    bridge: "",
    networkDatas,
    ...extra,
  };
  if (inputs.ports && info.State.Running) {
    // Computed external ports, as Read flattens them from the running container.
    out.ports = (inputs.ports as Props[]).map((p) => {
      const key = `${p.internal as number}/${(p.protocol as string | undefined) ?? "tcp"}`;
      const b = (info.NetworkSettings.Ports?.[key] ?? [])[0];
      return { ...p, ip: p.ip ?? "0.0.0.0", protocol: p.protocol ?? "tcp", external: p.external ?? (b ? Number(b.HostPort) : undefined) };
    });
  }
  if (!info.State.Running) {
    out.exitCode = info.State.ExitCode;
    // The provider records must_run=false for a stopped container, so the next up updates (starts) it.
    if (inputs.mustRun !== false) out.mustRun = false;
  }
  return out;
}

async function waitHealthy(ctx: OpContext, c: Docker.Container, timeoutS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const info = await c.inspect();
    if (!info.State.Health) {
      throw new Error(
        "you have supplied a 'wait' argument, but the container does not have a healthcheck defined. " +
          "Please remove the 'wait' argument or add a 'healthcheck' attribute",
      );
    }
    if (info.State.Health.Status === "healthy") return;
    if (Date.now() >= deadline) {
      const log = info.State.Health.Log?.slice(-1)[0];
      const logs = await containerLogs(c, false, 20).catch(() => "");
      throw new Error(
        `container failed to be in healthy state (waited ${timeoutS}s; status ${info.State.Health.Status}` +
          `${info.State.Running ? "" : `, container exited with ${info.State.ExitCode}`}` +
          `${log ? `; last healthcheck exit ${log.ExitCode}: ${log.Output.trim()}` : ""})` +
          `${logs ? `\n--- last container log lines ---\n${logs.trimEnd()}` : ""}`,
      );
    }
    await sleep(1000);
  }
}

export const container: ResourceHandler = {
  type: "docker:index/container:Container",
  schema: containerSchema,
  validate,
  async create(ctx, inputs) {
    const docker = needDocker(ctx);
    const image = inputs.image as string;
    let imageInfo;
    try {
      imageInfo = await inspectLocalImage(ctx, image);
    } catch (e) {
      throw new Error(`Unable to create container with image ${image}: ${dockerMessage(e)}`);
    }
    let c: Docker.Container;
    try {
      // The container keeps the reference as given (as docker run does), resolved to the local image.
      const opts = buildCreateOptions(inputs, imageInfo.Id);
      c = await docker.createContainer(opts);
    } catch (e) {
      throw new Error(`Unable to create container: ${dockerMessage(e)}`);
    }
    const id = c.id;
    const partial = async (msg: string): Promise<never> => {
      const outs = await readOutputs(docker, id, inputs, {}).catch(() => ({ ...inputs }));
      throw new PartialCreateError(msg, id, outs);
    };

    // As the provider's Create: the container is made on networkMode (default "bridge", never an
    // EndpointsConfig); with networksAdvanced it is then disconnected from "bridge" (an error
    // saying it is not connected to the network bridge is ignored) and connected to every entry,
    // before uploads and start. An entry naming the networkMode network is connected again: the
    // daemon ignores that second connect, and its aliases with it (noted below).
    const advanced = (inputs.networksAdvanced as NetworkAdvanced[] | undefined) ?? [];
    if (advanced.length) {
      try {
        await docker.getNetwork("bridge").disconnect({ Container: id, Force: false });
      } catch (e) {
        const msg = dockerMessage(e);
        if (!msg.toLowerCase().includes("is not connected to the network bridge")) await partial(`Unable to disconnect the default network: ${msg}`);
      }
      for (const n of advanced) {
        try {
          await docker.getNetwork(n.name).connect({ Container: id, EndpointConfig: endpointConfig(n) });
        } catch (e) {
          await partial(`Unable to connect to network '${n.name}': ${dockerMessage(e)}`);
        }
      }
      const nets = (await c.inspect()).NetworkSettings?.Networks ?? {};
      for (const d of droppedEndpointSettings(advanced, nets)) {
        const why =
          d.network === inputs.networkMode
            ? `: the container already joined it through networkMode, and Docker ignores a second connect to the ` +
              `same network (the docker provider sends it and reports no error). List the network only in ` +
              `networksAdvanced (networkMode left at "bridge") for its aliases to take effect`
            : "";
        ctx.log(`note: ${ctx.name}: the daemon did not apply ${d.missing.join(", ")} on network ${d.network}${why}`);
      }
    }

    for (const u of (inputs.uploads as Upload[] | undefined) ?? []) {
      const content = uploadContent(u);
      const mode = u.permissions ? parseInt(u.permissions, 8) : u.executable ? 0o744 : 0o644;
      if (Number.isNaN(mode)) await partial(`Error parsing permission: ${u.permissions}`);
      const tar = singleFileTar(u.file, content, mode, resolveId(u.owner, "/etc/passwd"), resolveId(u.group, "/etc/group"));
      try {
        await c.putArchive(tar, { path: "/" });
      } catch (e) {
        await partial(`Unable to upload volume content: ${dockerMessage(e)}`);
      }
    }

    if (inputs.start !== false) {
      try {
        await c.start();
      } catch (e) {
        await partial(`Unable to start container: ${dockerMessage(e)}`);
      }
      if (inputs.wait === true) {
        try {
          await waitHealthy(ctx, c, (inputs.waitTimeout as number | undefined) ?? 60);
        } catch (e) {
          await partial((e as Error).message);
        }
      }
    }

    const extra: Props = {};
    if (inputs.attach === true) {
      await c.wait({ condition: "not-running" });
      if (inputs.logs === true) extra.containerLogs = await containerLogs(c, inputs.tty === true);
    }
    if (inputs.rm === true && inputs.attach === true) {
      return { id, outputs: { ...inputs, ...extra, exitCode: undefined } };
    }
    let outputs: Props;
    try {
      outputs = await readOutputs(docker, id, inputs, extra);
    } catch (e) {
      if (statusOf(e) === 404 && inputs.rm === true) return { id, outputs: { ...inputs, ...extra } };
      throw e;
    }
    if (inputs.mustRun !== false && inputs.attach !== true && outputs.mustRun === false) {
      const logs = await containerLogs(c, inputs.tty === true, 20).catch(() => "");
      ctx.log(
        `warning: container ${inputs.name as string} is not running right after start (exit code ${String(outputs.exitCode)}); ` +
          `the provider records mustRun=false, so the next up starts it again` +
          (logs ? `\n--- last container log lines ---\n${logs.trimEnd()}` : ""),
      );
    }
    return { id, outputs };
  },

  async update(ctx, id, olds, news, oldOutputs, changed) {
    const docker = needDocker(ctx);
    const c = docker.getContainer(id);
    // must_run false -> true (the container had stopped): start it.
    if (oldOutputs.mustRun === false && news.mustRun !== false && news.start !== false) {
      try {
        await c.start();
      } catch (e) {
        throw new Error(`Unable to start container: ${dockerMessage(e)}`);
      }
    }
    if (changed.some((k) => UPDATABLE_IN_DOCKER.includes(k))) {
      const mb = (k: string) => ((news[k] as number | undefined) ?? 0) * 1024 * 1024;
      const body: Record<string, unknown> = {
        RestartPolicy: { Name: (news.restart as string | undefined) ?? "no", MaximumRetryCount: news.maxRetryCount ?? 0 },
        CpuShares: news.cpuShares ?? 0,
        Memory: mb("memory"),
        MemoryReservation: mb("memoryReservation"),
        CpusetCpus: news.cpuSet ?? "",
      };
      if (news.memorySwap) {
        const swap = news.memorySwap as number;
        body.MemorySwap = swap > 0 ? swap * 1024 * 1024 : swap;
      }
      try {
        await c.update(body);
      } catch (e) {
        throw new Error(`Unable to update a container: ${dockerMessage(e)}`);
      }
    }
    const stateOnly = changed.filter((k) => !UPDATABLE_IN_DOCKER.includes(k) && !PROVIDER_ONLY.includes(k));
    if (stateOnly.length) {
      ctx.log(
        `note: ${ctx.name}: ${stateOnly.join(", ")} changed in place; the docker provider only records ` +
          `${stateOnly.length > 1 ? "them" : "it"} in state — the running container keeps its old settings`,
      );
    }
    void olds;
    return readOutputs(docker, id, news, {});
  },

  async delete(_ctx, id, inputs) {
    const docker = _ctx.docker ?? needDocker(_ctx);
    const c = docker.getContainer(id);
    if (inputs.attach !== true) {
      const t = (inputs.destroyGraceSeconds as number | undefined) ?? 0;
      try {
        await c.stop({ t: t > 0 ? t : 0 });
      } catch (e) {
        const st = statusOf(e);
        if (st !== 304 && st !== 404) throw new Error(`Error stopping container ${id}: ${dockerMessage(e)}`);
      }
    }
    try {
      await c.remove({ v: inputs.removeVolumes !== false, force: true });
    } catch (e) {
      const msg = dockerMessage(e);
      if (statusOf(e) !== 404 && !msg.includes("is already in progress")) throw new Error(`Error deleting container ${id}: ${msg}`);
    }
    try {
      await c.wait({ condition: inputs.rm === true ? "removed" : "not-running" });
    } catch (e) {
      if (statusOf(e) !== 404) throw new Error(`Error waiting for container removal '${id}': ${dockerMessage(e)}`);
    }
  },
};
