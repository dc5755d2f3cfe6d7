/**
 * The dev stack with storageBackend s3, against a real S3 server: Ceph's RADOS Gateway, run by the
 * test set-up in a test network namespace (its gateway on the namespace's address, which the
 * registry containers reach through the host), driven with the real docker client.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CephRgw, listKeys, startCephRgw } from "../support/cephRgw";
import { LocalStack, StackOutputs } from "./support/localStack";
import { PullLoop, runMaintenance } from "./support/maintenanceClient";
import { buildRandomImage } from "./support/images";
import { run, runOk } from "./support/shell";
import { TestNetwork } from "./support/testNetwork";

const network = new TestNetwork("s3e2e", "10.251.0.1", "10.251.0.2", []);
const port = Number(process.env.E2E_REGISTRY_PORT ?? 5000);
const endpoint = `localhost:${port}`;
const repo = `${endpoint}/e2e/s3`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), "registry-s3-e2e-"));

let rgw: CephRgw;
let stack: LocalStack;
let outputs: StackOutputs & { maintenanceScript: string };
let dockerEnv: NodeJS.ProcessEnv;
let caFile: string;

const dockerOk = (args: string, input?: string) => runOk(`docker ${args}`, { env: dockerEnv, input, timeoutMs: 300_000 });
const curl = (args: string) => runOk(`curl -s --max-time 20 --cacert ${caFile} -u admin:${outputs.credentials.admin} ${args}`);
const blobKey = (digest: string) => `registry/docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`;

const buildImage = (tag: string, files: Record<string, number>) => buildRandomImage(tag, files, work, dockerEnv);

function layersOf(tag: string): string[] {
    const manifest = JSON.parse(curl(`-H 'Accept: application/vnd.docker.distribution.manifest.v2+json' https://${endpoint}/v2/e2e/s3/manifests/${tag}`)) as { layers: { digest: string }[] };
    return manifest.layers.map((l) => l.digest);
}

beforeAll(async () => {
    dockerEnv = { DOCKER_CONFIG: path.join(work, "docker-config") };
    caFile = path.join(work, "ca.crt");
    network.create();
    rgw = await startCephRgw({ netns: network.namespace, env: { CEPH_RGW_ADDRESS: network.peerAddress } });
    stack = new LocalStack("dev", {
        hostnames: "[localhost]",
        ipAddresses: "[127.0.0.1]",
        clientTrustLocal: "true",
        storageBackend: "s3",
        s3Endpoint: rgw.endpoint,
        s3Region: rgw.region,
        s3Bucket: rgw.bucket,
        s3RootDirectory: "/registry",
        maintenanceGcSchedule: "",
        maintenanceBackupSchedule: "",
        ...(port === 5000 ? {} : { port: String(port) }),
    }, { s3AccessKey: rgw.accessKey, s3SecretKey: rgw.secretKey });
    stack.down();
    stack.up();
    outputs = stack.outputs() as typeof outputs;
    fs.writeFileSync(caFile, outputs.caCertPem);
    dockerOk(`login ${endpoint} --username admin --password-stdin`, outputs.credentials.admin);
}, 600_000);

afterAll(async () => {
    try {
        stack?.down();
    } finally {
        run(`docker images --format '{{.Repository}}:{{.Tag}}' | grep '^${repo}' | xargs -r docker rmi -f`);
        run(`crontab -l 2>/dev/null | grep -vF '# private-registry-maintenance:registry-dev' | crontab -`);
        fs.rmSync(`/etc/docker/certs.d/${endpoint}`, { recursive: true, force: true });
        await rgw?.stop();
        network.destroy();
        fs.rmSync(work, { recursive: true, force: true });
    }
}, 300_000);

describe("a registry on S3", () => {
    it("keeps pushed blobs in the bucket and none in the data volume, and pulls them back", async () => {
        buildImage(`${repo}:1`, { a: 3 << 20, b: 1 << 20 });
        buildImage(`${repo}:2`, { c: 1 << 20 });
        dockerOk(`push -q ${repo}:1`);
        dockerOk(`push -q ${repo}:2`);
        const keys = await listKeys(rgw, "registry/");
        for (const layer of [...layersOf("1"), ...layersOf("2")]) expect(keys).toContain(blobKey(layer));
        expect(keys.filter((k) => k.endsWith("/data")).length).toBeGreaterThanOrEqual(7); // 3 layers, 2 configs, 2 manifests
        const local = runOk(`docker run --rm --network none -v ${outputs.dataVolume}:/d:ro --entrypoint /bin/sh registry:2.8.3 -c 'find /d -type f | wc -l'`).trim();
        expect(local).toBe("0");
        const digest = JSON.parse(runOk(`docker image inspect -f '{{json .RepoDigests}}' ${repo}:1`))[0] as string;
        dockerOk(`rmi ${repo}:1`);
        dockerOk(`pull -q ${repo}:1`);
        expect(JSON.parse(runOk(`docker image inspect -f '{{json .RepoDigests}}' ${repo}:1`))[0]).toBe(digest);
    });

    it("streams blobs through the registry instead of redirecting clients to S3", () => {
        const [layer] = layersOf("1");
        expect(curl(`-o /dev/null -w '%{http_code}' https://${endpoint}/v2/e2e/s3/blobs/${layer}`)).toBe("200");
    });

    it("collects a deleted image's blobs from the bucket in the maintenance window, pulls served throughout", async () => {
        const onlyTwo = layersOf("2");
        const digest = /^docker-content-digest:\s*(\S+)/im.exec(curl(`-I -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' https://${endpoint}/v2/e2e/s3/manifests/2`))![1];
        expect(curl(`-o /dev/null -w '%{http_code}' -X DELETE https://${endpoint}/v2/e2e/s3/manifests/${digest}`)).toBe("202");
        const script = `/usr/local/sbin/${outputs.maintenanceScript}`;
        const loop = new PullLoop({ endpoint, caFile, user: "admin", password: outputs.credentials.admin, dockerEnv }, `${repo}:1`, work, "s3-gc");
        loop.start();
        try {
            const gc = await runMaintenance(script, "gc");
            const pulls = await loop.stop();
            expect({ code: gc.code, out: gc.out }).toEqual({ code: 0, out: expect.stringContaining("window closed") });
            expect(pulls).toEqual({ ok: expect.any(Number), failed: 0, failures: [] });
            console.log(`gc on S3: ${pulls.ok} pulls, 0 failed`);
        } finally {
            loop.kill();
        }
        const keys = await listKeys(rgw, "registry/");
        for (const layer of onlyTwo) expect(keys).not.toContain(blobKey(layer));
        for (const layer of layersOf("1")) expect(keys).toContain(blobKey(layer));
        // Backups copy the volume, which holds nothing here: the script says so rather than archive nothing.
        const backup = await runMaintenance(script, "backup");
        expect({ code: backup.code, out: backup.out }).toEqual({ code: 1, out: expect.stringContaining("the registry keeps its data in S3") });
    }, 300_000);
});
