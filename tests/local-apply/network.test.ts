/** docker:index/network:Network and container networksAdvanced, without Docker: schema, requests, diffs, plans. */
import { Engine, Goal, makeUrn } from "./engine";
import { container, droppedEndpointSettings, endpointConfig } from "./providers/docker-container";
import { autoName, diffNetwork, network, networkCreateRequest } from "./providers/docker-network";
import { checkInputs, diffInputs, UNKNOWN } from "./schema";
import type { ResourceOptions, ResourceRecord, StackState } from "./types";

const NET = network.type;
const CTR = container.type;

describe("docker:index/network:Network schema", () => {
  const base = { name: "n", labels: [{ label: "a", value: "1" }] };

  it("knows the provider's inputs and refuses others (checkDuplicate was removed in provider v4)", () => {
    expect(() =>
      checkInputs(NET, network.schema, {
        ...base,
        driver: "bridge",
        options: { "com.docker.network.bridge.enable_icc": "true" },
        internal: true,
        attachable: true,
        ingress: false,
        ipv6: false,
        ipamDriver: "default",
        ipamOptions: {},
        ipamConfigs: [{ subnet: "10.9.0.0/24", ipRange: "10.9.0.128/25", gateway: "10.9.0.1", auxAddress: { host1: "10.9.0.5" } }],
      }),
    ).not.toThrow();
    expect(() => checkInputs(NET, network.schema, { ...base, checkDuplicate: true })).toThrow(/'checkDuplicate' is not implemented/);
    expect(() => checkInputs(NET, network.schema, { ...base, ipamConfigs: [{ subnet: "10.9.0.0/24", bogus: 1 }] })).toThrow(/'ipamConfigs\[0\]\.bogus'/);
  });

  it("every input replaces: the provider has no Update", () => {
    const changes: Record<string, unknown> = {
      name: "m",
      labels: [{ label: "a", value: "2" }],
      driver: "macvlan",
      options: { k: "v" },
      internal: true,
      attachable: true,
      ingress: true,
      ipv6: true,
      ipamDriver: "other",
      ipamOptions: { k: "v" },
      ipamConfigs: [{ subnet: "10.9.0.0/24" }],
    };
    for (const [k, v] of Object.entries(changes)) expect(diffNetwork(base, { ...base, [k]: v })).toEqual({ changed: [k], replaces: [k] });
    expect(network.update).toBeUndefined();
  });

  it("defaults equal leaving a property out; sets ignore order", () => {
    const explicit = { ...base, driver: "bridge", internal: false, attachable: false, ingress: false, ipv6: false, ipamDriver: "default", options: {}, ipamOptions: {} };
    expect(diffNetwork(base, explicit).changed).toEqual([]);
    const two = [{ label: "a", value: "1" }, { label: "b", value: "2" }];
    expect(diffNetwork({ ...base, labels: two }, { ...base, labels: [...two].reverse() }).changed).toEqual([]);
  });

  it("an Optional+Computed property left out keeps what the state has (no diff), unlike a plain optional one", () => {
    const olds = { ...base, driver: "macvlan", internal: true, options: { k: "v" }, ipamConfigs: [{ subnet: "10.9.0.0/24" }] };
    expect(diffNetwork(olds, base).changed).toEqual([]);
    expect(diffNetwork({ ...base, attachable: true }, base)).toEqual({ changed: ["attachable"], replaces: ["attachable"] });
    expect(diffNetwork(olds, { ...base, internal: false }).replaces).toEqual(["internal"]);
  });

  it("an unknown input (a preview's) counts as a change and replaces", () => {
    expect(diffNetwork(base, { ...base, name: UNKNOWN })).toEqual({ changed: ["name"], replaces: ["name"] });
  });
});

describe("the NetworkCreate request the provider sends", () => {
  it("always an IPAM block (ipamDriver defaults to \"default\") and CheckDuplicate (the Go client adds it for API < 1.44)", () => {
    expect(networkCreateRequest("n", {})).toEqual({ Name: "n", CheckDuplicate: true, IPAM: { Driver: "default" } });
  });
  it("maps every property, leaving empty ones out", () => {
    const req = networkCreateRequest("n", {
      labels: [{ label: "a", value: "1" }],
      driver: "bridge",
      options: { "com.docker.network.bridge.name": "br-x" },
      internal: true,
      attachable: true,
      ingress: false,
      ipv6: true,
      ipamDriver: "default",
      ipamOptions: { o: "1" },
      ipamConfigs: [{ subnet: "10.9.0.0/24", gateway: "10.9.0.1", auxAddress: { h: "10.9.0.5" } }, { subnet: "fd00::/64" }],
    });
    expect(req).toEqual({
      Name: "n",
      CheckDuplicate: true,
      Labels: { a: "1" },
      Driver: "bridge",
      Options: { "com.docker.network.bridge.name": "br-x" },
      Internal: true,
      Attachable: true,
      EnableIPv6: true,
      IPAM: {
        Driver: "default",
        Options: { o: "1" },
        Config: [{ Subnet: "10.9.0.0/24", Gateway: "10.9.0.1", AuxiliaryAddresses: { h: "10.9.0.5" } }, { Subnet: "fd00::/64" }],
      },
    });
  });
  it("a name left out is Pulumi's autoname: logical name, '-', 7 hex digits, new each time", () => {
    expect(autoName("net")).toMatch(/^net-[0-9a-f]{7}$/);
    expect(autoName("net")).not.toBe(autoName("net"));
  });
});

describe("container networksAdvanced", () => {
  const base = { name: "c", image: "sha256:abc", networksAdvanced: [{ name: "n1", aliases: ["a", "b"] }, { name: "n2" }] };

  it("is a set of ForceNew blocks: any change replaces, order does not matter", () => {
    expect(diffInputs(container.schema, base, { ...base, networksAdvanced: [{ name: "n2" }, { name: "n1", aliases: ["b", "a"] }] }).changed).toEqual([]);
    for (const change of [{ aliases: ["a"] }, { ipv4Address: "10.9.0.9" }, { ipv6Address: "fd00::9" }, { name: "n3" }, { gwPriority: 1 }, { driverOpts: ["k=v"] }]) {
      const news = { ...base, networksAdvanced: [{ ...base.networksAdvanced[0], ...change }, base.networksAdvanced[1]] };
      expect(diffInputs(container.schema, base, news)).toEqual({ changed: ["networksAdvanced"], replaces: ["networksAdvanced"] });
    }
    expect(diffInputs(container.schema, base, { ...base, networkMode: "n1" })).toEqual({ changed: ["networkMode"], replaces: ["networkMode"] });
  });

  it("refuses unknown nested properties and a negative gwPriority, as the provider does", () => {
    expect(() => checkInputs(CTR, container.schema, { ...base, networksAdvanced: [{ name: "n", alias: "x" }] })).toThrow(/'networksAdvanced\[0\]\.alias'/);
    expect(() => container.validate!({ ...base, networksAdvanced: [{ name: "n", gwPriority: -1 }] })).toThrow(/'-1' cannot be lower than 0/);
    expect(() => container.validate!({ ...base, networksAdvanced: [UNKNOWN] })).not.toThrow();
  });

  it("sends the provider's EndpointSettings; driverOpts 'k=v' entries without '=' are skipped", () => {
    expect(endpointConfig({ name: "n", aliases: ["a"], ipv4Address: "10.9.0.9", driverOpts: ["k=v=w", "bad"], gwPriority: 2 })).toEqual({
      Aliases: ["a"],
      IPAMConfig: { IPv4Address: "10.9.0.9", IPv6Address: "", LinkLocalIPs: [] },
      MacAddress: "",
      DriverOpts: { k: "v=w" },
      GwPriority: 2,
    });
  });

  it("notices aliases and addresses the daemon did not take (matched by network name or id)", () => {
    const nets = {
      mode: { NetworkID: "aaaa1111", Aliases: null, IPAMConfig: null },
      other: { NetworkID: "bbbb2222", Aliases: ["x"], IPAMConfig: { IPv4Address: "10.9.0.9" } },
    };
    expect(
      droppedEndpointSettings(
        [
          { name: "mode", aliases: ["m"] },
          { name: "bbbb", aliases: ["x"], ipv4Address: "10.9.0.9" },
        ],
        nets,
      ),
    ).toEqual([{ network: "mode", missing: ["alias m"] }]);
    expect(droppedEndpointSettings([{ name: "other", ipv4Address: "10.9.0.8" }], nets)).toEqual([{ network: "other", missing: ["ipv4Address 10.9.0.8"] }]);
  });
});

describe("the engine with networks and containers (preview: no Docker needed)", () => {
  const provider = "urn:pulumi:s::p::pulumi:providers:docker::docker::pid";
  const options: ResourceOptions = { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [] };
  const netUrn = makeUrn("s", "p", undefined, NET, "net");
  const netInputs = { name: "n", labels: [] };
  const ctrInputs = { name: "c", image: "sha256:abc", networksAdvanced: [{ name: "n", aliases: ["api"] }] };
  const rec = (type: string, name: string, inputs: Record<string, unknown>, propertyDependencies: Record<string, string[]> = {}): ResourceRecord => ({
    urn: makeUrn("s", "p", undefined, type, name),
    type,
    name,
    custom: true,
    id: `${name}-id`,
    provider,
    inputs,
    outputs: inputs,
    secretInputs: [],
    secretOutputs: [],
    dependencies: Object.values(propertyDependencies).flat(),
    propertyDependencies,
    options,
  });
  // The container comes first in the state, so reverse state order alone would delete the network first.
  const state = (): StackState => ({
    version: 1,
    project: "p",
    stack: "s",
    resources: [rec(CTR, "ctr", ctrInputs, { networksAdvanced: [netUrn] }), rec(NET, "net", netInputs)],
    outputs: {},
  });
  const goal = (type: string, name: string, inputs: Record<string, unknown>, propertyDependencies: Record<string, string[]> = {}): Goal => {
    const r = rec(type, name, inputs, propertyDependencies);
    return { urn: r.urn, type, name, custom: true, provider, inputs, secretInputs: [], options, dependencies: r.dependencies, propertyDependencies };
  };
  const preview = () => new Engine(state(), { projectDir: "/nonexistent", preview: true });

  beforeEach(() => {
    jest.spyOn(process.stdout, "write").mockImplementation(() => true);
    jest.spyOn(process.stderr, "write").mockImplementation(() => true);
  });
  afterEach(() => jest.restoreAllMocks());

  it("plans a network ForceNew change as a replace, an alias change as the container's replace", async () => {
    const e = preview();
    await e.apply(goal(NET, "net", { ...netInputs, internal: true }));
    await e.apply(goal(CTR, "ctr", { ...ctrInputs, networksAdvanced: [{ name: "n", aliases: ["api2"] }] }, { networksAdvanced: [netUrn] }));
    expect(e.plan.map((s) => [s.op, s.name, s.replaceReasons])).toEqual([
      ["replace", "net", ["internal"]],
      ["replace", "ctr", ["networksAdvanced"]],
    ]);
  });

  it("the same inputs in another order plan nothing", async () => {
    const e = preview();
    await e.apply(goal(NET, "net", { labels: [], name: "n" }));
    await e.apply(goal(CTR, "ctr", { ...ctrInputs }, { networksAdvanced: [netUrn] }));
    expect(e.plan.map((s) => s.op)).toEqual(["same", "same"]);
  });

  it("a program that drops both deletes the container before its network", () => {
    const e = preview();
    e.planDeletes();
    expect(e.plan.map((s) => [s.op, s.name])).toEqual([
      ["delete", "ctr"],
      ["delete", "net"],
    ]);
  });
});
