/**
 * The harness against the real Docker engine, on the fixture programs (a TLS + htpasswd registry
 * on 127.0.0.1; a user network with containers on it). Needs tests/setup/prepare-machine.sh
 * (npm run test:local-apply:docker runs it).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { down, REPO_ROOT, runCli, state, tryUp, up } from "./index";

const projectDir = path.join(__dirname, "fixtures", "mini");
const stack = "jestdocker";
const prefix = `lah-jd${process.pid}`;
const port = 15090;
const image = (YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")).config["private-registry:image"] as { default: string }).default;
const base = { image, prefix, port };
const opts = { projectDir };

const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
const containerId = (name: string) => docker("inspect", "--format", "{{.Id}}", name);

afterAll(async () => {
  await down(stack, opts).catch(() => undefined);
  for (const c of [`${prefix}-registry`, `${prefix}-ro-probe`]) {
    try {
      docker("rm", "-fv", c);
    } catch {
      /* gone */
    }
  }
  try {
    docker("volume", "rm", `${prefix}-data`);
  } catch {
    /* gone */
  }
  fs.rmSync(path.join(projectDir, ".local-state", `${stack}.json`), { force: true });
});

describe("local apply harness with Docker", () => {
  let id1: string;

  it("up builds a working registry (TLS, htpasswd, healthy) from the digest-pinned image", async () => {
    const r = await up(stack, base, opts);
    expect(r.stdout).toMatch(/is matched by name:tag/);
    expect(r.outputs.checkStatus).toBe("200");
    expect(r.outputs.containerName).toBe(`${prefix}-registry`);
    expect(docker("inspect", "--format", "{{.State.Health.Status}}", `${prefix}-registry`)).toBe("healthy");
    id1 = containerId(`${prefix}-registry`);
    const creds = r.outputs.credentials as Record<string, string>;
    expect(r.stdout + r.stderr).not.toContain(creds.admin);
  });

  it("a second up with the same config changes nothing", async () => {
    const r = await up(stack, base, opts);
    expect(r.stdout).not.toMatch(/^[+~-]/m);
    expect(containerId(`${prefix}-registry`)).toBe(id1);
  });

  it("memory updates the container in place", async () => {
    const r = await up(stack, { ...base, memoryMb: 300 }, opts);
    expect(r.stdout).toMatch(/~ update docker:index\/container:Container registry \(changed: memory\)/);
    expect(containerId(`${prefix}-registry`)).toBe(id1);
    expect(docker("inspect", "--format", "{{.HostConfig.Memory}}", `${prefix}-registry`)).toBe(String(300 * 1024 * 1024));
  });

  it("a new port replaces the container (delete before replace) and the check that depends on it", async () => {
    const r = await up(stack, { ...base, memoryMb: 300, port: port + 1 }, opts);
    expect(r.stdout).toMatch(/- delete docker:index\/container:Container registry \(delete-before-replace\)/);
    expect(r.stdout).toMatch(/\+- replace docker:index\/container:Container registry \(replace because: ports\)/);
    expect(r.outputs.checkStatus).toBe("200");
    expect(containerId(`${prefix}-registry`)).not.toBe(id1);
    expect(r.stdout).toMatch(/= same docker:index\/volume:Volume data/);
  });

  it("uploads into a read-only container fail the way the daemon refuses them; the half-made container is kept in state", async () => {
    const r = await tryUp(stack, { ...base, memoryMb: 300, port: port + 1, readOnlyProbe: true }, opts);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Unable to upload volume content: .*read-only/);
    const rec = state(stack, opts).resources.find((x) => x.name === "ro-probe");
    expect(rec?.initErrors?.[0]).toMatch(/read-only/);
  });

  it("dropping it again deletes the half-made container", async () => {
    const r = await up(stack, { ...base, memoryMb: 300, port: port + 1 }, opts);
    expect(r.stdout).toMatch(/- delete docker:index\/container:Container ro-probe/);
    expect(() => docker("inspect", `${prefix}-ro-probe`)).toThrow();
  });

  it("a certificate within its early-renewal window is replaced on the next up, and what uses it follows", async () => {
    const r = await up(stack, { ...base, memoryMb: 300, port: port + 1 }, { ...opts, env: { LOCAL_APPLY_NOW: "+24d" } });
    expect(r.stdout).toMatch(/\+- replace tls:index\/locallySignedCert:LocallySignedCert server \(replace because: readyForRenewal\)/);
    expect(r.stdout).toMatch(/\+- replace docker:index\/container:Container registry \(replace because: uploads\)/);
    expect(r.outputs.checkStatus).toBe("200");
  });

  it("down with protectData keeps the volume, names it, and forgets it", async () => {
    await up(stack, { ...base, memoryMb: 300, port: port + 1, protectData: true }, opts);
    const r = await down(stack, opts);
    expect(r.stdout).toMatch(/kept docker:index\/volume:Volume data \[.*-data\] \(protect\)/);
    expect(() => docker("inspect", `${prefix}-registry`)).toThrow();
    expect(docker("volume", "inspect", "--format", "{{.Name}}", `${prefix}-data`)).toBe(`${prefix}-data`);
    expect(state(stack, opts).resources).toEqual([]);
  });
});

describe("local apply harness with Docker: networks", () => {
  const netOpts = { projectDir: path.join(__dirname, "fixtures", "network") };
  const netStack = "jestnet";
  const netPrefix = `harness-net-test-${process.pid}`;
  const cname = (c: string) => `${netPrefix}-${c}`;
  const cfg = { prefix: netPrefix, image: "registry:2.8.3" };
  /** Runs a command in a container; resolves with its output or the error's text. */
  const exec = (c: string, ...args: string[]): { ok: boolean; out: string } => {
    try {
      return { ok: true, out: execFileSync("docker", ["exec", cname(c), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 20_000 }) };
    } catch (e) {
      const err = e as { stdout?: string; stderr?: string };
      return { ok: false, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
    }
  };
  // No "-T": this busybox's wget crashes with it; execFileSync's timeout bounds the call instead.
  const fetchFrom = (from: string, host: string) => exec(from, "wget", "-q", "-O-", `http://${host}:5000/v2/`);
  /** fetchFrom, retried for a few seconds while the freshly started registry may not listen yet. */
  const fetchOnceUp = async (from: string, host: string) => {
    for (let i = 0; ; i++) {
      const r = fetchFrom(from, host);
      if (r.ok || i >= 10) return r;
      await new Promise((res) => setTimeout(res, 1000));
    }
  };
  /** Whether docker fails to find an object (without printing the daemon's complaint). */
  const absent = (...args: string[]) => {
    try {
      execFileSync("docker", args, { stdio: "ignore" });
      return false;
    } catch {
      return true;
    }
  };
  const ourNetworks = () => docker("network", "ls", "-q", "--filter", `label=org.local-apply.fixture=${netPrefix}`).split("\n").filter(Boolean);
  let netName: string;
  let netId: string;
  let first: Awaited<ReturnType<typeof up>>;

  afterAll(async () => {
    await down(netStack, netOpts).catch(() => undefined);
    // Only what this suite made: its containers by name, its networks by label.
    const quiet = (...args: string[]) => execFileSync("docker", args, { stdio: "ignore" });
    for (const c of ["server", "client", "pinned", "intruder"]) {
      try {
        quiet("rm", "-fv", cname(c));
      } catch {
        /* gone */
      }
    }
    for (const n of ourNetworks()) {
      try {
        quiet("network", "rm", n);
      } catch {
        /* gone */
      }
    }
    fs.rmSync(path.join(netOpts.projectDir, ".local-state"), { recursive: true, force: true });
  });

  it("up creates an autonamed network and connects the containers; the server's alias resolves and answers", async () => {
    first = await up(netStack, cfg, netOpts);
    netName = first.outputs.networkName as string;
    netId = first.outputs.networkId as string;
    expect(netName).toMatch(new RegExp(`^${netPrefix}-net-[0-9a-f]{7}$`));
    expect(first.outputs.networkScope).toBe("local");
    expect(docker("network", "inspect", "--format", "{{.Id}} {{.Driver}} {{.Internal}}", netName)).toBe(`${netId} bridge false`);
    // networksAdvanced without networkMode: disconnected from the default bridge, on the user network only.
    const server = first.outputs.serverNetworks as { networkName: string; ipAddress: string; gateway: string }[];
    expect(server.map((n) => n.networkName)).toEqual([netName]);
    expect(server[0].ipAddress).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(server[0].gateway).toBe(docker("network", "inspect", "--format", "{{(index .IPAM.Config 0).Gateway}}", netName));
    expect(docker("inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}", cname("server"))).toBe(netName);
    expect(await fetchOnceUp("client", "api")).toEqual({ ok: true, out: "{}" });
  });

  it("an alias on the networkMode network is lost, as with the real provider on this daemon; the harness says so", async () => {
    expect(first.stdout).toMatch(/note: pinned: the daemon did not apply alias pinned-alias on network \S+: the container already joined it through networkMode/);
    expect(docker("inspect", "--format", `{{json (index .NetworkSettings.Networks "${netName}").Aliases}}`, cname("pinned"))).not.toContain("pinned-alias");
    const viaAlias = fetchFrom("client", "pinned-alias");
    expect(viaAlias.ok).toBe(false);
    expect(viaAlias.out).toMatch(/bad address/);
    expect(await fetchOnceUp("client", cname("pinned"))).toEqual({ ok: true, out: "{}" });
  });

  it("a second up changes nothing", async () => {
    const r = await up(netStack, cfg, netOpts);
    expect(r.stdout).not.toMatch(/^[+~-]/m);
    expect(r.outputs.networkId).toBe(netId);
  });

  it("a new alias replaces only the server (networksAdvanced is ForceNew)", async () => {
    const clientId = containerId(cname("client"));
    const serverId = containerId(cname("server"));
    const r = await up(netStack, { ...cfg, serverAliases: ["api2"] }, netOpts);
    expect(r.stdout).toMatch(/\+- replace docker:index\/container:Container server \(replace because: networksAdvanced\)/);
    expect(r.stdout.match(/^(\+-|\+|~|-) /gm)).toHaveLength(2); // the server's delete and replace lines only
    expect(containerId(cname("server"))).not.toBe(serverId);
    expect(containerId(cname("client"))).toBe(clientId);
    expect(r.outputs.networkId).toBe(netId);
    expect(await fetchOnceUp("client", "api2")).toEqual({ ok: true, out: "{}" });
    expect(fetchFrom("client", "api").out).toMatch(/bad address/);
  });

  it("internal: true replaces the network under a new name; the containers follow and the old network goes last", async () => {
    const r = await up(netStack, { ...cfg, serverAliases: ["api2"], internal: true }, netOpts);
    expect(r.stdout).toMatch(new RegExp(`\\+- replace docker:index/network:Network ${netPrefix}-net \\(replace because: internal\\)`));
    const lines = r.stdout.split("\n");
    const oldNetDeleted = lines.findIndex((l) => /^- delete docker:index\/network:Network .* \(replaced\)/.test(l));
    for (const c of ["server", "client", "pinned"]) {
      const replaced = lines.findIndex((l) => l.startsWith(`+- replace docker:index/container:Container ${c} `));
      expect(replaced).toBeGreaterThanOrEqual(0);
      expect(replaced).toBeLessThan(oldNetDeleted);
    }
    expect(absent("network", "inspect", netId)).toBe(true);
    netName = r.outputs.networkName as string;
    netId = r.outputs.networkId as string;
    expect(netName).toMatch(new RegExp(`^${netPrefix}-net-[0-9a-f]{7}$`));
    expect(docker("network", "inspect", "--format", "{{.Internal}}", netName)).toBe("true");
    expect(await fetchOnceUp("client", "api2")).toEqual({ ok: true, out: "{}" });
  });

  it("down deletes the containers first; a container it did not create keeps the network, and the error says so", async () => {
    docker("run", "-d", "--name", cname("intruder"), "--network", netName, "registry:2.8.3");
    const r = await runCli(["down", "--stack", netStack], { ...netOpts, env: { LOCAL_APPLY_NETWORK_DELETE_TIMEOUT_S: "2" } });
    expect(r.code).not.toBe(0);
    const deleted = r.stdout.split("\n").filter((l) => l.startsWith("- delete docker:index/"));
    expect(deleted.filter((l) => l.includes("container:Container")).sort()).toEqual(["client", "pinned", "server"].map((c) => `- delete docker:index/container:Container ${c}`));
    expect(deleted.filter((l) => l.includes("network:Network"))).toEqual([]);
    expect(r.stdout + r.stderr).toMatch(new RegExp(`Unable to remove network ${netName} .*has active endpoints; containers still attached: ${cname("intruder")}`));
    for (const c of ["server", "client", "pinned"]) expect(absent("inspect", cname(c))).toBe(true);
    expect(state(netStack, netOpts).resources.map((x) => x.type)).toContain("docker:index/network:Network");

    docker("rm", "-fv", cname("intruder"));
    const r2 = await down(netStack, netOpts);
    expect(r2.stdout).toMatch(new RegExp(`- delete docker:index/network:Network ${netPrefix}-net`));
    expect(ourNetworks()).toEqual([]);
    expect(state(netStack, netOpts).resources).toEqual([]);
  });
});
