/**
 * The package as another company's stack uses it: `npm pack`, the tarball installed into
 * examples/consumer with npm, type-checked, and applied through the local apply harness. The example
 * runs two PrivateRegistry instances side by side, so this also shows they don't collide.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { down, LocalApplyError, state, up } from "../local-apply";
import { run, runOk } from "./support/shell";

const repoRoot = path.resolve(__dirname, "../..");
const exampleDir = path.join(repoRoot, "examples/consumer");

let work: string;
let projectDir: string;
let dockerConfig: string;
let outputs: Record<string, any>;
let applied = false;

const docker = (args: string, input?: string) => runOk(`docker ${args}`, { env: { ...process.env, DOCKER_CONFIG: dockerConfig }, input, timeoutMs: 300_000 });

function buildImage(tag: string): void {
    const context = fs.mkdtempSync(path.join(work, "build-"));
    runOk(`head -c 300000 /dev/urandom > ${context}/payload`);
    fs.writeFileSync(path.join(context, "Dockerfile"), "FROM scratch\nCOPY payload /payload\n");
    docker(`build -q -t ${tag} ${context}`);
}

beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "consumer-e2e-"));
    dockerConfig = path.join(work, "docker-config");
    fs.mkdirSync(dockerConfig);
    projectDir = path.join(work, "consumer");
    fs.cpSync(exampleDir, projectDir, { recursive: true, filter: (src) => !/node_modules|\.local-state|\.tgz$/.test(src) });

    // npm pack runs the build (prepare) and names the tarball after the version.
    const packed = JSON.parse(runOk(`cd ${repoRoot} && npm pack --json --pack-destination ${work}`, { timeoutMs: 300_000 }));
    fs.copyFileSync(path.join(work, packed[0].filename), path.join(projectDir, "private-registry.tgz"));
}, 600_000);

afterAll(async () => {
    if (applied) {
        await down("dev", { projectDir }).catch((e: Error) => console.error(e.message));
    }
    for (const endpoint of ["localhost:5101", "localhost:5102"]) fs.rmSync(`/etc/docker/certs.d/${endpoint}`, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
}, 300_000);

describe("consumer stack (examples/consumer) on the packed library", () => {
    it("the tarball holds only the compiled library, the token service's build inputs, README, LICENSE and CHANGELOG", () => {
        const files = runOk(`tar -tzf ${path.join(projectDir, "private-registry.tgz")}`).trim().split("\n").map((f) => f.replace(/^package\//, "")).sort();
        expect(files).toEqual(expect.arrayContaining(["CHANGELOG.md", "LICENSE", "README.md", "package.json", "components/index.js", "components/index.d.ts", "components/privateRegistry.js", "components/privateRegistry.d.ts",
            // RegistryTokenService builds its image from these, where the package is installed.
            "token-service/Dockerfile", "token-service/.dockerignore", "token-service/package.json", "token-service/package-lock.json", "token-service/src/main.ts"]));
        const unexpected = files.filter((f) => !/^(CHANGELOG\.md|LICENSE|README\.md|package\.json|components\/[A-Za-z0-9]+\.(js|d\.ts))$/.test(f)
            && !/^token-service\/(Dockerfile|\.dockerignore|package(-lock)?\.json|tsconfig(\.build)?\.json|src\/[A-Za-z0-9]+\.ts)$/.test(f));
        expect(unexpected).toEqual([]);
    });

    it("installs the tarball with npm, quietly, and type-checks", () => {
        const install = run(`cd ${projectDir} && npm install --no-audit --no-fund --prefer-offline`, { timeoutMs: 600_000 });
        expect(install.code).toBe(0);
        expect(install.stderr).not.toMatch(/install-scripts/);
        expect(fs.existsSync(path.join(projectDir, "node_modules/private-registry/components/index.d.ts"))).toBe(true);
        expect(fs.existsSync(path.join(projectDir, "node_modules/private-registry/components/index.ts"))).toBe(false);
        const typecheck = run(`cd ${projectDir} && npx tsc -p tsconfig.json`, { timeoutMs: 300_000 });
        expect(typecheck.stdout + typecheck.stderr).toBe("");
        expect(typecheck.code).toBe(0);
    }, 600_000);

    it("applies both registries and its own volume without collisions", async () => {
        applied = true;
        try {
            outputs = (await up("dev", {}, { projectDir })).outputs;
        } catch (e) {
            throw new Error(e instanceof LocalApplyError ? `${e.message}\n${e.result.stdout}` : String(e));
        }
        expect(outputs.buildsEndpoint).toBe("localhost:5101");
        expect(outputs.releasesEndpoint).toBe("localhost:5102");
        expect(outputs.buildCacheVolume).toBe("consumer-build-cache");

        const containers = runOk(`docker ps --format '{{.Names}} {{.Ports}}'`);
        // Each registry's front publishes its port.
        expect(containers).toMatch(/^builds-registry-front .*0\.0\.0\.0:5101->5000\/tcp/m);
        expect(containers).toMatch(/^releases-registry-front .*0\.0\.0\.0:5102->5000\/tcp/m);
        const volumes = runOk(`docker volume ls --format '{{.Name}}'`).split("\n");
        expect(volumes).toEqual(expect.arrayContaining([
            "builds-registry-data", "builds-registry-config", "releases-registry-data", "releases-registry-config", "consumer-build-cache",
        ]));
        // Two CAs, one per registry: a credential or certificate of one is no good at the other.
        expect(outputs.caCertPems.builds).not.toBe(outputs.caCertPems.releases);
        const urns = state("dev", { projectDir }).resources.map((r) => r.urn);
        expect(new Set(urns).size).toBe(urns.length);
        expect(urns.filter((u) => u.includes("private-registry:index:PrivateRegistry::")).length).toBe(2);
    }, 600_000);

    it("logs in with its outputs, pushes and pulls on each registry", () => {
        for (const [registry, endpoint, credentials, user] of [
            ["builds", outputs.buildsEndpoint, outputs.buildsCredentials, "ci-builder"],
            ["releases", outputs.releasesEndpoint, outputs.releasesCredentials, "release-manager"],
        ] as const) {
            const ca = path.join(work, `${registry}-ca.crt`);
            fs.writeFileSync(ca, outputs.caCertPems[registry]);
            fs.mkdirSync(`/etc/docker/certs.d/${endpoint}`, { recursive: true });
            fs.copyFileSync(ca, `/etc/docker/certs.d/${endpoint}/ca.crt`);
            // The CA output verifies the registry's certificate (curl, unlike docker, checks localhost too).
            const status = runOk(`curl -s -o /dev/null -w '%{http_code}' --cacert ${ca} -u '${user}:${credentials[user]}' https://${endpoint}/v2/`);
            expect(status).toBe("200");
            expect(runOk(`curl -s -o /dev/null -w '%{http_code}' --cacert ${ca} https://${endpoint}/v2/`)).toBe("401");

            docker(`login ${endpoint} --username ${user} --password-stdin`, credentials[user]);
            const tag = `${endpoint}/team/app:${registry}`;
            buildImage(tag);
            docker(`push ${tag}`);
            const pushed = docker(`image inspect -f '{{index .RepoDigests 0}}' ${tag}`).trim();
            docker(`image rm ${tag}`);
            docker(`pull ${tag}`);
            expect(docker(`image inspect -f '{{index .RepoDigests 0}}' ${tag}`).trim()).toBe(pushed);
            docker(`image rm ${tag}`);
        }
        // Each registry holds only what was pushed to it.
        const catalog = (endpoint: string, user: string, password: string, registry: string) =>
            JSON.parse(runOk(`curl -s --cacert ${path.join(work, `${registry}-ca.crt`)} -u '${user}:${password}' https://${endpoint}/v2/team/app/tags/list`));
        expect(catalog(outputs.buildsEndpoint, "ci-builder", outputs.buildsCredentials["ci-builder"], "builds").tags).toEqual(["builds"]);
        expect(catalog(outputs.releasesEndpoint, "deployer", outputs.releasesCredentials.deployer, "releases").tags).toEqual(["releases"]);
    }, 600_000);

    it("comes down completely", async () => {
        await down("dev", { projectDir });
        applied = false;
        expect(runOk(`docker ps -a --format '{{.Names}}'`)).not.toMatch(/^(builds|releases)-registry/m);
        const volumes = runOk(`docker volume ls --format '{{.Name}}'`).split("\n");
        expect(volumes.filter((v) => /^(builds|releases)-registry|^consumer-build-cache$/.test(v))).toEqual([]);
    }, 300_000);
});
