/** The harness end to end on a Docker-free program, through the programmatic API (spawns the CLI). */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { down, outputs, runCli, secretOutputNames, state, tryUp, up } from "./index";

const projectDir = path.join(__dirname, "fixtures", "nodocker");
const stack = `jest-${process.pid}`;
const outDir = fs.mkdtempSync(path.join(os.tmpdir(), "local-apply-cli-"));
const cfg = { outDir };
const opts = { projectDir, secretConfig: { token: "tok-s3cr3t-value" } };

afterAll(async () => {
  await down(stack, { projectDir }).catch(() => undefined);
  fs.rmSync(path.join(projectDir, ".local-state", `${stack}.json`), { force: true });
  fs.rmSync(outDir, { recursive: true, force: true });
});

describe("local apply CLI on a Docker-free program", () => {
  let first: Record<string, unknown>;

  it("up creates everything and prints no secret", async () => {
    const r = await up(stack, cfg, opts);
    expect(r.stdout).toMatch(/\+ create random:index\/randomString:RandomString word/);
    expect(r.stdout).toMatch(/\+ create command:local:Command file-a/);
    first = r.outputs;
    expect(first.outputs).toEqual(["created-a"]);
    expect(first.tokenEcho).toBe("tok-s3cr3t-value");
    expect(r.stdout + r.stderr).not.toContain(first.passwordResult as string);
    expect(r.stdout + r.stderr).not.toContain("tok-s3cr3t-value");
    expect(fs.readFileSync(path.join(outDir, "a"), "utf8")).toBe("one");
    expect(secretOutputNames(stack, { projectDir }).sort()).toEqual(["passwordResult", "tokenEcho"]);
  });

  it("output hides secrets unless --show-secrets", async () => {
    const hidden = await runCli(["output", "--stack", stack, "--json"], { projectDir });
    expect(JSON.parse(hidden.stdout).passwordResult).toBe("[secret]");
    const shown = await runCli(["output", "--stack", stack, "--json", "--show-secrets"], { projectDir });
    expect(JSON.parse(shown.stdout)).toEqual(first);
  });

  it("a second up with the same config changes nothing", async () => {
    const r = await up(stack, cfg, opts);
    expect(r.stdout).not.toMatch(/^[+~-]/m);
    expect(r.outputs).toEqual(first);
  });

  it("a changed input updates or replaces as the provider would, dependents follow", async () => {
    const r = await up(stack, { ...cfg, length: 20, marker: "two", names: ["a", "b"] }, opts);
    expect(r.stdout).toMatch(/\+- replace random:index\/randomString:RandomString word/);
    // @pulumi/command sets replaceOnChanges ["triggers[*]"] itself: the new word replaces file-a
    // (create before delete), so the old copy's delete command runs last and removes the file.
    expect(r.stdout).toMatch(/\+- replace command:local:Command file-a \(replace because: triggers\)/);
    expect(r.stdout).toMatch(/\+ create command:local:Command file-b/);
    expect(r.stdout.indexOf("- delete command:local:Command file-a (replaced)")).toBeGreaterThan(r.stdout.indexOf("+- replace command:local:Command file-a"));
    expect((r.outputs.wordResult as string).length).toBe(20);
    expect(r.outputs.outputs).toEqual(["created-a", "created-b"]);
    expect(fs.existsSync(path.join(outDir, "a"))).toBe(false);
    expect(fs.readFileSync(path.join(outDir, "b"), "utf8")).toBe("two");
  });

  it("a change that is not a trigger runs the update command in place", async () => {
    const r = await up(stack, { ...cfg, length: 20, marker: "three", names: ["a", "b"] }, opts);
    expect(r.stdout).toMatch(/~ update command:local:Command file-a \(changed: environment\)/);
    expect(r.outputs.outputs).toEqual(["updated-a", "updated-b"]);
    expect(fs.readFileSync(path.join(outDir, "a"), "utf8")).toBe("three");
  });

  it("a resource the program drops is deleted", async () => {
    const r = await up(stack, { ...cfg, length: 20, marker: "three", names: ["b"] }, opts);
    expect(r.stdout).toMatch(/- delete command:local:Command file-a \(no longer declared\)/);
    expect(fs.existsSync(path.join(outDir, "a"))).toBe(false);
  });

  it("refuses an unimplemented property, naming type and property, and exits non-zero", async () => {
    const r = await tryUp(stack, { ...cfg, length: 20, marker: "three", names: ["b"], extraProperty: true }, opts);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/random:index\/randomString:RandomString: input property 'notARealProperty' is not implemented/);
  });

  it("refuses an unimplemented resource type by name", async () => {
    const r = await tryUp(stack, { ...cfg, length: 20, marker: "three", names: ["b"], unknownType: true }, opts);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/resource type aws:s3\/bucket:Bucket is not implemented/);
  });

  it("protect keeps a resource on down, with a message, and the state forgets it", async () => {
    await up(stack, { ...cfg, length: 20, marker: "three", names: ["b"], protectKey: true }, opts);
    const r = await down(stack, { projectDir });
    expect(r.stdout).toMatch(/kept tls:index\/privateKey:PrivateKey key .*\(protect\)/);
    expect(r.stdout).toMatch(/- delete command:local:Command file-b/);
    expect(state(stack, { projectDir }).resources).toEqual([]);
    expect(outputs(stack, { projectDir })).toEqual({});
    expect(fs.existsSync(path.join(outDir, "b"))).toBe(false);
  });
});
