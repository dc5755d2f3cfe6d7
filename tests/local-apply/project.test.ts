/**
 * A program in another project directory, outside the repo, with its own node_modules and its
 * own tsconfig.json: the harness must drive that project's @pulumi/pulumi (the copy the program
 * and its provider SDKs load) and compile the program with that tsconfig.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { down, preview, REPO_ROOT, up } from "./index";
import { pulumiSdkDir } from "./project";

const fixture = path.join(__dirname, "fixtures", "project-local");
const stack = "dev";
let projectDir: string;
let projectSdk: string;

/**
 * Copies @pulumi/pulumi (and @pulumi/random, which loads it) into the project; every other
 * package is a symlink to the repo's. The copy's runtime keeps its state to itself, as
 * @pulumi/pulumi did before copies shared one store (pulumi/pulumi#10568): only a harness that
 * sets its mock monitor on the project's own copy can run the program then.
 */
function makeProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-apply-project-"));
  for (const f of fs.readdirSync(fixture)) fs.copyFileSync(path.join(fixture, f), path.join(dir, f));
  const modules = path.join(dir, "node_modules");
  fs.mkdirSync(path.join(modules, "@pulumi"), { recursive: true });
  const repoModules = path.join(REPO_ROOT, "node_modules");
  for (const entry of fs.readdirSync(repoModules)) {
    if (entry !== "@pulumi" && entry !== ".bin") fs.symlinkSync(path.join(repoModules, entry), path.join(modules, entry));
  }
  for (const pkg of ["pulumi", "random"]) {
    fs.cpSync(path.join(repoModules, "@pulumi", pkg), path.join(modules, "@pulumi", pkg), { recursive: true });
  }
  const stateJs = path.join(modules, "@pulumi", "pulumi", "runtime", "state.js");
  const original = fs.readFileSync(stateJs, "utf8");
  const own = original.replace(/\bglobal\.(globalStore|asyncLocalStorage)\b/g, "ownGlobals.$1");
  if (own === original) throw new Error(`${stateJs}: no global.globalStore to make private; the SDK changed`);
  fs.writeFileSync(stateJs, own.replace('"use strict";', '"use strict";\nconst ownGlobals = {};'));
  return dir;
}

beforeAll(() => {
  projectDir = makeProject();
  projectSdk = path.join(fs.realpathSync(projectDir), "node_modules", "@pulumi", "pulumi");
});

afterAll(async () => {
  await down(stack, { projectDir }).catch(() => undefined);
  fs.rmSync(projectDir, { recursive: true, force: true });
});

describe("a program in another project directory", () => {
  it("resolves @pulumi/pulumi from the project, falling back to the harness's own", () => {
    expect(pulumiSdkDir(projectDir)).toBe(projectSdk);
    expect(pulumiSdkDir(os.tmpdir())).toBe(fs.realpathSync(path.join(REPO_ROOT, "node_modules", "@pulumi", "pulumi")));
  });

  it("up runs it on the project's own @pulumi/pulumi, compiled with the project's own tsconfig.json", async () => {
    const r = await up(stack, {}, { projectDir });
    expect(r.stdout).toContain(`Using the project's @pulumi/pulumi`);
    expect(r.stdout).toContain(`Compiling the program with ${path.join(projectDir, "tsconfig.json")}`);
    expect(r.stdout).toMatch(/\+ create random:index\/randomString:RandomString word/);
    expect(r.outputs.pulumiSdkDir).toBe(projectSdk);
    expect(r.outputs.decorators).toBe("standard");
    expect(r.outputs.marked).toBe("Marked");
    expect(r.outputs.wordResult).toMatch(/^[A-Za-z0-9]{12}$/);
  });

  it("preview runs it the same way and finds it unchanged", async () => {
    const r = await preview(stack, {}, { projectDir });
    expect(r.code).toBe(0);
    expect(r.plan!.steps.find((s) => s.name === "word")?.op).toBe("same");
    expect(r.plan!.summary).toMatchObject({ create: 0, update: 0, replace: 0, delete: 0 });
  });
});
