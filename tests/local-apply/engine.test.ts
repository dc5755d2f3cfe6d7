/** Engine decisions (create / same / update / replace / delete) with Docker-free resource types. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Engine, Goal, makeUrn } from "./engine";
import { UNKNOWN } from "./schema";
import { deletionOrder, statePath } from "./state";
import type { ResourceOptions, ResourceRecord, StackState } from "./types";

const CMD = "command:local:Command";
const STR = "random:index/randomString:RandomString";
let dir: string;
let log: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-apply-engine-"));
  log = path.join(dir, "log");
  fs.writeFileSync(log, "");
  jest.spyOn(process.stdout, "write").mockImplementation(() => true);
  jest.spyOn(process.stderr, "write").mockImplementation(() => true);
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const emptyState = (): StackState => ({ version: 1, project: "p", stack: "s", resources: [], outputs: {} });
const engineFor = (st: StackState) => new Engine(st, { projectDir: dir, persist: false });
/** A fresh engine on the state the previous run left (the next `up`). */
const nextRun = (prev: Engine) => engineFor({ ...prev.state, resources: [...prev.state.resources] });
/** A preview on the state the previous run left; it may write the state file if it wanted to (it must not). */
const previewOf = (prev: Engine, now?: () => Date) =>
  new Engine(JSON.parse(JSON.stringify(prev.state)) as StackState, { projectDir: dir, preview: true, now });

function goal(type: string, name: string, inputs: Record<string, unknown>, opts: Partial<ResourceOptions> = {}, propertyDependencies: Record<string, string[]> = {}): Goal {
  return {
    urn: makeUrn("s", "p", undefined, type, name),
    type,
    name,
    custom: true,
    provider: `urn:pulumi:s::p::pulumi:providers:x::default::id`,
    inputs,
    secretInputs: [],
    options: { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [], ...opts },
    dependencies: Object.values(propertyDependencies).flat(),
    propertyDependencies,
  };
}

/** A command that logs its create/update/delete to the log file. */
const cmd = (name: string, extra: Record<string, unknown> = {}) => ({
  create: `echo create ${name} >> ${log}; echo out-${name}`,
  delete: `echo delete ${name} >> ${log}`,
  ...extra,
});
const logLines = () => fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean);

describe("Engine", () => {
  it("creates, then leaves an unchanged resource alone and returns the same outputs", async () => {
    const e1 = engineFor(emptyState());
    const r1 = await e1.apply(goal(CMD, "a", cmd("a")));
    expect(r1.outputs.stdout).toBe("out-a");
    const e2 = nextRun(e1);
    const r2 = await e2.apply(goal(CMD, "a", cmd("a")));
    expect(r2).toEqual(r1);
    expect(e2.counts).toMatchObject({ same: 1, create: 0, update: 0 });
    expect(logLines()).toEqual(["create a"]);
  });

  it("updates in place when the change does not force a replacement", async () => {
    const e1 = engineFor(emptyState());
    await e1.apply(goal(CMD, "a", cmd("a")));
    const e2 = nextRun(e1);
    const r = await e2.apply(goal(CMD, "a", cmd("a", { update: `echo update a >> ${log}; echo upd` })));
    expect(e2.counts.update).toBe(1);
    expect(r.outputs.stdout).toBe("upd");
    expect(logLines()).toEqual(["create a", "update a"]);
  });

  it("replaces create-before-delete: the old one is deleted after the program", async () => {
    const e1 = engineFor(emptyState());
    const first = await e1.apply(goal(STR, "w", { length: 8 }));
    const e2 = nextRun(e1);
    const second = await e2.apply(goal(STR, "w", { length: 12 }));
    expect((second.outputs.result as string).length).toBe(12);
    expect(second.outputs.result).not.toBe(first.outputs.result);
    expect(e2.state.resources.filter((r) => r.pendingDelete)).toHaveLength(1);
    await e2.deleteUnregistered();
    expect(e2.state.resources).toHaveLength(1);
    expect(e2.counts).toMatchObject({ replace: 1, delete: 1 });
  });

  it("deleteBeforeReplace deletes the old one first, and first its dependents through a replacing property", async () => {
    const e1 = engineFor(emptyState());
    const a = goal(CMD, "a", cmd("a", { triggers: [1] }), { deleteBeforeReplace: true });
    await e1.apply(a);
    await e1.apply(goal(CMD, "b", cmd("b", { triggers: ["from-a"] }), {}, { triggers: [a.urn] }));
    const e2 = nextRun(e1);
    await e2.apply(goal(CMD, "a", cmd("a", { triggers: [2] }), { deleteBeforeReplace: true }));
    await e2.apply(goal(CMD, "b", cmd("b", { triggers: ["from-a"] }), {}, { triggers: [a.urn] }));
    expect(logLines()).toEqual(["create a", "create b", "delete b", "delete a", "create a", "create b"]);
  });

  it("refuses to replace a protected resource, naming it", async () => {
    const e1 = engineFor(emptyState());
    await e1.apply(goal(STR, "w", { length: 8 }, { protect: true }));
    const e2 = nextRun(e1);
    await expect(e2.apply(goal(STR, "w", { length: 9 }, { protect: true }))).rejects.toThrow(
      /unable to replace resource "urn:pulumi:s::p::random:index\/randomString:RandomString::w"[\s\S]*protection/,
    );
  });

  it("ignoreChanges keeps the old value; replaceOnChanges forces a replacement", async () => {
    const e1 = engineFor(emptyState());
    await e1.apply(goal(STR, "w", { length: 8 }));
    await e1.apply(goal(CMD, "c", cmd("c")));
    const e2 = nextRun(e1);
    await e2.apply(goal(STR, "w", { length: 9 }, { ignoreChanges: ["length"] }));
    await e2.apply(goal(CMD, "c", cmd("c", { create: `echo create c2 >> ${log}` }), { replaceOnChanges: ["create"] }));
    expect(e2.counts).toMatchObject({ same: 1, replace: 1 });
  });

  it("deletes resources no longer declared, dependents first; retainOnDelete keeps without deleting", async () => {
    const e1 = engineFor(emptyState());
    const a = goal(CMD, "a", cmd("a"));
    await e1.apply(a);
    await e1.apply(goal(CMD, "b", cmd("b"), {}, { environment: [a.urn] }));
    await e1.apply(goal(CMD, "kept", cmd("kept"), { retainOnDelete: true }));
    const e2 = nextRun(e1);
    await e2.deleteUnregistered();
    expect(logLines()).toEqual(["create a", "create b", "create kept", "delete b", "delete a"]);
    expect(e2.state.resources).toEqual([]);
  });

  it("refuses to delete a protected resource the program dropped", async () => {
    const e1 = engineFor(emptyState());
    await e1.apply(goal(STR, "w", { length: 8 }, { protect: true }));
    await expect(nextRun(e1).deleteUnregistered()).rejects.toThrow(/refusing to delete protected resource/);
  });

  it("down keeps protected and retained resources and forgets them", async () => {
    const e1 = engineFor(emptyState());
    await e1.apply(goal(CMD, "p", cmd("p"), { protect: true }));
    await e1.apply(goal(CMD, "r", cmd("r"), { retainOnDelete: true }));
    await e1.apply(goal(CMD, "x", cmd("x")));
    const out: string[] = [];
    (process.stdout.write as unknown as jest.Mock).mockImplementation((s: string) => out.push(s));
    const e2 = nextRun(e1);
    await e2.destroyAll();
    expect(logLines()).toEqual(["create p", "create r", "create x", "delete x"]);
    expect(out.join("")).toMatch(/kept command:local:Command p \[.*\] \(protect\)/);
    expect(out.join("")).toMatch(/kept command:local:Command r \[.*\] \(retainOnDelete\)/);
    expect(e2.state.resources).toEqual([]);
  });

  it("refuses an unimplemented resource type by name", async () => {
    await expect(engineFor(emptyState()).apply(goal("aws:s3/bucket:Bucket", "b", {}))).rejects.toThrow(
      /resource type aws:s3\/bucket:Bucket is not implemented/,
    );
  });
});

describe("deletionOrder", () => {
  const rec = (name: string, deps: string[] = [], parent?: string): ResourceRecord => ({
    urn: `u::${name}`,
    type: "t",
    name,
    custom: true,
    inputs: {},
    outputs: {},
    secretInputs: [],
    secretOutputs: [],
    dependencies: deps.map((d) => `u::${d}`),
    propertyDependencies: {},
    parent: parent ? `u::${parent}` : undefined,
    options: { protect: false, retainOnDelete: false, deleteBeforeReplace: false, ignoreChanges: [], replaceOnChanges: [], additionalSecretOutputs: [] },
  });
  it("deletes dependents and children before what they depend on", () => {
    const order = deletionOrder([rec("vol"), rec("comp"), rec("ctr", ["vol"], "comp"), rec("cmd", ["ctr"])]).map((r) => r.name);
    expect(order.indexOf("cmd")).toBeLessThan(order.indexOf("ctr"));
    expect(order.indexOf("ctr")).toBeLessThan(order.indexOf("vol"));
    expect(order.indexOf("ctr")).toBeLessThan(order.indexOf("comp"));
  });
});

describe("Engine in preview mode", () => {
  const CERT = "tls:index/selfSignedCert:SelfSignedCert";
  const KEY = "tls:index/privateKey:PrivateKey";

  it("an empty state plans creates, runs nothing, writes nothing, and answers only the known inputs", async () => {
    const e = new Engine(emptyState(), { projectDir: dir, preview: true });
    const r = await e.apply(goal(CMD, "a", cmd("a", { environment: { K: UNKNOWN, L: "x" } })));
    expect(r.id).toBe("");
    expect(r.outputs).toEqual(cmd("a")); // environment holds an unknown: left out, so the SDK sees it unknown
    expect(e.plan.map((s) => [s.op, s.name])).toEqual([["create", "a"]]);
    expect(logLines()).toEqual([]);
    expect(fs.existsSync(statePath(dir, "s"))).toBe(false);
  });

  it("decides same / update / replace as up would, without carrying any out", async () => {
    const e1 = engineFor(emptyState());
    const same = await e1.apply(goal(CMD, "same", cmd("same")));
    await e1.apply(goal(CMD, "upd", cmd("upd", { update: "echo u" })));
    await e1.apply(goal(STR, "w", { length: 8 }));
    const p = previewOf(e1);
    expect(await p.apply(goal(CMD, "same", cmd("same")))).toEqual(same);
    const upd = await p.apply(goal(CMD, "upd", cmd("upd", { update: "echo u", environment: { A: "1" } })));
    const rep = await p.apply(goal(STR, "w", { length: 9 }));
    expect(p.plan.map((s) => [s.op, s.name, s.changed, s.replaceReasons])).toEqual([
      ["same", "same", undefined, undefined],
      ["update", "upd", ["environment"], undefined],
      ["replace", "w", ["length"], ["length"]],
    ]);
    // update: the old outputs with the new inputs laid over; replace: nothing computed yet.
    expect(upd.outputs).toMatchObject({ stdout: "out-upd", environment: { A: "1" } });
    expect(rep.outputs).toEqual({ length: 9 });
    expect(rep.id).toBe("");
    expect(logLines()).toEqual(["create same", "create upd"]);
    expect(p.state.resources).toEqual(e1.state.resources);
  });

  it("an unknown input counts as changed: on a ForceNew property it replaces, elsewhere it updates and its output is unknown", async () => {
    const e1 = engineFor(emptyState());
    await e1.apply(goal(STR, "w", { length: 8, keepers: { k: "1" } }));
    await e1.apply(goal(CMD, "c", cmd("c", { update: "echo u", environment: { A: "1" } })));
    const p = previewOf(e1);
    await p.apply(goal(STR, "w", { length: 8, keepers: { k: UNKNOWN } }));
    const c = await p.apply(goal(CMD, "c", cmd("c", { update: "echo u", environment: { A: UNKNOWN } })));
    expect(p.plan.map((s) => [s.op, s.replaceReasons ?? s.changed])).toEqual([
      ["replace", ["keepers"]],
      ["update", ["environment"]],
    ]);
    expect(c.outputs).not.toHaveProperty("environment");
    expect(c.outputs.stdout).toBe("out-c");
  });

  it("an unknown element of a ForceNew list replaces", async () => {
    const e1 = engineFor(emptyState());
    const port = { internal: 5000, external: 5000 };
    const base = { name: "r", image: "sha256:1", memory: 64 };
    // A container needs Docker to be created: seed its record directly.
    e1.state.resources.push({
      urn: makeUrn("s", "p", undefined, "docker:index/container:Container", "r"),
      type: "docker:index/container:Container",
      name: "r",
      custom: true,
      id: "cid",
      provider: goal(CMD, "x", {}).provider,
      inputs: { ...base, ports: [port] },
      outputs: { ...base, ports: [port], id: "cid" },
      secretInputs: [],
      secretOutputs: [],
      dependencies: [],
      propertyDependencies: {},
      options: goal(CMD, "x", {}).options,
    });
    const p = previewOf(e1);
    await p.apply(goal("docker:index/container:Container", "r", { ...base, ports: [UNKNOWN] }));
    expect(p.plan[0]).toMatchObject({ op: "replace", replaceReasons: ["ports"] });
  });

  it("a certificate due for renewal replaces (the handler's reason); a protected one is refused as in up", async () => {
    const e1 = engineFor(emptyState());
    const k = await e1.apply(goal(KEY, "k", { algorithm: "ECDSA", ecdsaCurve: "P256" }));
    const certInputs = { privateKeyPem: k.outputs.privateKeyPem, validityPeriodHours: 48, earlyRenewalHours: 24, allowedUses: ["digital_signature"] };
    await e1.apply(goal(CERT, "c", certInputs));
    await e1.apply(goal(CERT, "pc", certInputs, { protect: true }));
    const later = () => new Date(Date.now() + 30 * 3600e3);
    const p = previewOf(e1, later);
    await p.apply(goal(KEY, "k", { algorithm: "ECDSA", ecdsaCurve: "P256" }));
    await p.apply(goal(CERT, "c", certInputs));
    await expect(p.apply(goal(CERT, "pc", certInputs, { protect: true }))).rejects.toThrow(/unable to replace resource .*::pc"[\s\S]*protection/);
    expect(p.plan.map((s) => [s.op, s.name, s.replaceReasons])).toEqual([
      ["same", "k", undefined],
      ["replace", "c", ["readyForRenewal"]],
    ]);
    // Not yet due: same.
    const now = previewOf(e1);
    await now.apply(goal(CERT, "c", certInputs));
    expect(now.plan[0].op).toBe("same");
  });

  it("plans deletes of what the program no longer declares, dependents first; refuses a protected one", async () => {
    const e1 = engineFor(emptyState());
    const a = goal(CMD, "a", cmd("a"));
    await e1.apply(a);
    await e1.apply(goal(CMD, "b", cmd("b"), {}, { environment: [a.urn] }));
    await e1.apply(goal(CMD, "kept", cmd("kept")));
    const p = previewOf(e1);
    await p.apply(goal(CMD, "kept", cmd("kept")));
    p.planDeletes();
    expect(p.plan.map((s) => [s.op, s.name, s.note])).toEqual([
      ["same", "kept", undefined],
      ["delete", "b", "no longer declared"],
      ["delete", "a", "no longer declared"],
    ]);
    expect(logLines()).toEqual(["create a", "create b", "create kept"]);

    const e2 = engineFor(emptyState());
    await e2.apply(goal(STR, "w", { length: 8 }, { protect: true }));
    expect(() => previewOf(e2).planDeletes()).toThrow(/refusing to delete protected resource/);
  });

  it("up refuses inputs that are still unknown (only a preview has them)", async () => {
    await expect(engineFor(emptyState()).apply(goal(STR, "w", { length: UNKNOWN }))).rejects.toThrow(/length are unknown, which only a preview allows/);
  });
});
