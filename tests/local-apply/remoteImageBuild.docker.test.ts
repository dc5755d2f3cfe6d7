/**
 * docker:index/remoteImage:RemoteImage's `build` block through the harness against the real
 * engine (fixtures/image-build): a BuildKit build from a context the test makes, .dockerignore,
 * build args, a label, triggers replacing, a failing RUN, and removal on delete.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { down, REPO_ROOT, state, tryUp, up } from "./index";

const projectDir = path.join(__dirname, "fixtures", "image-build");
const opts = { projectDir };
const stack = "jestbuild";
const imageName = `lah-build-${process.pid}:1`;
// The product's digest-pinned registry image, as the stack passes NODE_IMAGE: a build arg the local stand-in answers.
const pinnedBase = (YAML.parse(fs.readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")).config["private-registry:image"] as { default: string }).default;

const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
/** Runs a command in a throwaway container of the built image. */
const inImage = (...cmd: string[]) => docker("run", "--rm", "--entrypoint", cmd[0], imageName, ...cmd.slice(1));
const localImageId = () => docker("image", "inspect", "--format", "{{.Id}}", imageName);

const DOCKERFILE = [
  "ARG BASE",
  "FROM ${BASE}",
  "ARG GREETING",
  'RUN test "$GREETING" != "fail" || { echo "greeting refused" >&2; exit 7; }',
  'RUN echo "$GREETING" > /greeting.txt',
  "COPY . /ctx/",
  "",
].join("\n");

let context: string;
const builtIds = new Set<string>();
let base: Record<string, unknown>;

beforeAll(() => {
  context = fs.mkdtempSync(path.join(os.tmpdir(), "lah-build-"));
  const write = (rel: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(context, rel)), { recursive: true });
    fs.writeFileSync(path.join(context, rel), content);
  };
  write("Dockerfile", DOCKERFILE);
  write(".dockerignore", "# not for the image\nsecret.txt\nlogs\n!logs/keep.log\n");
  write("keep.txt", "v1\n");
  write("secret.txt", "do not ship\n");
  write("logs/a.log", "noise\n");
  write("logs/keep.log", "kept by an exception\n");
  base = { name: imageName, context, base: pinnedBase, greeting: "hello from a build arg", labelValue: "one", trigger: "t1" };
});

afterAll(async () => {
  await down(stack, opts).catch(() => undefined);
  // Only what this suite built: its tag and the image ids it saw.
  for (const ref of [imageName, ...builtIds]) {
    try {
      execFileSync("docker", ["rmi", "-f", ref], { stdio: "ignore" });
    } catch {
      /* gone */
    }
  }
  fs.rmSync(context, { recursive: true, force: true });
  fs.rmSync(path.join(projectDir, ".local-state"), { recursive: true, force: true });
});

describe("RemoteImage build through the local apply harness", () => {
  let firstId: string;

  it("up builds the image: build args reach RUN, .dockerignore shapes the context, the label is set", async () => {
    const r = await up(stack, base, opts);
    expect(r.stdout).toMatch(/\+ create docker:index\/remoteImage:RemoteImage built/);
    firstId = r.outputs.imageId as string;
    builtIds.add(firstId);
    expect(firstId).toBe(localImageId());
    expect(r.outputs.repoDigest).toBe(""); // a built image has no registry digest
    expect(inImage("cat", "/greeting.txt")).toBe("hello from a build arg");
    const files = inImage("find", "/ctx", "-type", "f").split("\n").sort();
    expect(files).toEqual(["/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/keep.txt", "/ctx/logs/keep.log"]);
    expect(docker("image", "inspect", "--format", '{{index .Config.Labels "org.local-apply.fixture"}}', imageName)).toBe("one");
    // Built FROM the BASE build arg, the pinned reference answered by its local stand-in (never pulled).
    expect(pinnedBase).toMatch(/^registry:2\.8\.3@sha256:[0-9a-f]{64}$/);
    expect(r.stdout).toContain(`note: build arg BASE is passed as registry:2.8.3, the local stand-in for ${pinnedBase}`);
    expect(inImage("ls", "/bin/registry")).toBe("/bin/registry");
  });

  it("a changed context alone changes nothing (only triggers or build rebuild), like the provider", async () => {
    fs.writeFileSync(path.join(context, "keep.txt"), "v2\n");
    const r = await up(stack, base, opts);
    expect(r.stdout).not.toMatch(/^[+~-]/m);
    expect(r.outputs.imageId).toBe(firstId);
    expect(inImage("cat", "/ctx/keep.txt")).toBe("v1");
  });

  it("a new trigger replaces the image: rebuilt from the current context, a new imageId", async () => {
    const r = await up(stack, { ...base, trigger: "t2" }, opts);
    expect(r.stdout).toMatch(/\+- replace docker:index\/remoteImage:RemoteImage built \(replace because: triggers\)/);
    const id = r.outputs.imageId as string;
    builtIds.add(id);
    expect(id).not.toBe(firstId);
    expect(id).toBe(localImageId());
    expect(inImage("cat", "/ctx/keep.txt")).toBe("v2");
  });

  it("a change inside build (the label) replaces too", async () => {
    const r = await up(stack, { ...base, trigger: "t2", labelValue: "two" }, opts);
    expect(r.stdout).toMatch(/\+- replace docker:index\/remoteImage:RemoteImage built \(replace because: build\)/);
    builtIds.add(r.outputs.imageId as string);
    expect(docker("image", "inspect", "--format", '{{index .Config.Labels "org.local-apply.fixture"}}', imageName)).toBe("two");
  });

  it("a failing RUN fails the create with the daemon's message; the name still points to the previous image", async () => {
    const before = localImageId();
    const r = await tryUp(stack, { ...base, trigger: "t3", labelValue: "two", greeting: "fail" }, opts);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/Error running buildx build: executor failed running \[\/bin\/sh -c test "\$GREETING" != "fail" .*\]: exit code: 7/);
    expect(localImageId()).toBe(before);
    // The config before the failure applies again.
    const back = await up(stack, { ...base, trigger: "t2", labelValue: "two" }, opts);
    builtIds.add(back.outputs.imageId as string);
    expect(back.outputs.imageId).toBe(localImageId());
  });

  it("keepLocally false updates in place; down then removes the built image, as the provider does", async () => {
    const cfg = { ...base, trigger: "t2", labelValue: "two", keepLocally: false };
    const r = await up(stack, cfg, opts);
    expect(r.stdout).toMatch(/~ update docker:index\/remoteImage:RemoteImage built \(changed: keepLocally\)/);
    const d = await down(stack, opts);
    expect(d.stdout).toMatch(/- delete docker:index\/remoteImage:RemoteImage built/);
    expect(() => localImageId()).toThrow();
    expect(state(stack, opts).resources).toEqual([]);
  });
});
