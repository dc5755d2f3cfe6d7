/**
 * Garbage collection, backup and restore with the maintenance script the stack installs, against
 * the dev stack applied by the local apply harness: pulls are counted throughout each window, and
 * the real docker client pushes into and after it. The schedules are proven by a cron daemon.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalStack, StackOutputs } from "./support/localStack";
import { PullLoop, runMaintenance } from "./support/maintenanceClient";
import { buildRandomImage } from "./support/images";
import { run, runOk } from "./support/shell";

const port = Number(process.env.E2E_REGISTRY_PORT ?? 5000);
const endpoint = `localhost:${port}`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), "registry-maint-e2e-"));
const backupDir = path.join(work, "backups");
const stackConfig = {
    hostnames: "[localhost]",
    ipAddresses: "[127.0.0.1]",
    clientTrustLocal: "true",
    maintenanceBackupDir: backupDir,
    maintenanceBackupRetention: "2",
    // Nothing scheduled until the cron test: a window must not open in the middle of another test.
    maintenanceGcSchedule: "",
    maintenanceBackupSchedule: "",
    ...(port === 5000 ? {} : { port: String(port) }),
};
const stack = new LocalStack("dev", stackConfig);
const repo = `${endpoint}/e2e/app`;
const manifestTypes = [
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
];

let outputs: StackOutputs & { maintenanceScript: string };
let script: string;
let dockerEnv: NodeJS.ProcessEnv;
let caFile: string;
let cron: ChildProcess | undefined;

const dockerOk = (args: string, input?: string) => runOk(`docker ${args}`, { env: dockerEnv, input, timeoutMs: 300_000 });
const docker = (args: string) => run(`docker ${args}`, { env: dockerEnv, timeoutMs: 300_000 });
const curl = (args: string) => runOk(`curl -s --max-time 20 --cacert ${caFile} -u admin:${outputs.credentials.admin} ${args}`);
const volumeKiB = () => Number(runOk(`docker run --rm --network none -v ${outputs.dataVolume}:/d:ro --entrypoint du registry:2.8.3 -sk /d/docker`).split("\t")[0]);
/** Every file of the data volume with its hash: equal fingerprints, equal contents. */
const volumeFingerprint = () => runOk(`docker run --rm --network none -v ${outputs.dataVolume}:/d:ro --entrypoint /bin/sh registry:2.8.3 -c 'cd /d && find . -type f | sort | xargs sha256sum | sha256sum'`);

const buildImage = (tag: string, from: string, files: Record<string, number>) => buildRandomImage(tag, files, work, dockerEnv, from);

function repoDigest(tag: string): string {
    const digests = JSON.parse(runOk(`docker image inspect -f '{{json .RepoDigests}}' ${tag}`)) as string[];
    const found = digests.find((d) => d.startsWith(`${tag.slice(0, tag.lastIndexOf(":"))}@`));
    if (!found) throw new Error(`no repo digest for ${tag}`);
    return found.split("@")[1];
}

/** The digest the registry gives a tag, asked with all four manifest media types, as a deleting client must. */
function manifestDigest(tag: string): string {
    const headers = curl(`-I ${manifestTypes.map((t) => `-H 'Accept: ${t}'`).join(" ")} https://${endpoint}/v2/e2e/app/manifests/${tag}`);
    const digest = /^docker-content-digest:\s*(sha256:[0-9a-f]{64})/im.exec(headers)?.[1];
    if (!digest) throw new Error(`no digest for ${tag}:\n${headers}`);
    return digest;
}

const pullTarget = () => ({ endpoint, caFile, user: "admin", password: outputs.credentials.admin, dockerEnv });
const maintenance = (args: string, onWindow?: () => void) => runMaintenance(script, args, onWindow);

const pushDuringWindow: { code?: number; output?: string } = {};

beforeAll(() => {
    dockerEnv = { DOCKER_CONFIG: path.join(work, "docker-config") };
    caFile = path.join(work, "ca.crt");
    stack.down();
    stack.up();
    outputs = stack.outputs() as typeof outputs;
    script = `/usr/local/sbin/${outputs.maintenanceScript}`;
    fs.writeFileSync(caFile, outputs.caCertPem);
    dockerOk(`login ${endpoint} --username admin --password-stdin`, outputs.credentials.admin);
    // A base of two shared layers; a and b add a layer each; c is another image for the pull loops.
    buildImage(`${repo}:base`, "scratch", { shared1: 2 << 20, shared2: 2 << 20 });
    buildImage(`${repo}:a`, `${repo}:base`, { onlyA: 8 << 20 });
    buildImage(`${repo}:b`, `${repo}:base`, { onlyB: 8 << 20 });
    buildImage(`${endpoint}/e2e/other:1`, "scratch", { one: 1 << 20, two: 1 << 20 });
    for (const tag of [`${repo}:a`, `${repo}:b`, `${endpoint}/e2e/other:1`]) dockerOk(`push -q ${tag}`);
}, 600_000);

afterAll(() => {
    try {
        cron?.kill();
        stack.down();
    } finally {
        run(`docker images --format '{{.Repository}}:{{.Tag}}' | grep '^${endpoint}/e2e/' | xargs -r docker rmi -f`);
        // Only this test's schedules: the stack's own tag marks them.
        run(`crontab -l 2>/dev/null | grep -vF '# private-registry-maintenance:${outputs?.containerName ?? "registry-dev"}' | crontab -`);
        fs.rmSync(`/etc/docker/certs.d/${endpoint}`, { recursive: true, force: true });
        fs.rmSync(`/var/log/private-registry-maintenance-${outputs?.containerName ?? "registry-dev"}.log`, { force: true });
        fs.rmSync(work, { recursive: true, force: true });
    }
}, 300_000);

describe("the maintenance script", () => {
    it("is installed on the host, and the standby and front are in place", () => {
        expect(outputs.maintenanceScript).toBe("private-registry-maintenance-registry-dev");
        expect(fs.statSync(script).mode & 0o777).toBe(0o755);
        expect(runOk(`docker inspect -f '{{.State.Status}}' ${outputs.containerName}-standby`).trim()).toBe("created");
        expect(runOk(`docker port ${outputs.containerName}-front 5000`)).toContain(`0.0.0.0:${port}`);
        // The registry itself publishes nothing: every connection goes through the front.
        expect(runOk(`docker port ${outputs.containerName}`).trim()).toBe("");
    });
});

describe("garbage collection", () => {
    let digestA: string;
    let onlyALayer: string;

    it("deletes a tag by digest, found with HEAD and all four manifest media types", () => {
        digestA = manifestDigest("a");
        expect(digestA).toBe(repoDigest(`${repo}:a`));
        const manifest = JSON.parse(curl(`-H 'Accept: ${manifestTypes[0]}' https://${endpoint}/v2/e2e/app/manifests/${digestA}`)) as { layers: { digest: string }[] };
        onlyALayer = manifest.layers[manifest.layers.length - 1].digest;
        expect(curl(`-o /dev/null -w '%{http_code}' -X DELETE https://${endpoint}/v2/e2e/app/manifests/${digestA}`)).toBe("202");
        expect(curl(`-o /dev/null -w '%{http_code}' -H 'Accept: ${manifestTypes[0]}' https://${endpoint}/v2/e2e/app/manifests/a`)).toBe("404");
    });

    it("frees about the deleted layer's size while pulls of another image all succeed", async () => {
        const before = volumeKiB();
        const loop = new PullLoop(pullTarget(), `${endpoint}/e2e/other:1`, work, "gc");
        loop.start();
        try {
            await new Promise((r) => setTimeout(r, 2000));
            const gc = await maintenance("gc");
            await new Promise((r) => setTimeout(r, 2000));
            const pulls = await loop.stop();
            expect({ code: gc.code, out: gc.out }).toEqual({ code: 0, out: expect.stringContaining("window closed") });
            expect(pulls).toEqual({ ok: expect.any(Number), failed: 0, failures: [] });
            expect(pulls.ok).toBeGreaterThan(10);
            console.log(`gc: ${pulls.ok} pulls, 0 failed; ${gc.out.split("\n").find((l) => l.startsWith("volume:"))}`);
        } finally {
            loop.kill();
        }
        const freed = before - volumeKiB();
        // The 8 MiB layer of random bytes (gzip can't shrink it), a manifest and a config.
        expect(freed).toBeGreaterThan(8 * 1024 * 0.95);
        expect(freed).toBeLessThan(8 * 1024 * 1.1);
    }, 300_000);

    it("still serves the tag that shared the layers", () => {
        const digestB = repoDigest(`${repo}:b`);
        dockerOk(`rmi ${repo}:b`);
        dockerOk(`pull -q ${repo}:b`);
        expect(repoDigest(`${repo}:b`)).toBe(digestB);
    });

    it("takes the deleted layer again: the restarted registry's blob cache does not claim it still exists", () => {
        expect(curl(`-o /dev/null -w '%{http_code}' -I https://${endpoint}/v2/e2e/app/blobs/${onlyALayer}`)).toBe("404");
        dockerOk(`push -q ${repo}:a`);
        expect(repoDigest(`${repo}:a`)).toBe(digestA);
        const served = runOk(`curl -sf --max-time 20 --cacert ${caFile} -u admin:${outputs.credentials.admin} https://${endpoint}/v2/e2e/app/blobs/${onlyALayer} | sha256sum`);
        expect(`sha256:${served.split(" ")[0]}`).toBe(onlyALayer);
    });
});

describe("backup and restore", () => {
    const pushedDigests: Record<string, string> = {};
    let archives: string[];

    it("backs up while pulls all succeed, refusing a push inside the window with a clear error", async () => {
        buildImage(`${endpoint}/e2e/late:1`, "scratch", { late: 256 << 10 });
        const loop = new PullLoop(pullTarget(), `${endpoint}/e2e/other:1`, work, "backup");
        loop.start();
        try {
            const backup = await maintenance("backup", () => {
                const push = docker(`push ${endpoint}/e2e/late:1`);
                pushDuringWindow.code = push.code;
                pushDuringWindow.output = push.stdout + push.stderr;
            });
            const pulls = await loop.stop();
            expect({ code: backup.code, out: backup.out }).toEqual({ code: 0, out: expect.stringMatching(/backup written: .*registry-dev-\d{8}T\d{6}Z\.tar\.gz/) });
            expect(pulls).toEqual({ ok: expect.any(Number), failed: 0, failures: [] });
            console.log(`backup: ${pulls.ok} pulls, 0 failed`);
        } finally {
            loop.kill();
        }
        expect(pushDuringWindow.code).not.toBe(0);
        expect(pushDuringWindow.output).toContain("unsupported: the registry is read-only during a maintenance window (garbage collection or backup); pulls are served, push again when it ends");
        dockerOk(`push -q ${endpoint}/e2e/late:1`);
    }, 300_000);

    it("keeps exactly the newest maintenanceBackupRetention archives, each with its checksum", async () => {
        for (let i = 0; i < 2; i++) {
            // Archive names have one-second resolution.
            await new Promise((r) => setTimeout(r, 1100));
            expect((await maintenance("backup")).code).toBe(0);
        }
        archives = runOk(`${script} list`).trim().split("\n");
        expect(archives).toHaveLength(2);
        expect(fs.readdirSync(backupDir).sort()).toEqual(archives.flatMap((a) => [path.basename(a), `${path.basename(a)}.sha256`]).sort());
        for (const a of archives) runOk(`cd ${backupDir} && sha256sum -c ${path.basename(a)}.sha256`);
    }, 300_000);

    it("refuses a truncated or corrupt archive with a clear error, leaving the volume as it was", async () => {
        for (const tag of [`${repo}:a`, `${repo}:b`, `${endpoint}/e2e/other:1`, `${endpoint}/e2e/late:1`]) pushedDigests[tag] = repoDigest(tag);
        const fingerprint = volumeFingerprint();
        const newest = archives[archives.length - 1];
        const truncated = path.join(work, "truncated.tar.gz");
        fs.writeFileSync(truncated, fs.readFileSync(newest).subarray(0, 1 << 20));
        const corrupt = path.join(work, "corrupt.tar.gz");
        const bytes = fs.readFileSync(newest);
        bytes.write("garbage", bytes.length >> 1);
        fs.writeFileSync(corrupt, bytes);
        for (const [archive, message] of [[truncated, /not a complete gzip file/], [corrupt, /not a complete gzip file/], [newest.replace(/\.tar\.gz$/, ".missing.tar.gz"), /no archive at/]] as const) {
            const result = await maintenance(`restore ${archive}`);
            expect({ code: result.code, out: result.out }).toEqual({ code: 1, out: expect.stringMatching(message) });
            if (fs.existsSync(archive)) expect(result.out).toContain("nothing was changed");
        }
        // A checksum that does not match is named as such.
        const renamed = path.join(work, path.basename(newest));
        fs.writeFileSync(renamed, bytes);
        fs.copyFileSync(`${newest}.sha256`, `${renamed}.sha256`);
        const mismatch = await maintenance(`restore ${renamed}`);
        expect({ code: mismatch.code, out: mismatch.out }).toEqual({ code: 1, out: expect.stringContaining("checksum does not match") });
        expect(volumeFingerprint()).toBe(fingerprint);
        expect(runOk(`docker inspect -f '{{.State.Running}}' ${outputs.containerName}`).trim()).toBe("true");
    }, 300_000);

    it("restores into a new volume after the stack and its volume are gone; every digest pulls the same", async () => {
        stack.down();
        run(`docker volume rm ${outputs.dataVolume}`);
        expect(run(`docker volume inspect ${outputs.dataVolume}`).code).not.toBe(0);
        // destroy takes the schedules out but leaves the script: it is what restores.
        expect(fs.existsSync(script)).toBe(true);
        const restore = await maintenance(`restore ${archives[archives.length - 1]}`);
        expect({ code: restore.code, out: restore.out }).toEqual({ code: 0, out: expect.stringContaining("restored registry-dev-data") });
        stack.up();
        outputs = stack.outputs() as typeof outputs;
        fs.writeFileSync(caFile, outputs.caCertPem);
        dockerOk(`login ${endpoint} --username admin --password-stdin`, outputs.credentials.admin);
        for (const [tag, digest] of Object.entries(pushedDigests)) {
            dockerOk(`rmi -f ${tag}`);
            dockerOk(`pull -q ${tag.slice(0, tag.lastIndexOf(":"))}@${digest}`);
            dockerOk(`pull -q ${tag}`);
            expect({ tag, digest: repoDigest(tag) }).toEqual({ tag, digest });
        }
    }, 600_000);
});

describe("schedules", () => {
    it("runs a backup from cron on the schedule in config", async () => {
        const logFile = `/var/log/${outputs.maintenanceScript}.log`;
        fs.rmSync(logFile, { force: true });
        const before = new Set(runOk(`${script} list`).trim().split("\n"));
        stack.up({ maintenanceBackupSchedule: "* * * * *" });
        expect(runOk("crontab -l")).toContain(`* * * * * '${script}' backup >>'${logFile}' 2>&1 # private-registry-maintenance:registry-dev`);
        if (run("pgrep -x cron").code !== 0) cron = spawn("cron", ["-f"], { stdio: "ignore" });
        const deadline = Date.now() + 150_000;
        let written: string | undefined;
        while (!written && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 2000));
            written = fs.existsSync(logFile) ? /backup written: (\S+)/.exec(fs.readFileSync(logFile, "utf8"))?.[1] : undefined;
        }
        // Stop cron before the next minute can start another run, and let a run in progress end.
        cron?.kill();
        cron = undefined;
        const lockDir = path.join(os.tmpdir(), `${outputs.maintenanceScript}.lock`);
        for (let i = 0; i < 60 && fs.existsSync(lockDir); i++) await new Promise((r) => setTimeout(r, 1000));
        expect(written).toBeDefined();
        expect(before.has(written!)).toBe(false);
        expect(fs.existsSync(written!)).toBe(true);
        stack.up({ maintenanceBackupSchedule: "" });
        expect(run("crontab -l").stdout).not.toContain(outputs.maintenanceScript);
    }, 300_000);
});
