/**
 * RegistryBucket for real: a small program (fixtures/bucket) applied by the local apply harness
 * against the Ceph RGW test set-up on 127.0.0.1. It creates an RGW user with radosgw-admin and a
 * bucket with the bucket tool; a second up changes nothing; the keys work; down keeps bucket and
 * user; with given keys it creates a missing bucket and leaves an existing one as it is.
 *
 * npx jest --config tests/setup/jest.ceph.config.js tests/setup/registryBucket.test.ts
 */
import { execFileSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CephRgw, s3Request, startCephRgw, stopCephRgw } from "../support/cephRgw";
import { down, REPO_ROOT, secretOutputNames, state, tryUp, up } from "../local-apply";

const projectDir = path.join(__dirname, "fixtures", "bucket");
const rgwStack = `rgw${process.pid}`;
const givenStack = `given${process.pid}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ceph-rgw-bucket-"));
const work = fs.mkdtempSync(path.join(os.tmpdir(), "registry-bucket-"));
const uid = "registry-bucket-test";
const rgwBucket = "bucket-test-rgw";
const givenBucket = "bucket-test-given";
// Variables a machine may have set, which the bucket tool must not go by.
const harness = { projectDir, env: { LOCAL_APPLY_SHOW_COMMAND_OUTPUT: "1", AWS_CA_BUNDLE: "/nonexistent/ca.pem", AWS_PROFILE: "no-such-profile" } };

interface Storage { endpoint: string; region: string; bucket: string; rootDirectory: string; accessKey: string; secretKey: string }

let rgw: CephRgw;
let rgwAdmin: string;

function radosgwAdmin(...args: string[]): string {
    return execFileSync("radosgw-admin", ["-c", path.join(dir, "ceph.conf"), ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
}

/** A curl config that signs requests with the given keys, as the set-up's own. */
function curlrcFor(name: string, s: Pick<Storage, "accessKey" | "secretKey">): string {
    const file = path.join(work, `${name}.curlrc`);
    fs.writeFileSync(file, `aws-sigv4 = "aws:amz:${rgw.region}:s3"\nuser = "${s.accessKey}:${s.secretKey}"\nheader = "x-amz-content-sha256: UNSIGNED-PAYLOAD"\n`, { mode: 0o600 });
    return file;
}

/** The stdout of a bucket tool's command, from the stack's state. */
function toolSaid(stack: string, name: string): unknown {
    return state(stack, { projectDir }).resources.find((r) => r.name === name)?.outputs.stdout;
}

const rgwConfig = () => ({ endpoint: rgw.endpoint, region: rgw.region, buckets: [rgwBucket], rgwUser: uid, rgwAdminCommand: rgwAdmin });

beforeAll(async () => {
    // The harness runs the library as compiled (bucketTool.js is what the command runs): build it, as the Docker suites' set-up does.
    execFileSync("npm", ["run", "--silent", "build"], { cwd: REPO_ROOT, stdio: "inherit" });
    rgw = await startCephRgw({ dir });
    rgwAdmin = `radosgw-admin -c ${path.join(dir, "ceph.conf")}`;
}, 120_000);

afterAll(async () => {
    try {
        for (const stack of [rgwStack, givenStack]) {
            await down(stack, { projectDir }).catch(() => undefined);
            fs.rmSync(path.join(projectDir, ".local-state", `${stack}.json`), { force: true });
        }
    } finally {
        await stopCephRgw(dir);
        fs.rmSync(work, { recursive: true, force: true });
    }
}, 120_000);

describe("RegistryBucket with an RGW user the stack creates", () => {
    let storage: Storage;

    it("creates the user and the bucket; its keys are secret, never printed, and work", async () => {
        expect(radosgwAdmin("user", "list")).not.toContain(uid);
        const r = await up(rgwStack, rgwConfig(), harness);
        expect(r.stdout).toMatch(/\+ create command:local:Command b0-rgw-user/);
        expect(r.stdout).toMatch(/\+ create command:local:Command b0-bucket/);
        expect(toolSaid(rgwStack, "b0-bucket")).toBe(`created bucket ${rgwBucket} on ${rgw.endpoint}`);

        storage = (r.outputs.storages as Storage[])[0];
        expect(storage).toEqual({ endpoint: rgw.endpoint, region: rgw.region, bucket: rgwBucket, rootDirectory: "/registry", accessKey: expect.any(String), secretKey: expect.any(String) });
        const info = JSON.parse(radosgwAdmin("user", "info", `--uid=${uid}`)) as { keys: { access_key: string; secret_key: string }[] };
        expect(info.keys).toEqual([expect.objectContaining({ access_key: storage.accessKey, secret_key: storage.secretKey })]);
        // Shown output (LOCAL_APPLY_SHOW_COMMAND_OUTPUT) has the bucket tool's line but not the user's JSON.
        expect(r.stdout + r.stderr).not.toContain(storage.secretKey);
        expect(r.stdout + r.stderr).not.toContain("secret_key");
        expect(secretOutputNames(rgwStack, { projectDir })).toEqual(["storages"]);
        const user = state(rgwStack, { projectDir }).resources.find((x) => x.name === "b0-rgw-user");
        expect(user?.secretOutputs).toContain("stdout");

        const target = { endpoint: rgw.endpoint, bucket: rgwBucket, curlrc: curlrcFor("rgw-user", storage) };
        const body = randomBytes(2048);
        expect((await s3Request(target, "PUT", "registry/probe", { body })).status).toBe(200);
        const got = await s3Request(target, "GET", "registry/probe");
        expect(got.status).toBe(200);
        expect(got.body.equals(body)).toBe(true);
    });

    it("a second up changes nothing and makes no second user or key", async () => {
        const r = await up(rgwStack, rgwConfig(), harness);
        expect(r.stdout).not.toMatch(/^[+~-]/m);
        expect((r.outputs.storages as Storage[])[0]).toEqual(storage);
        const info = JSON.parse(radosgwAdmin("user", "info", `--uid=${uid}`)) as { keys: unknown[] };
        expect(info.keys).toHaveLength(1);
        expect(JSON.parse(radosgwAdmin("user", "list")).filter((u: string) => u === uid)).toHaveLength(1);
    });

    it("down keeps the bucket, its objects and the user", async () => {
        const r = await down(rgwStack, { projectDir });
        expect(r.stdout).toMatch(/- delete command:local:Command b0-bucket/);
        expect(state(rgwStack, { projectDir }).resources).toEqual([]);
        const target = { endpoint: rgw.endpoint, bucket: rgwBucket, curlrc: curlrcFor("rgw-user", storage) };
        expect((await s3Request(target, "GET", "registry/probe")).status).toBe(200);
        expect(JSON.parse(radosgwAdmin("user", "info", `--uid=${uid}`)).keys[0].access_key).toBe(storage.accessKey);
    });

    it("an up after down finds the user and the bucket and takes them as they are", async () => {
        const r = await up(rgwStack, rgwConfig(), harness);
        expect(r.stdout).toMatch(/\+ create command:local:Command b0-rgw-user/);
        expect(toolSaid(rgwStack, "b0-bucket")).toBe(`bucket ${rgwBucket} exists on ${rgw.endpoint}; left as it is`);
        expect((r.outputs.storages as Storage[])[0]).toEqual(storage);
    });
});

describe("RegistryBucket with keys given", () => {
    const given = () => ({ projectDir, env: harness.env, secretConfig: { accessKey: rgw.accessKey, secretKey: rgw.secretKey } });

    it("creates a missing bucket and leaves an existing one, with its objects, as it is", async () => {
        const existing = { endpoint: rgw.endpoint, bucket: rgw.bucket, curlrc: rgw.curlrc };
        expect((await s3Request(existing, "PUT", "kept", { body: "before" })).status).toBe(200);
        expect((await s3Request({ ...existing, bucket: givenBucket }, "HEAD", "")).status).toBe(404);

        const r = await up(givenStack, { endpoint: rgw.endpoint, region: rgw.region, buckets: [givenBucket, rgw.bucket] }, given());
        // What the tool said (the harness's log hides every string found in a secret, the endpoint too).
        expect(toolSaid(givenStack, "b0-bucket")).toBe(`created bucket ${givenBucket} on ${rgw.endpoint}`);
        expect(toolSaid(givenStack, "b1-bucket")).toBe(`bucket ${rgw.bucket} exists on ${rgw.endpoint}; left as it is`);
        expect(r.stdout + r.stderr).not.toContain(rgw.secretKey);
        expect(r.outputs.names).toEqual([givenBucket, rgw.bucket]);
        expect((r.outputs.storages as Storage[]).map((s) => [s.accessKey, s.secretKey])).toEqual([[rgw.accessKey, rgw.secretKey], [rgw.accessKey, rgw.secretKey]]);

        expect((await s3Request({ ...existing, bucket: givenBucket }, "HEAD", "")).status).toBe(200);
        expect((await s3Request(existing, "GET", "kept")).body.toString()).toBe("before");
    });

    it("wrong keys stop the up with the tool's reason, and the keys are not printed", async () => {
        const wrong = "w".repeat(40);
        const r = await tryUp(`${givenStack}-wrong`, { endpoint: rgw.endpoint, region: rgw.region, buckets: ["bucket-test-wrong"] },
            { ...given(), secretConfig: { accessKey: rgw.accessKey, secretKey: wrong } });
        fs.rmSync(path.join(projectDir, ".local-state", `${givenStack}-wrong.json`), { force: true });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/bucket-tool: the S3 service does not accept these keys \(SignatureDoesNotMatch\)/);
        expect(r.stdout + r.stderr).not.toContain(wrong);
    });

    it("with createBucket false touches nothing in S3", async () => {
        const r = await up(givenStack, { endpoint: rgw.endpoint, region: rgw.region, buckets: ["bucket-test-never"], createBucket: false }, given());
        expect(r.stdout).toMatch(/- delete command:local:Command b0-bucket/);
        expect(r.stdout).not.toMatch(/\+ create command/);
        expect((await s3Request({ endpoint: rgw.endpoint, bucket: "bucket-test-never", curlrc: rgw.curlrc }, "HEAD", "")).status).toBe(404);
        // Dropped from the program, the bucket commands delete nothing: both buckets are still there.
        expect((await s3Request({ endpoint: rgw.endpoint, bucket: givenBucket, curlrc: rgw.curlrc }, "HEAD", "")).status).toBe(200);
    });
});
