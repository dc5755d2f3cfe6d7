/**
 * The CI examples for pushing images (examples/ci/): the GitLab file validated by gitlab-ci-local
 * against GitLab's CI schema with its rules evaluated, the Jenkinsfile's use of the credential, and
 * the one script both call, checked by ShellCheck and run for its input checks. The e2e suite runs
 * that script against a real registry (tests/e2e/metricsCi.e2e.test.ts).
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { parse } from "yaml";
import { gitlabRepository } from "./support/gitlabRepository";

const run = promisify(execFile);
const root = path.resolve(__dirname, "../..");
const exampleDir = "examples/ci";
const script = `${exampleDir}/push-image.sh`;
const readRepoFile = (file: string) => fs.readFileSync(path.join(root, file), "utf8");
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "ci-examples-"));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** Runs a program; resolves with its exit code and output whether or not it fails. */
async function attempt(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
    try {
        const { stdout, stderr } = await run(file, args, { ...options, maxBuffer: 16 << 20 });
        return { code: 0, stdout, stderr };
    } catch (e) {
        const err = e as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof err.code === "number" ? err.code : -1, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
    }
}

/** Code lines of a file, comments left out. */
const codeLines = (text: string, comment: RegExp) => text.split("\n").filter((l) => !comment.test(l)).join("\n");

describe(`${exampleDir}/.gitlab-ci.yml`, () => {
    const gitlabCiLocal = path.join(path.dirname(require.resolve("gitlab-ci-local/package.json")), "dist/index.js");
    interface Job {
        image?: { name: string };
        services?: { name: string; alias?: string; entrypoint?: string[] }[];
        variables?: Record<string, string>;
        before_script?: string[];
        script: string[];
    }
    let expanded: Record<string, Job>;
    let listed: { protectedRef: string; otherRef: string };
    let broken: { code: number; output: string };

    const repository = (name: string, ciFile: string) => gitlabRepository(scratch, name, ciFile, "https://gitlab.example.com/team/app.git");

    /** gitlab-ci-local in `dir`, with nothing from this machine's environment but PATH. */
    const gcl = (dir: string, ...args: string[]) => attempt(process.execPath, [gitlabCiLocal, "--home", scratch, ...args], {
        cwd: dir,
        env: { PATH: process.env.PATH, HOME: scratch, GCL_IGNORE_PREDEFINED_VARS: "CI_COMMIT_REF_PROTECTED" },
    });
    const whenOf = (json: string) => Object.fromEntries((JSON.parse(json) as { name: string; when: string }[]).map((j) => [j.name, j.when]));

    beforeAll(async () => {
        const text = readRepoFile(`${exampleDir}/.gitlab-ci.yml`);
        const [good, bad] = await Promise.all([
            repository("good", text),
            repository("broken", text.replace("  before_script:\n", "  before_scripts:\n").replace("      alias: docker\n", "      alias: [docker]\n")),
        ]);
        const [preview, protectedRef, otherRef, brokenRun] = await Promise.all([
            gcl(good, "--preview"),
            gcl(good, "--list-json", "--variable", "CI_COMMIT_REF_PROTECTED=true"),
            gcl(good, "--list-json", "--variable", "CI_COMMIT_REF_PROTECTED=false"),
            gcl(bad, "--list"),
        ]);
        for (const r of [preview, protectedRef, otherRef]) if (r.code !== 0) throw new Error(`gitlab-ci-local failed:\n${r.stdout}\n${r.stderr}`);
        expanded = parse(preview.stdout) as Record<string, Job>;
        listed = { protectedRef: protectedRef.stdout, otherRef: otherRef.stdout };
        broken = { code: brokenRun.code, output: brokenRun.stdout + brokenRun.stderr };
    }, 120_000);

    it("passes GitLab's schema, and gitlab-ci-local fails a broken copy of it", () => {
        expect(Object.keys(expanded)).toContain("push-image");
        expect(broken.code).not.toBe(0);
        expect(broken.output).toMatch(/'before_scripts' property is not expected to be here at push-image/);
    });

    it("pushes only from protected refs, the only pipelines that see the protected password", () => {
        expect(whenOf(listed.protectedRef)).toEqual({ "push-image": "on_success" });
        expect(whenOf(listed.otherRef)).toEqual({ "push-image": "never" });
    });

    it("runs the shared script, with bash (the docker:cli image lacks it) and the inputs it reads", () => {
        const job = expanded["push-image"];
        expect(job.script).toEqual([`bash ${script}`]);
        expect(job.before_script).toEqual(["apk add --no-cache bash >/dev/null"]);
        expect(job.variables).toEqual(expect.objectContaining({ IMAGE: "$CI_PROJECT_PATH_SLUG", TAG: "$CI_COMMIT_SHORT_SHA", CONTEXT: "." }));
    });

    it("builds on a Docker-in-Docker engine that trusts the registry's CA, over TLS", () => {
        const job = expanded["push-image"];
        expect(job.image?.name).toMatch(/^docker:\d+-cli$/);
        const dind = job.services?.find((s) => s.alias === "docker");
        expect(dind?.name).toMatch(/^docker:\d+-dind$/);
        const entrypoint = (dind?.entrypoint ?? []).join(" ");
        expect(entrypoint).toContain('printf \'%s\\n\' "$REGISTRY_CA_PEM" > "/etc/docker/certs.d/$REGISTRY/ca.crt"');
        expect(entrypoint).toMatch(/exec dockerd-entrypoint\.sh "\$@"/);
        expect(job.variables).toEqual(expect.objectContaining({ DOCKER_HOST: "tcp://docker:2376", DOCKER_TLS_VERIFY: "1" }));
    });

    it("documents every variable the script reads, and defines none of the credentials itself", () => {
        const text = readRepoFile(`${exampleDir}/.gitlab-ci.yml`);
        for (const name of ["REGISTRY", "REGISTRY_USER", "REGISTRY_PASSWORD", "REGISTRY_CA_PEM"]) {
            expect(text).toMatch(new RegExp(`^#\\s+${name}\\s`, "m"));
        }
        expect(text).toMatch(/REGISTRY_PASSWORD\s+Masked and hidden, Protected/);
        expect(Object.keys(expanded["push-image"].variables ?? {})).not.toEqual(expect.arrayContaining(["REGISTRY_PASSWORD"]));
        expect(Object.keys(expanded["push-image"].variables ?? {}).filter((k) => k.startsWith("REGISTRY"))).toEqual([]);
    });
});

describe(`${exampleDir}/Jenkinsfile`, () => {
    const text = readRepoFile(`${exampleDir}/Jenkinsfile`);
    const code = codeLines(text, /^\s*\/\//);

    it("binds its own username-with-password credential to the variables the script reads", () => {
        expect(code).toMatch(/withCredentials\(\[usernamePassword\(credentialsId: 'private-registry-jenkins-app',\s*usernameVariable: 'REGISTRY_USER',\s*passwordVariable: 'REGISTRY_PASSWORD'\)\]\)/);
    });

    it("runs the shared script inside that block, in single quotes so Groovy never interpolates the secret", () => {
        const steps = [...code.matchAll(/^\s*sh\s+(.*)$/gm)].map((m) => m[1]);
        expect(steps).toEqual([`'TAG="$(git rev-parse --short=12 HEAD)" bash ${script}'`]);
        const block = code.slice(code.indexOf("withCredentials"), code.indexOf("sh '"));
        expect(block).not.toMatch(/\}/);
        expect(code).not.toMatch(/"[^"]*\$\{?(env\.)?REGISTRY_PASSWORD/);
    });

    it("names the registry, the repository and the context in its environment, and no credential there", () => {
        const environment = /environment \{([^}]*)\}/.exec(code)![1];
        expect(environment).toMatch(/REGISTRY = '[a-z0-9.-]+:\d+'/);
        expect(environment).toMatch(/IMAGE = '[a-z0-9/._-]+'/);
        expect(environment).toMatch(/CONTEXT = '\.'/);
        expect(environment).not.toMatch(/PASSWORD|REGISTRY_USER/);
    });

    it("has balanced braces, brackets and parentheses (Groovy would not parse it otherwise)", () => {
        const stripped = code.replace(/'[^'\n]*'/g, "''").replace(/"[^"\n]*"/g, '""');
        const stack: string[] = [];
        const pairs: Record<string, string> = { "}": "{", "]": "[", ")": "(" };
        for (const ch of stripped) {
            if ("{[(".includes(ch)) stack.push(ch);
            else if (ch in pairs) expect(stack.pop()).toBe(pairs[ch]);
        }
        expect(stack).toEqual([]);
    });
});

describe(script, () => {
    const scriptPath = path.join(root, script);
    const inputs = { REGISTRY: "registry.example.com:5000", REGISTRY_USER: "ci", REGISTRY_PASSWORD: "s3cret-Not-Printed", IMAGE: "team/app", TAG: "abc123" };
    /** The script with only the given environment (no docker needed: these runs stop at the input checks). */
    const pushImage = (env: Record<string, string>) => attempt("bash", [scriptPath], { env: { PATH: "/usr/bin:/bin", ...env } });

    it("passes ShellCheck, and bash parses it", async () => {
        const shellcheck = await attempt("shellcheck", ["--version"]);
        if (shellcheck.code !== 0) throw new Error("shellcheck is not installed: run bash tests/setup/prepare-machine.sh (it installs Debian's shellcheck)");
        const result = await attempt("shellcheck", ["--shell=bash", "--severity=style", scriptPath]);
        expect(result.stdout + result.stderr).toBe("");
        expect(result.code).toBe(0);
        expect((await attempt("bash", ["-n", scriptPath])).code).toBe(0);
    });

    it("ShellCheck fails a script with the mistakes it exists to catch", async () => {
        const bad = path.join(scratch, "bad.sh");
        fs.writeFileSync(bad, "#!/usr/bin/env bash\necho $REGISTRY_PASSWORD | docker login $REGISTRY --password-stdin\n");
        const result = await attempt("shellcheck", ["--shell=bash", bad]);
        expect(result.code).not.toBe(0);
        expect(result.stdout).toMatch(/SC2086/);
    });

    it("is strict, logs in from stdin, never puts the password on a command line, and logs out at exit", () => {
        const text = readRepoFile(script);
        const code = codeLines(text, /^\s*#/);
        expect(code).toMatch(/^set -euo pipefail$/m);
        expect(code).toMatch(/^\{ set \+x; \} 2>\/dev\/null$/m);
        expect(code).toMatch(/^printf '%s\\n' "\$REGISTRY_PASSWORD" \| docker login "\$REGISTRY" --username "\$REGISTRY_USER" --password-stdin$/m);
        expect(code.match(/REGISTRY_PASSWORD/g)).toHaveLength(3); // the list of inputs, the login, the unset
        expect(code).toMatch(/^trap 'docker logout "\$REGISTRY" .*' EXIT$/m);
        expect(code.indexOf("trap ")).toBeLessThan(code.indexOf("docker login"));
    });

    it("names every missing input and stops before it runs docker", async () => {
        const result = await pushImage({});
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(/^push-image: set REGISTRY REGISTRY_USER REGISTRY_PASSWORD IMAGE TAG \(see the top of /);
        const partial = await pushImage({ ...inputs, REGISTRY_PASSWORD: "", TAG: "" });
        expect(partial.stderr).toMatch(/set REGISTRY_PASSWORD TAG /);
    });

    it.each([
        [{ REGISTRY: "https://registry.example.com" }, /REGISTRY "https:\/\/registry\.example\.com" is not host:port/],
        [{ IMAGE: "Team/App" }, /IMAGE "Team\/App" is not a repository name/],
        [{ IMAGE: "team//app" }, /IMAGE "team\/\/app" is not a repository name/],
        [{ TAG: "-bad" }, /TAG "-bad" is not a valid tag/],
        [{ TAG: "a".repeat(129) }, /is not a valid tag/],
        [{ CONTEXT: "/nonexistent-context" }, /CONTEXT "\/nonexistent-context" is not a directory/],
    ])("refuses %p with a clear message and never prints the password", async (override, message) => {
        const result = await pushImage({ ...inputs, ...override });
        expect(result.code).toBe(2);
        expect(result.stderr).toMatch(message);
        expect(result.stdout + result.stderr).not.toContain(inputs.REGISTRY_PASSWORD);
    });
});
