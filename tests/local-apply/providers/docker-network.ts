/**
 * docker:index/network:Network, following terraform-provider-docker v4.5.0 (the one
 * @pulumi/docker 5.2.0 wraps): resource_docker_network(_funcs).go. The resource has no Update,
 * so every input is ForceNew. Create sends what the provider sends (the Go client adds
 * CheckDuplicate for daemons older than API 1.44); delete retries while endpoints are active.
 */
import * as crypto from "crypto";
import type Docker from "dockerode";
import type { OpContext, Props, ResourceHandler } from "../types";
import type { Schema } from "../schema";
import { diffInputs } from "../schema";
import { dockerMessage, labelsToMap, needDocker, sleep, statusOf } from "./docker-common";

const F = { forceNew: true } as const;

export const networkSchema: Schema = {
  name: F,
  labels: { forceNew: true, set: true, default: [], items: { label: F, value: F } },
  // Optional+Computed: the daemon's default driver is bridge.
  driver: { forceNew: true, default: "bridge" },
  options: { forceNew: true, map: true, default: {} },
  internal: { forceNew: true, default: false },
  attachable: { forceNew: true, default: false },
  ingress: { forceNew: true, default: false },
  ipv6: { forceNew: true, default: false },
  ipamDriver: { forceNew: true, default: "default" },
  ipamOptions: { forceNew: true, map: true, default: {} },
  ipamConfigs: {
    forceNew: true,
    set: true,
    items: { subnet: F, ipRange: F, gateway: F, auxAddress: { forceNew: true, map: true } },
  },
};

/**
 * Optional+Computed properties: leaving one out keeps what the state holds (Terraform plans no
 * change), so only a value the program sets can differ.
 */
export const NETWORK_COMPUTED = ["driver", "options", "internal", "ipamConfigs"];

export function diffNetwork(olds: Props, news: Props): { changed: string[]; replaces: string[] } {
  const effective = { ...news };
  for (const k of NETWORK_COMPUTED) if (effective[k] === undefined && olds[k] !== undefined) effective[k] = olds[k];
  return diffInputs(networkSchema, olds, effective);
}

/** Pulumi's autoname for a `name` the program leaves out: the logical name, "-", 7 random hex digits. */
export function autoName(logicalName: string): string {
  return `${logicalName}-${crypto.randomBytes(4).toString("hex").substring(0, 7)}`;
}

type IpamConfig = { subnet?: string; ipRange?: string; gateway?: string; auxAddress?: Record<string, string> };

/** The NetworkCreate request body the provider's Create builds (empty fields left out, as Go's omitempty does). */
export function networkCreateRequest(name: string, inputs: Props): Docker.NetworkCreateOptions {
  const req: Docker.NetworkCreateOptions = { Name: name, CheckDuplicate: true };
  const labels = labelsToMap(inputs.labels);
  if (labels) req.Labels = labels;
  if (inputs.driver) req.Driver = inputs.driver as string;
  const options = inputs.options as Record<string, string> | undefined;
  if (options && Object.keys(options).length) req.Options = options;
  if (inputs.internal === true) req.Internal = true;
  if (inputs.attachable === true) req.Attachable = true;
  if (inputs.ingress === true) req.Ingress = true;
  if (inputs.ipv6 === true) req.EnableIPv6 = true;
  // ipam_driver defaults to "default", so the provider always sends an IPAM block.
  const ipam: NonNullable<Docker.NetworkCreateOptions["IPAM"]> = { Driver: (inputs.ipamDriver as string | undefined) || "default" };
  const configs = inputs.ipamConfigs as IpamConfig[] | undefined;
  if (configs?.length) {
    ipam.Config = configs.map((c) => {
      const out: NonNullable<typeof ipam.Config>[number] = {};
      if (c.subnet) out.Subnet = c.subnet;
      if (c.ipRange) out.IPRange = c.ipRange;
      if (c.gateway) out.Gateway = c.gateway;
      if (c.auxAddress && Object.keys(c.auxAddress).length) out.AuxiliaryAddresses = c.auxAddress;
      return out;
    });
  }
  const ipamOptions = inputs.ipamOptions as Record<string, string> | undefined;
  if (ipamOptions && Object.keys(ipamOptions).length) ipam.Options = ipamOptions;
  req.IPAM = ipam;
  return req;
}

/** What the provider's Read records from NetworkInspect. */
function networkOutputs(inputs: Props, n: Docker.NetworkInspectInfo): Props {
  const ipamConfigs = (n.IPAM?.Config ?? []).map((c) => {
    const out: IpamConfig = {};
    if (c.Subnet) out.subnet = c.Subnet;
    if (c.IPRange) out.ipRange = c.IPRange;
    if (c.Gateway) out.gateway = c.Gateway;
    const aux = c.AuxiliaryAddresses as Record<string, string> | undefined;
    if (aux && Object.keys(aux).length) out.auxAddress = aux;
    return out;
  });
  return {
    ...inputs,
    name: n.Name,
    labels: Object.entries(n.Labels ?? {}).map(([label, value]) => ({ label, value })),
    driver: n.Driver,
    internal: n.Internal,
    attachable: n.Attachable,
    ingress: n.Ingress,
    ipv6: n.EnableIPv6,
    ipamDriver: n.IPAM?.Driver ?? "",
    ipamOptions: n.IPAM?.Options ?? {},
    scope: n.Scope,
    options: n.Options ?? {},
    ipamConfigs,
  };
}

async function attachedContainers(docker: Docker, id: string): Promise<string[]> {
  try {
    const n = await docker.getNetwork(id).inspect();
    return Object.values(n.Containers ?? {}).map((c) => c.Name);
  } catch {
    return [];
  }
}

export const network: ResourceHandler = {
  type: "docker:index/network:Network",
  schema: networkSchema,
  diff: diffNetwork,
  async create(ctx: OpContext, inputs: Props) {
    const docker = needDocker(ctx);
    const name = (inputs.name as string | undefined) || autoName(ctx.name);
    let info: Docker.NetworkInspectInfo;
    try {
      const handle = await docker.createNetwork(networkCreateRequest(name, inputs));
      info = await handle.inspect();
    } catch (e) {
      throw new Error(`Unable to create network: ${dockerMessage(e)}`);
    }
    return { id: info.Id, outputs: networkOutputs(inputs, info) };
  },
  async delete(ctx, id, _inputs, outputs) {
    const docker = needDocker(ctx);
    if (!id) throw new Error("Unable to remove network: the state has no network id");
    // Like the provider: retry while the network has active endpoints, up to 30 s
    // (LOCAL_APPLY_NETWORK_DELETE_TIMEOUT_S); any other error fails at once.
    const timeoutS = Number(process.env.LOCAL_APPLY_NETWORK_DELETE_TIMEOUT_S ?? "30");
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
      try {
        await docker.getNetwork(id).remove();
        return;
      } catch (e) {
        if (statusOf(e) === 404) return;
        const msg = dockerMessage(e);
        const label = `${typeof outputs.name === "string" ? outputs.name : id} (${id.substring(0, 12)})`;
        if (!msg.toLowerCase().includes("has active endpoints")) throw new Error(`Unable to remove network ${label}: ${msg}`);
        if (Date.now() >= deadline) {
          const attached = await attachedContainers(docker, id);
          throw new Error(
            `Unable to remove network ${label}: timeout while waiting for state to become 'removed' ` +
              `(last state: 'pending', timeout: ${timeoutS}s): ${msg}` +
              (attached.length ? `; containers still attached: ${attached.join(", ")}` : ""),
          );
        }
        await sleep(1000);
      }
    }
  },
};
