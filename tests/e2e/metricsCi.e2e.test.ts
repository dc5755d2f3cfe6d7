/**
 * Day-2 metrics and CI pushes against a stack of this file's own (not dev), applied for real by the
 * local apply harness: Debian's Prometheus, started here with the stack's exported scrape config,
 * scrapes the registry's metrics on the monitoring address; the CI examples' shared script
 * (examples/ci/push-image.sh) pushes with the real docker client, and the pushes show up in
 * Prometheus' request counter.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { LocalStack, StackOutputs } from "./support/localStack";
import { run, runOk } from "./support/shell";
import { TestNetwork } from "./support/testNetwork";

const repoRoot = path.resolve(__dirname, "../..");
const registryName = "metricsci.e2e.test";
const network = new TestNetwork("mcie2e", "10.249.11.1", "10.249.11.2", [registryName]);
const port = 5210;
const metricsPort = 5211;
const prometheusAddress = "127.0.0.1:19190";
const containerName = "metricsci-registry";
const stack = new LocalStack("metricsci", {
    hostnames: `[${registryName}]`,
    ipAddresses: `[${network.hostAddress}]`,
    port: String(port),
    users: "[admin, gitlab-app, jenkins-app]",
    containerName,
    dataVolumeName: `${containerName}-data`,
    protectData: "false",
    metricsBindAddress: "127.0.0.1",
    metricsPort: String(metricsPort),
});
const endpoint = `${registryName}:${port}`;
const certsDir = `/etc/docker/certs.d/${endpoint}`;
const pushImageScript = path.join(repoRoot, "examples/ci/push-image.sh");

type Outputs = StackOutputs & { metricsEndpoint: string; prometheusScrapeConfig: string };
let outputs: Outputs;
let work: string;
let caFile: string;
let prometheus: ChildProcess | undefined;
let prometheusLog: string;
const localImages: string[] = [];

const curl = (args: string) => run(`curl -s --max-time 10 ${args}`);

/** Prometheus' HTTP API, GET, JSON `data` of a successful answer. */
async function prometheusApi<T>(route: string): Promise<T> {
    const response = await fetch(`http://${prometheusAddress}${route}`);
    const body = await response.json() as { status: string; data: T; error?: string };
    if (body.status !== "success") throw new Error(`prometheus ${route}: ${body.error}`);
    return body.data;
}

/** The value of an instant query's single series, or 0 when it has none yet. */
async function queryValue(query: string): Promise<number> {
    const data = await prometheusApi<{ result: { value: [number, string] }[] }>(`/api/v1/query?query=${encodeURIComponent(query)}`);
    if (data.result.length > 1) throw new Error(`${query} returned ${data.result.length} series`);
    return data.result.length === 0 ? 0 : Number(data.result[0].value[1]);
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
        try {
            const value = await probe();
            if (value !== undefined) return value;
        } catch (err) {
            last = err;
        }
        if (Date.now() > deadline) {
            const log = fs.existsSync(prometheusLog) ? fs.readFileSync(prometheusLog, "utf8").slice(-2000) : "";
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last error: ${String(last)}\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 500));
    }
}

/** A FROM-scratch build context with a random file, so every push has new digests. */
function buildContext(name: string): string {
    const context = fs.mkdtempSync(path.join(work, `${name}-`));
    runOk(`head -c 65536 /dev/urandom > ${context}/payload`);
    fs.writeFileSync(path.join(context, "Dockerfile"), "FROM scratch\nCOPY payload /payload\n");
    return context;
}

interface PushRun { code: number; stdout: string; stderr: string; dockerConfig: string }

/** Runs the CI script as a pipeline would: its own inputs, a fresh Docker client config. */
function pushImage(inputs: Record<string, string>, bashFlags = ""): PushRun {
    const dockerConfig = fs.mkdtempSync(path.join(work, "docker-config-"));
    localImages.push(`${inputs.IMAGE}:${inputs.TAG}`, `${endpoint}/${inputs.IMAGE}:${inputs.TAG}`);
    const result = run(`bash ${bashFlags} ${pushImageScript}`, {
        env: { REGISTRY: endpoint, CONTEXT: buildContext("ctx"), DOCKER_CONFIG: dockerConfig, ...inputs },
        timeoutMs: 300_000,
    });
    return { ...result, dockerConfig };
}

/** Registries the Docker client config still holds a credential for. */
function storedCredentials(dockerConfig: string): string[] {
    const file = path.join(dockerConfig, "config.json");
    if (!fs.existsSync(file)) return [];
    return Object.keys((JSON.parse(fs.readFileSync(file, "utf8")) as { auths?: Record<string, unknown> }).auths ?? {});
}

/** Manifest digest of a tag, read with curl and the admin's credential. */
function manifestDigest(repository: string, tag: string): string {
    const headers = runOk(`curl -sfI --max-time 10 --cacert ${caFile} -u admin:${outputs.credentials.admin} `
        + `-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' https://${endpoint}/v2/${repository}/manifests/${tag}`);
    return /^docker-content-digest:\s*(\S+)/im.exec(headers)![1];
}

beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "metrics-ci-e2e-"));
    caFile = path.join(work, "ca.crt");
    prometheusLog = path.join(work, "prometheus.log");
    network.create();
    stack.down();
    stack.up();
    outputs = stack.outputs() as Outputs;
    fs.writeFileSync(caFile, outputs.caCertPem);
    fs.mkdirSync(certsDir, { recursive: true });
    fs.writeFileSync(path.join(certsDir, "ca.crt"), outputs.caCertPem);
});

afterAll(async () => {
    try {
        if (prometheus?.pid !== undefined && prometheus.exitCode === null) {
            const exited = new Promise((r) => prometheus!.once("exit", r));
            process.kill(prometheus.pid, "SIGTERM");
            await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
            if (prometheus.exitCode === null && prometheus.signalCode === null) process.kill(prometheus.pid, "SIGKILL");
        }
    } finally {
        try {
            stack.down();
        } finally {
            fs.rmSync(certsDir, { recursive: true, force: true });
            if (localImages.length > 0) run(`docker rmi -f ${localImages.join(" ")} 2>/dev/null`);
            network.destroy();
            fs.rmSync(work, { recursive: true, force: true });
        }
    }
}, 300_000);

describe("metrics on the monitoring address", () => {
    it("exports the scrape target and a scrape config that promtool accepts", () => {
        expect(outputs.metricsEndpoint).toBe(`127.0.0.1:${metricsPort}`);
        const snippet = YAML.parse(outputs.prometheusScrapeConfig) as { scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] };
        expect(snippet.scrape_configs).toHaveLength(1);
        expect(snippet.scrape_configs[0].static_configs[0].targets).toEqual([`127.0.0.1:${metricsPort}`]);
        // The snippet as it is, under a global section with a short interval for the test.
        const config = `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n${outputs.prometheusScrapeConfig}`;
        fs.writeFileSync(path.join(work, "prometheus.yml"), config);
        const check = run(`promtool check config ${path.join(work, "prometheus.yml")}`);
        expect(check.stdout + check.stderr).toMatch(/SUCCESS/);
        expect(check.code).toBe(0);
    });

    it("publishes the debug port on loopback only: metrics answer there, and not on the host's other address", () => {
        expect(runOk(`docker port ${containerName} 5001/tcp`).trim()).toBe(`127.0.0.1:${metricsPort}`);
        const metrics = curl(`http://127.0.0.1:${metricsPort}/metrics`);
        expect(metrics.code).toBe(0);
        // registry_http_requests_total appears with the first request; the handlers' gauges are there from the start.
        expect(metrics.stdout).toMatch(/^registry_http_in_flight_requests\{handler="manifest"\} 0$/m);
        // Nothing listens on the registry's client-facing address for this port: refused at once.
        expect(curl(`http://${network.hostAddress}:${metricsPort}/metrics`).code).toBe(7);
        // The registry port itself still wants a login.
        expect(curl(`-o /dev/null -w '%{http_code}' --cacert ${caFile} https://${endpoint}/v2/`).stdout).toBe("401");
    });

    it("Debian's Prometheus, started with that config, scrapes the registry (target up, no manifest pushed yet)", async () => {
        const logFd = fs.openSync(prometheusLog, "a");
        prometheus = spawn("prometheus", [
            `--config.file=${path.join(work, "prometheus.yml")}`,
            `--storage.tsdb.path=${path.join(work, "tsdb")}`,
            `--web.listen-address=${prometheusAddress}`,
        ], { stdio: ["ignore", logFd, logFd] });
        fs.closeSync(logFd);
        const job = (YAML.parse(outputs.prometheusScrapeConfig) as { scrape_configs: { job_name: string }[] }).scrape_configs[0].job_name;
        const target = await waitFor("the scrape target to be up", 60_000, async () => {
            const data = await prometheusApi<{ activeTargets: { scrapePool: string; scrapeUrl: string; health: string }[] }>("/api/v1/targets");
            return data.activeTargets.find((t) => t.scrapePool === job && t.health === "up");
        });
        expect(target.scrapeUrl).toBe(`http://127.0.0.1:${metricsPort}/metrics`);
        expect(await queryValue(`sum(up{job="${job}"})`)).toBe(1);
        expect(await queryValue('sum(registry_http_requests_total{handler="manifest",method="put"})')).toBe(0);
    }, 120_000);
});

describe("the CI examples' push script (examples/ci/push-image.sh), with the real docker client", () => {
    let gitlabPush: PushRun;
    const gitlabTag = `gl-${Date.now()}`;

    it("logs in as the pipeline's own user, builds, tags and pushes, and prints the reference by digest", () => {
        gitlabPush = pushImage({ REGISTRY_USER: "gitlab-app", REGISTRY_PASSWORD: outputs.credentials["gitlab-app"], IMAGE: "ci/app", TAG: gitlabTag });
        expect(gitlabPush.stderr).not.toMatch(/push-image:/);
        expect(gitlabPush.code).toBe(0);
        expect(gitlabPush.stdout).toMatch(/Login Succeeded/);
        const lines = gitlabPush.stdout.trim().split("\n");
        expect(lines[lines.length - 1]).toMatch(new RegExp(`^${endpoint.replace(/\./g, "\\.")}/ci/app@sha256:[0-9a-f]{64}$`));
    });

    it("never prints the password and leaves no credential in the Docker config (logged out at exit)", () => {
        expect(gitlabPush.stdout + gitlabPush.stderr).not.toContain(outputs.credentials["gitlab-app"]);
        expect(storedCredentials(gitlabPush.dockerConfig)).toEqual([]);
    });

    it("the image arrived: the tag is listed, its digest is the one printed, and it pulls by that digest", () => {
        const tags = JSON.parse(runOk(`curl -sf --max-time 10 --cacert ${caFile} -u admin:${outputs.credentials.admin} https://${endpoint}/v2/ci/app/tags/list`)) as { tags: string[] };
        expect(tags.tags).toContain(gitlabTag);
        const printed = gitlabPush.stdout.trim().split("\n").pop()!.split("@")[1];
        expect(manifestDigest("ci/app", gitlabTag)).toBe(printed);

        const pullConfig = fs.mkdtempSync(path.join(work, "docker-config-pull-"));
        const env = { DOCKER_CONFIG: pullConfig };
        // Every local name of the image goes, so the pull has to fetch it.
        runOk(`docker rmi ${endpoint}/ci/app:${gitlabTag} ci/app:${gitlabTag}`);
        expect(run(`docker image inspect ${endpoint}/ci/app@${printed}`).code).not.toBe(0);
        runOk(`docker login ${endpoint} --username admin --password-stdin`, { env, input: outputs.credentials.admin });
        localImages.push(`${endpoint}/ci/app@${printed}`);
        expect(runOk(`docker pull ${endpoint}/ci/app@${printed}`, { env, timeoutMs: 300_000 })).toContain(`Digest: ${printed}`);
        runOk(`docker logout ${endpoint}`, { env });
    });

    it("a second pipeline pushes as its own user, and a caller's bash -x does not print the password", () => {
        const tag = `jk-${Date.now()}`;
        const jenkins = pushImage({ REGISTRY_USER: "jenkins-app", REGISTRY_PASSWORD: outputs.credentials["jenkins-app"], IMAGE: "ci/app", TAG: tag }, "-x");
        expect(jenkins.code).toBe(0);
        // The trace shows the script's start, so xtrace really was on until the script turned it off.
        expect(jenkins.stderr).toMatch(/^\+ set -euo pipefail$/m);
        expect(jenkins.stdout + jenkins.stderr).not.toContain(outputs.credentials["jenkins-app"]);
        expect(storedCredentials(jenkins.dockerConfig)).toEqual([]);
        expect(manifestDigest("ci/app", tag)).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it("a wrong password fails at the login, pushes nothing, prints no password and stores none", () => {
        const wrong = "not-the-password-0123456789";
        const tag = `bad-${Date.now()}`;
        const failed = pushImage({ REGISTRY_USER: "gitlab-app", REGISTRY_PASSWORD: wrong, IMAGE: "ci/app", TAG: tag });
        expect(failed.code).not.toBe(0);
        expect(failed.stderr).toMatch(/unauthorized|401/i);
        expect(failed.stdout + failed.stderr).not.toContain(wrong);
        expect(storedCredentials(failed.dockerConfig)).toEqual([]);
        const tags = JSON.parse(runOk(`curl -sf --max-time 10 --cacert ${caFile} -u admin:${outputs.credentials.admin} https://${endpoint}/v2/ci/app/tags/list`)) as { tags: string[] };
        expect(tags.tags).not.toContain(tag);
    });
});

describe("the pushes in Prometheus", () => {
    it("the registry's request counter for manifest pushes is above zero, and counts both pipelines' pushes", async () => {
        expect(prometheus?.exitCode ?? null).toBeNull();
        const puts = await waitFor("manifest PUTs in Prometheus", 60_000, async () => {
            const value = await queryValue('sum(registry_http_requests_total{handler="manifest",method="put"})');
            return value >= 2 ? value : undefined;
        });
        expect(puts).toBeGreaterThanOrEqual(2);
        expect(await queryValue("sum(registry_http_requests_total)")).toBeGreaterThan(puts);
        // The failed login was answered too, with a 401, and counted.
        expect(await queryValue('sum(registry_http_requests_total{code="401"})')).toBeGreaterThan(0);
    }, 120_000);
});
