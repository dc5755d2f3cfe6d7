/** Engine decisions (create / same / update / replace / delete) with Docker-free resource types. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Engine, Goal, makeUrn } from "./engine";
import { deletionOrder } from "./state";
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
