/**
 * The replicated stack (Pulumi.replicated.yaml): two registry replicas behind the load balancer,
 * sharing a bucket of a real Ceph RADOS Gateway (run by the test set-up in a test network
 * namespace; the stack makes its RGW user and bucket), the stack's Redis and one http.secret,
 * driven with the real docker client and curl.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CephRgw, startCephRgw } from "../support/cephRgw";
import { LocalStack, StackOutputs } from "./support/localStack";
import { PullCount, PullLoop, runMaintenance } from "./support/maintenanceClient";
import { buildRandomImage } from "./support/images";
import { run, runOk } from "./support/shell";
import { TestNetwork } from "./support/testNetwork";

const network = new TestNetwork("repe2e", "10.252.0.1", "10.252.0.2", []);
const port = Number(process.env.E2E_REGISTRY_PORT ?? 5000);
const endpoint = `localhost:${port}`;
const repo = `${endpoint}/e2e/rep`;
const bucket = "registry-e2e";
const rgwUser = "registry-e2e";
const work = fs.mkdtempSync(path.join(os.tmpdir(), "registry-replicated-e2e-"));

type Outputs = StackOutputs & { maintenanceScript: string; replicaContainers: string[] };
let rgw: CephRgw;
let stack: LocalStack;
let outputs: Outputs;
let dockerEnv: NodeJS.ProcessEnv;
let caFile: string;
let rgwAdmin: string;
const front = "registry-rep-front";
const redis = "registry-rep-redis";

const dockerOk = (args: string, input?: string) => runOk(`docker ${args}`, { env: dockerEnv, input, timeoutMs: 300_000 });
const curl = (args: string) => runOk(`curl -s --max-time 20 --cacert ${caFile} -u admin:${outputs.credentials.admin} ${args}`);
const blobKey = (digest: string) => `registry/docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`;
const repoDigest = (tag: string) => JSON.parse(runOk(`docker image inspect -f '{{json .RepoDigests}}' ${tag}`))[0] as string;

const buildImage = (tag: string, files: Record<string, number>) => buildRandomImage(tag, files, work, dockerEnv);

function layersOf(tag: string): string[] {
    const manifest = JSON.parse(curl(`-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' https://${endpoint}/v2/e2e/rep/manifests/${tag}`)) as { layers: { digest: string }[] };
    return manifest.layers.map((l) => l.digest);
}

/** Every object in the bucket, as the gateway's admin lists it (the stack's user owns the bucket). */
function bucketKeys(): string[] {
    const listing = JSON.parse(runOk(`${rgwAdmin} bucket list --bucket=${bucket} --max-entries=100000`)) as { name: string }[];
    return listing.map((o) => o.name);
}

/** HAProxy's view of the front's servers: name → operational state (2 is up). */
function frontServers(): Record<string, number> {
    const state = runOk(`echo 'show servers state registry' | docker exec -i ${front} nc 127.0.0.1 9999`);
    return Object.fromEntries(state.split("\n").filter((l) => /^\d+ registry /.test(l)).map((l) => l.split(" ")).map((f) => [f[3], Number(f[5])]));
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 60_000): Promise<number> {
    const start = Date.now();
    while (!check()) {
        if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
    }
    return Date.now() - start;
}

/** Redis's key count, the password read inside the container from its redis.conf. */
function redisKeys(): number {
    return Number(runOk(`docker exec ${redis} sh -c 'REDISCLI_AUTH="$(sed -n "s/^requirepass //p" /usr/local/etc/redis/redis.conf)" redis-cli dbsize'`).trim());
}

/** curl in the front's network namespace, to one replica by its address on the stack's network. */
function curlReplica(container: string, args: string): string {
    const ip = runOk(`docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' ${container}`).trim();
    const pid = runOk(`docker inspect -f '{{.State.Pid}}' ${front}`).trim();
    return runOk(`nsenter -t ${pid} -n curl -s --max-time 20 --cacert ${caFile} -u admin:${outputs.credentials.admin} --resolve ${endpoint}:${ip} ${args}`);
}

function upStack(): void {
    stack.up();
    outputs = stack.outputs() as Outputs;
    fs.writeFileSync(caFile, outputs.caCertPem);
    dockerOk(`login ${endpoint} --username admin --password-stdin`, outputs.credentials.admin);
}

beforeAll(async () => {
    dockerEnv = { DOCKER_CONFIG: path.join(work, "docker-config") };
    caFile = path.join(work, "ca.crt");
    network.create();
    rgw = await startCephRgw({ netns: network.namespace, env: { CEPH_RGW_ADDRESS: network.peerAddress } });
    rgwAdmin = `ip netns exec ${network.namespace} radosgw-admin -c ${rgw.dir}/ceph.conf`;
    stack = new LocalStack("replicated", {
        clientTrustLocal: "true",
        s3Endpoint: rgw.endpoint,
        s3Region: rgw.region,
        s3Bucket: bucket,
        s3RgwUser: rgwUser,
        s3RgwAdminCommand: rgwAdmin,
        ...(port === 5000 ? {} : { port: String(port) }),
    });
    stack.down();
    upStack();
}, 600_000);

afterAll(async () => {
    try {
        stack?.down();
    } finally {
        run(`docker images --format '{{.Repository}}:{{.Tag}}' | grep '^${endpoint}/e2e/' | xargs -r docker rmi -f`);
        run(`crontab -l 2>/dev/null | grep -vF '# private-registry-maintenance:registry-rep' | crontab -`);
        fs.rmSync(`/etc/docker/certs.d/${endpoint}`, { recursive: true, force: true });
        await rgw?.stop();
        network.destroy();
        fs.rmSync(work, { recursive: true, force: true });
    }
}, 300_000);

describe("replicas behind the load balancer", () => {
    it("push and pull through the load balancer; the blobs are in the bucket, and no replica keeps any locally", () => {
        expect(outputs.replicaContainers).toEqual(["registry-rep-1", "registry-rep-2"]);
        buildImage(`${repo}:1`, { a: 3 << 20, b: 1 << 20 });
        dockerOk(`push -q ${repo}:1`);
        const keys = bucketKeys();
        for (const layer of layersOf("1")) expect(keys).toContain(blobKey(layer));
        const blobs = keys.filter((k) => k.includes("/v2/blobs/") && k.endsWith("/data"));
        console.log(`bucket after one push: ${keys.length} objects, ${blobs.length} blobs`);
        expect(blobs.length).toBeGreaterThanOrEqual(3); // two layers and the config
        for (const replica of outputs.replicaContainers) {
            const mounts = JSON.parse(runOk(`docker inspect -f '{{json .Mounts}}' ${replica}`)) as { Destination: string }[];
            expect(mounts.map((m) => m.Destination)).toEqual(["/etc/distribution"]);
            // Where the image declares its data volume, a read-only tmpfs: nothing can be written there.
            expect(run(`docker exec ${replica} touch /var/lib/registry/probe`).code).not.toBe(0);
            expect(runOk(`docker exec ${replica} sh -c 'find / -xdev -type f -path "*docker/registry/v2*" 2>/dev/null | wc -l'`).trim()).toBe("0");
        }
        const digest = repoDigest(`${repo}:1`);
        dockerOk(`rmi ${repo}:1`);
        dockerOk(`pull -q ${repo}:1`);
        expect(repoDigest(`${repo}:1`)).toBe(digest);
        // Both replicas served part of it.
        for (const replica of outputs.replicaContainers) {
            expect(runOk(`docker logs ${replica} 2>&1 | grep -c '"GET /v2/' || true`).trim()).not.toBe("0");
        }
    });

    it("completes an upload whose requests go to each replica in turn (one http.secret)", () => {
        const [first, second] = outputs.replicaContainers;
        const data = crypto.randomBytes(3 << 20);
        const digest = `sha256:${crypto.createHash("sha256").update(data).digest("hex")}`;
        const half = data.length / 2;
        fs.writeFileSync(path.join(work, "part1"), data.subarray(0, half));
        fs.writeFileSync(path.join(work, "part2"), data.subarray(half));
        const location = (headers: string) => /^location:\s*(\S+)/im.exec(headers)![1];
        const absolute = (l: string) => (l.startsWith("http") ? l : `https://${endpoint}${l}`);
        const started = curlReplica(first, `-D - -o /dev/null -X POST https://${endpoint}/v2/e2e/hop/blobs/uploads/`);
        expect(started).toMatch(/^HTTP\/\S+ 202/);
        const patched = curlReplica(second, `-D - -o /dev/null -X PATCH -H 'Content-Type: application/octet-stream' --data-binary @${work}/part1 '${absolute(location(started))}'`);
        expect(patched).toMatch(/^HTTP\/\S+ 202/);
        const sep = location(patched).includes("?") ? "&" : "?";
        const put = curlReplica(first, `-D - -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' --data-binary @${work}/part2 '${absolute(location(patched))}${sep}digest=${digest}'`);
        expect(put).toMatch(/^HTTP\/\S+ 201/);
        const served = runOk(`curl -sf --max-time 20 --cacert ${caFile} -u admin:${outputs.credentials.admin} https://${endpoint}/v2/e2e/hop/blobs/${digest} | sha256sum`);
        expect(`sha256:${served.split(" ")[0]}`).toBe(digest);
    });

    it("keeps pulls working when a replica dies: failures only inside the detection window, and it serves again once restarted", async () => {
        const victim = outputs.replicaContainers[1];
        const loop = new PullLoop({ endpoint, caFile, user: "admin", password: outputs.credentials.admin, dockerEnv }, `${repo}:1`, work, "replica-kill");
        loop.start();
        let detectedAt = 0;
        let killedAt = 0;
        let pulls: PullCount;
        try {
            await new Promise((r) => setTimeout(r, 3000));
            killedAt = Date.now();
            runOk(`docker kill ${victim}`);
            await waitFor("the front to take the replica out", () => frontServers()["replica-2"] !== 2, 30_000);
            detectedAt = Date.now();
            await new Promise((r) => setTimeout(r, 10_000));
        } finally {
            pulls = await loop.stop();
            loop.kill();
        }
        const failureTimes = pulls.failures.map((f) => {
            const [h, m, s] = f.split(" ")[1].split(":");
            const today = new Date(detectedAt);
            return Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate(), Number(h), Number(m), 0) + Number(s) * 1000;
        });
        const inside = failureTimes.filter((t) => t <= detectedAt).length;
        const after = pulls.failures.filter((_, i) => failureTimes[i] > detectedAt);
        console.log(`replica killed: detected after ${detectedAt - killedAt} ms; ${pulls.ok} pulls ok, ${inside} failed inside the window, ${after.length} after it`);
        expect(after).toEqual([]);

        const restartedAt = new Date();
        runOk(`docker start ${victim}`);
        await waitFor("the replica back in rotation", () => frontServers()["replica-2"] === 2, 60_000);
        console.log(`replica restarted: back in rotation ${Date.now() - restartedAt.getTime()} ms after docker start began`);
        for (let i = 0; i < 6; i++) curl(`-o /dev/null https://${endpoint}/v2/`);
        expect(Number(runOk(`docker logs --since ${restartedAt.toISOString()} ${victim} 2>&1 | grep -c '"GET /v2/' || true`).trim())).toBeGreaterThan(0);
    }, 180_000);

    it("serves with Redis stopped, and fills the cache again once Redis is back", async () => {
        const [layer] = layersOf("1");
        const pull = () => curl(`-o /dev/null -w '%{http_code} %{time_total}' https://${endpoint}/v2/e2e/rep/blobs/${layer}`).split(" ");
        runOk(`docker stop ${redis}`);
        try {
            const answers = Array.from({ length: 10 }, pull);
            expect(answers.map(([code]) => code)).toEqual(Array(10).fill("200"));
            const seconds = answers.map(([, t]) => Number(t)).sort((a, b) => a - b);
            console.log(`Redis stopped: 10 blob GETs, all 200, median ${(seconds[5] * 1000).toFixed(0)} ms`);
        } finally {
            runOk(`docker start ${redis}`);
        }
        await waitFor("Redis to answer", () => run(`docker exec ${redis} sh -c 'REDISCLI_AUTH="$(sed -n "s/^requirepass //p" /usr/local/etc/redis/redis.conf)" redis-cli ping'`).stdout.trim() === "PONG", 30_000);
        // It keeps nothing on disk: it comes back empty, and requests fill it.
        expect(redisKeys()).toBe(0);
        for (let i = 0; i < 4; i++) expect(pull()[0]).toBe("200");
        expect(redisKeys()).toBeGreaterThan(0);
    }, 120_000);

    it("collects garbage with every replica stopped for the window, pulls served throughout, and no stale cache after it", async () => {
        buildImage(`${repo}:2`, { c: 2 << 20 });
        dockerOk(`push -q ${repo}:2`);
        const [onlyTwo] = layersOf("2");
        const digest = /^docker-content-digest:\s*(\S+)/im.exec(curl(`-I -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' https://${endpoint}/v2/e2e/rep/manifests/2`))![1];
        expect(curl(`-o /dev/null -w '%{http_code}' -X DELETE https://${endpoint}/v2/e2e/rep/manifests/${digest}`)).toBe("202");
        const loop = new PullLoop({ endpoint, caFile, user: "admin", password: outputs.credentials.admin, dockerEnv }, `${repo}:1`, work, "rep-gc");
        const runningInWindow: string[] = [];
        loop.start();
        try {
            const gc = await runMaintenance(`/usr/local/sbin/${outputs.maintenanceScript}`, "gc", () => {
                for (const replica of outputs.replicaContainers) {
                    if (runOk(`docker inspect -f '{{.State.Running}}' ${replica}`).trim() === "true") runningInWindow.push(replica);
                }
            });
            const pulls = await loop.stop();
            expect({ code: gc.code, out: gc.out }).toEqual({ code: 0, out: expect.stringContaining("window closed: registry-rep-1 registry-rep-2 accepting pushes again") });
            expect(gc.out).toContain("emptying the blob descriptor cache");
            expect(pulls).toEqual({ ok: expect.any(Number), failed: 0, failures: [] });
            console.log(`gc of the replicated form: ${pulls.ok} pulls, 0 failed`);
        } finally {
            loop.kill();
        }
        expect(runningInWindow).toEqual([]);
        expect(bucketKeys()).not.toContain(blobKey(onlyTwo));
        // Pushed again, the collected layer is really uploaded: no replica's cache claims it exists.
        expect(curl(`-o /dev/null -w '%{http_code}' -I https://${endpoint}/v2/e2e/rep/blobs/${onlyTwo}`)).toBe("404");
        dockerOk(`push -q ${repo}:2`);
        expect(bucketKeys()).toContain(blobKey(onlyTwo));
    }, 300_000);

    it("keeps every image through replacing every replica, the load balancer and Redis", () => {
        const digest = repoDigest(`${repo}:1`);
        const before = runOk(`docker inspect -f '{{.Id}}' ${[...outputs.replicaContainers, front, redis].join(" ")}`).trim().split("\n");
        stack.down();
        expect(run(`docker inspect ${front}`).code).not.toBe(0);
        upStack();
        const after = runOk(`docker inspect -f '{{.Id}}' ${[...outputs.replicaContainers, front, redis].join(" ")}`).trim().split("\n");
        for (const id of after) expect(before).not.toContain(id);
        dockerOk(`rmi ${repo}:1`);
        dockerOk(`pull -q ${repo}:1`);
        expect(repoDigest(`${repo}:1`)).toBe(digest);
    }, 600_000);
});
