/** `preview` end to end on the Docker-free program, through the programmatic API (spawns the CLI). */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { down, preview, runCli, tryUp, up } from "./index";
import type { PreviewPlan, PreviewStep } from "./index";
import { statePath } from "./state";

const projectDir = path.join(__dirname, "fixtures", "nodocker");
const stack = `jest-preview-${process.pid}`;
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "local-apply-preview-"));
const token = "tok-pr3view-s3cret";
const opts = { projectDir, secretConfig: { token } };
// Protected key and a certificate, so replacements can be refused and renewals planned.
const base = { outDir, protectKey: true, certificate: true };
const stateFile = statePath(projectDir, stack);
const lockFile = stateFile.replace(/\.json$/, ".lock");

afterAll(async () => {
  await down(stack, { projectDir }).catch(() => undefined);
  fs.rmSync(stateFile, { force: true });
  fs.rmSync(outDir, { recursive: true, force: true });
});

const byName = (plan: PreviewPlan | undefined, name: string): PreviewStep => {
  const s = plan?.steps.find((x) => x.name === name);
  if (!s) throw new Error(`no step for ${name} in ${JSON.stringify(plan?.steps.map((x) => x.name))}`);
  return s;
};
const ops = (plan: PreviewPlan | undefined) => Object.fromEntries((plan?.steps ?? []).filter((s) => s.custom && !s.name.startsWith("default")).map((s) => [s.name, s.op]));
const snapshot = () => ({ state: fs.existsSync(stateFile) ? fs.readFileSync(stateFile, "utf8") : undefined, files: fs.readdirSync(outDir).sort() });

describe("local apply preview on a Docker-free program", () => {
  it("on an empty stack every resource is a create, and nothing is written or run", async () => {
    const r = await preview(stack, { ...base, remoteCommand: true }, opts);
    expect(r.code).toBe(0);
    const plan = r.plan!;
    expect(plan.stack).toBe(stack);
    expect(new Set(plan.steps.map((s) => s.op))).toEqual(new Set(["create"]));
    expect(ops(plan)).toEqual({ word: "create", password: "create", key: "create", cert: "create", remote: "create", "file-a": "create" });
    expect(plan.summary).toEqual({ create: plan.steps.filter((s) => !s.name.startsWith("default")).length, update: 0, replace: 0, delete: 0, same: 0 });
    // The word is not generated yet, so the command's trigger is unknown.
    expect(byName(plan, "file-a")).toMatchObject({ unknownInputs: ["triggers"], inputs: { triggers: ["[unknown]"] } });
    expect(byName(plan, "key").options.protect).toBe(true);
    // command:remote:Command is planned with its schema: the connection with the provider's defaults, secret.
    expect(byName(plan, "remote")).toMatchObject({
      inputs: { connection: { host: "ssh-target.invalid", user: "deploy", port: 22, dialErrorLimit: 10, perDialTimeout: 15, privateKey: token }, create: "true" },
      secretInputs: ["connection"],
      options: { replaceOnChanges: ["triggers[*]"], additionalSecretOutputs: ["connection"] },
    });
    expect(fs.existsSync(stateFile)).toBe(false);
    expect(fs.existsSync(path.dirname(stateFile)) && fs.readdirSync(path.dirname(stateFile)).some((f) => f.startsWith(stack))).toBe(false);
    expect(fs.readdirSync(outDir)).toEqual([]);
  });

  it("masks secrets in the text and the JSON forms", async () => {
    const text = await runCli(["preview", "--stack", stack, "--config", `outDir=${outDir}`, "--config", "remoteCommand=true", "--secret", `token=${token}`], { projectDir });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^\+ create command:remote:Command remote$/m);
    expect(text.stdout).toMatch(/^\+ create command:local:Command file-a$/m);
    expect(text.stdout).toMatch(/^Resources: \d+ to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged$/m);
    const json = await runCli(["preview", "--stack", stack, "--json", "--config", `outDir=${outDir}`, "--config", "remoteCommand=true", "--secret", `token=${token}`], { projectDir });
    expect(json.code).toBe(0);
    const plan = JSON.parse(json.stdout) as PreviewPlan;
    expect(byName(plan, "remote").inputs.connection).toBe("[secret]");
    for (const out of [text, json]) expect(out.stdout + out.stderr).not.toContain(token);
    expect(fs.existsSync(stateFile)).toBe(false);
  });

  it("after up, the same config previews as all unchanged and leaves the state file's bytes alone", async () => {
    await up(stack, base, opts);
    const before = snapshot();
    const r = await preview(stack, base, opts);
    expect(r.code).toBe(0);
    expect(new Set(Object.values(ops(r.plan)))).toEqual(new Set(["same"]));
    expect(r.plan!.summary).toMatchObject({ create: 0, update: 0, replace: 0, delete: 0 });
    expect(snapshot()).toEqual(before);
    expect(fs.existsSync(lockFile)).toBe(false);
  });

  it("a change that is no trigger plans an in-place update; the command does not run", async () => {
    const before = snapshot();
    const r = await preview(stack, { ...base, marker: "two" }, opts);
    expect(ops(r.plan)).toMatchObject({ word: "same", "file-a": "update" });
    expect(byName(r.plan, "file-a").changed).toEqual(["environment"]);
    expect(fs.readFileSync(path.join(outDir, "a"), "utf8")).toBe("one");
    expect(snapshot()).toEqual(before);
  });

  it("a ForceNew change replaces, an unknown input on a ForceNew property replaces, a certificate due for renewal replaces", async () => {
    const before = snapshot();
    const r = await preview(stack, { ...base, length: 20 }, { ...opts, env: { LOCAL_APPLY_NOW: "+30h" } });
    expect(r.code).toBe(0);
    expect(byName(r.plan, "word")).toMatchObject({ op: "replace", replaceReasons: ["length"] });
    // file-a's trigger is the new word's result, unknown until it exists.
    expect(byName(r.plan, "file-a")).toMatchObject({ op: "replace", unknownInputs: ["triggers"], replaceReasons: ["triggers"] });
    expect(byName(r.plan, "cert")).toMatchObject({ op: "replace", replaceReasons: ["readyForRenewal"] });
    expect(ops(r.plan)).toMatchObject({ password: "same", key: "same" });
    expect(snapshot()).toEqual(before);
  });

  it("a resource the program drops previews as a delete", async () => {
    const r = await preview(stack, { ...base, names: [] }, opts);
    expect(byName(r.plan, "file-a")).toMatchObject({ op: "delete", note: "no longer declared" });
    expect(r.plan!.summary.delete).toBe(1);
    expect(fs.existsSync(path.join(outDir, "a"))).toBe(true);
  });

  it("a replacement of a protected resource fails the preview, as in Pulumi", async () => {
    const before = snapshot();
    const r = await preview(stack, { ...base, keyCurve: "P384" }, opts);
    expect(r.code).not.toBe(0);
    expect(r.plan).toBeUndefined();
    expect(r.stderr).toMatch(/unable to replace resource ".*::key"[\s\S]*marked for protection \(changed: ecdsaCurve\)/);
    expect(snapshot()).toEqual(before);
  });

  it("up refuses command:remote:Command clearly (no SSH target in this harness)", async () => {
    const r = await tryUp(stack, { ...base, remoteCommand: true }, opts);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/command:remote:Command: cannot run its create command: no SSH target in this harness/);
  });
});
