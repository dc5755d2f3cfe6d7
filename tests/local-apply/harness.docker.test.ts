/**
 * The harness against the real Docker engine, on the fixture program (a TLS + htpasswd registry
 * on 127.0.0.1). Needs tests/setup/prepare-machine.sh (npm run test:local-apply:docker runs it).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { down, REPO_ROOT, state, tryUp, up } from "./index";

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
      docker("rm", "-f", c);
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
