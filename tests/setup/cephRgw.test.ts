/**
 * The Ceph RGW test set-up works: S3 with SigV4, multipart uploads, and Debian's docker-registry
 * (distribution 2.8) on its s3 storage driver; and stop leaves no process or listening port behind.
 *
 * npx jest --config tests/setup/jest.ceph.config.js
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import { createHash, randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { stringify } from "yaml";
import { gzipSync } from "zlib";
import {
    CephRgw, canonicalQuery, curlRequest, envForS3Tools, listKeys, parseCurlOutput, parseEnvFile, parsePortRanges,
    registryS3Storage, s3Request, startCephRgw, stopCephRgw,
} from "../support/cephRgw";

const sha256 = (data: Buffer | string): string => createHash("sha256").update(data).digest("hex");

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe().catch(() => undefined);
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

/** Alive and not a zombie (the daemons' parent is init, which reaps them when it gets to it). */
function alive(pid: number): boolean {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
    } catch {
        return false;
    }
}

function rssKb(pid: number): { rss: number; peak: number } {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
    return { rss: field("VmRSS"), peak: field("VmHWM") };
}

interface Listener { address: string; port: number; pid: number }

/** TCP listeners with their owning PIDs, from `ss -Htlnp`. */
function listeners(): Listener[] {
    const out = execFileSync("ss", ["-Htlnp"], { encoding: "utf8" });
    const result: Listener[] = [];
    for (const line of out.split("\n").filter(Boolean)) {
        const local = line.trim().split(/\s+/)[3];
        const port = Number(local.slice(local.lastIndexOf(":") + 1));
        const address = local.slice(0, local.lastIndexOf(":"));
        for (const m of line.matchAll(/pid=(\d+)/g)) result.push({ address, port, pid: Number(m[1]) });
    }
    return result;
}

/** Processes whose command line names `text` (what the PID files might have missed). */
function processesMentioning(text: string): number[] {
    return fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
        if (pid === process.pid) return false;
        try {
            return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(text) && alive(pid);
        } catch {
            return false;
        }
    });
}

describe("helpers", () => {
    it("read the env file and port ranges the script writes", () => {
        expect(parseEnvFile("A=1\nCEPH_RGW_PIDS=1,2,3\n# no\n\nB=x=y\n")).toEqual({ A: "1", CEPH_RGW_PIDS: "1,2,3", B: "x=y" });
        expect(parsePortRanges("16789,16800-16899,17480")).toEqual([[16789, 16789], [16800, 16899], [17480, 17480]]);
        expect(() => parsePortRanges("9-1")).toThrow("bad port range");
    });

    it("write queries the way curl 7.88 must sign them: sorted, encoded, each with =", () => {
        expect(canonicalQuery({ uploads: "" })).toBe("uploads=");
        expect(canonicalQuery({ prefix: "registry/a b", "list-type": 2, "continuation-token": "x+y/z=" }))
            .toBe("continuation-token=x%2By%2Fz%3D&list-type=2&prefix=registry%2Fa%20b");
        expect(canonicalQuery({ k: "it's (*)!" })).toBe("k=it%27s%20%28%2A%29%21");
    });

    it("split curl's header blocks from the body, skipping 100 Continue", () => {
        const raw = Buffer.from("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nETag: \"abc\"\r\nX-A: 1\r\n\r\nbody\r\n\r\nmore");
        expect(parseCurlOutput(raw)).toEqual({ status: 201, headers: { etag: "\"abc\"", "x-a": "1" }, body: Buffer.from("body\r\n\r\nmore") });
    });

    it("keep AWS_CA_BUNDLE away from S3 tools", () => {
        expect(envForS3Tools({ AWS_CA_BUNDLE: "/x", PATH: "/bin" })).toEqual({ PATH: "/bin" });
    });
});

describe("a single-node Ceph cluster with the RADOS Gateway", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ceph-rgw-test-"));
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "ceph-rgw-registry-"));
    let rgw: CephRgw;
    let registry: ChildProcess | undefined;
    let registryPort = 0;
    const registryLog = path.join(work, "registry.log");

    beforeAll(async () => {
        const started = Date.now();
        rgw = await startCephRgw({ dir });
        console.log(`ceph-rgw: S3 working after ${Date.now() - started} ms (script: ${rgw.startMs} ms)`);
    }, 240_000);

    afterAll(async () => {
        if (registry?.pid && alive(registry.pid)) registry.kill("SIGKILL");
        await stopCephRgw(dir);
        fs.rmSync(work, { recursive: true, force: true });
    }, 60_000);

    it("keeps everything in its directory and on 127.0.0.1", () => {
        expect(rgw.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(fs.statSync(path.join(dir, "env")).mode & 0o077).toBe(0);
        const conf = fs.readFileSync(path.join(dir, "ceph.conf"), "utf8");
        expect(conf).not.toMatch(/\/etc\/ceph|\/var\/lib\/ceph|\/var\/run\/ceph|\/var\/log\/ceph/);
        for (const pid of rgw.pids) {
            expect(alive(pid)).toBe(true);
            expect(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain(path.join(dir, "ceph.conf"));
        }
        const ours = listeners().filter((l) => rgw.pids.includes(l.pid));
        expect(ours.map((l) => l.port)).toEqual(expect.arrayContaining([rgw.portRanges[0][0], Number(new URL(rgw.endpoint).port)]));
        for (const l of ours) {
            expect(l.address).toBe("127.0.0.1");
            expect(rgw.portRanges.some(([low, high]) => l.port >= low && l.port <= high)).toBe(true);
        }
    });

    it("answers signed S3 PUT, GET, LIST and DELETE, and refuses unsigned or wrongly signed ones", async () => {
        const body = randomBytes(4096);
        const key = "smoke/object one.bin";
        expect((await s3Request(rgw, "PUT", key, { body })).status).toBe(200);

        const got = await s3Request(rgw, "GET", key);
        expect(got.status).toBe(200);
        expect(sha256(got.body)).toBe(sha256(body));
        expect((await s3Request(rgw, "HEAD", key)).headers["content-length"]).toBe("4096");
        expect(await listKeys(rgw, "smoke/")).toEqual([key]);

        const unsigned = await curlRequest(`${rgw.endpoint}/${rgw.bucket}/smoke/x`, { method: "PUT", body: "no" });
        expect(unsigned.status).toBe(403);
        const wrongRc = path.join(work, "wrong.curlrc");
        fs.writeFileSync(wrongRc, fs.readFileSync(rgw.curlrc, "utf8").replace(`:${rgw.secretKey}"`, `:${"0".repeat(40)}"`), { mode: 0o600 });
        const wrong = await s3Request({ ...rgw, curlrc: wrongRc }, "GET", key);
        expect(wrong.status).toBe(403);
        expect(wrong.body.toString()).toContain("SignatureDoesNotMatch");

        expect((await s3Request(rgw, "DELETE", key)).status).toBe(204);
        expect((await s3Request(rgw, "GET", key)).status).toBe(404);
        expect(await listKeys(rgw, "smoke/")).toEqual([]);
    });

    it("does a multipart upload round trip", async () => {
        // Warmed up at start: RGW made its pool for multipart uploads then, not on this first one.
        const pools = execFileSync("ceph", ["-c", path.join(dir, "ceph.conf"), "osd", "pool", "ls"], { encoding: "utf8" });
        expect(pools.split("\n")).toContain("default.rgw.buckets.non-ec");

        const key = "multipart/blob";
        const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1234)];
        const init = await s3Request(rgw, "POST", key, { query: { uploads: "" } });
        expect(init.status).toBe(200);
        const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.body.toString())?.[1] ?? "";
        expect(uploadId).not.toBe("");

        const etags: string[] = [];
        for (const [i, part] of parts.entries()) {
            const put = await s3Request(rgw, "PUT", key, { query: { partNumber: i + 1, uploadId }, body: part });
            expect(put.status).toBe(200);
            etags.push(put.headers.etag);
        }
        const listed = await s3Request(rgw, "GET", key, { query: { uploadId } });
        expect(listed.body.toString().match(/<PartNumber>/g)).toHaveLength(2);

        const complete = etags.map((etag, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${etag}</ETag></Part>`).join("");
        const done = await s3Request(rgw, "POST", key, { query: { uploadId }, body: `<CompleteMultipartUpload>${complete}</CompleteMultipartUpload>` });
        expect(done.status).toBe(200);

        const got = await s3Request(rgw, "GET", key);
        expect(got.headers.etag).toMatch(/-2"$/);
        expect(sha256(got.body)).toBe(sha256(Buffer.concat(parts)));
        expect((await s3Request(rgw, "DELETE", key)).status).toBe(204);
    });

    it("stores a registry's image pushed through Debian's docker-registry on the s3 driver", async () => {
        registryPort = await freePort();
        const config = {
            version: 0.1,
            log: { level: "info", accesslog: { disabled: true } },
            storage: registryS3Storage(rgw, "/registry"),
            http: { addr: `127.0.0.1:${registryPort}` },
        };
        const configFile = path.join(work, "config.yml");
        fs.writeFileSync(configFile, stringify(config), { mode: 0o600 });
        // REGISTRY_* variables would override the file; AWS_CA_BUNDLE breaks the AWS SDK here.
        const env = Object.fromEntries(Object.entries(envForS3Tools()).filter(([name]) => !name.startsWith("REGISTRY_")));
        const logFd = fs.openSync(registryLog, "a");
        registry = spawn("/usr/bin/docker-registry", ["serve", configFile], { env, stdio: ["ignore", logFd, logFd] });
        fs.closeSync(logFd);
        const base = `http://127.0.0.1:${registryPort}/v2`;
        await waitFor("the registry", async () => ((await curlRequest(`${base}/`)).status === 200 ? true : undefined))
            .catch((e: Error) => { throw new Error(`${e.message}\n${fs.readFileSync(registryLog, "utf8")}`); });

        // A real one-file layer: gzip of a tar, whose uncompressed digest is the diff ID.
        const files = path.join(work, "layer");
        fs.mkdirSync(files);
        fs.writeFileSync(path.join(files, "hello.txt"), "hello from ceph\n");
        const tar = execFileSync("tar", ["-C", files, "-cf", "-", "hello.txt"]);
        const layer = gzipSync(tar);
        const imageConfig = Buffer.from(JSON.stringify({
            architecture: "amd64", os: "linux", config: { Cmd: ["/hello.txt"] },
            rootfs: { type: "layers", diff_ids: [`sha256:${sha256(tar)}`] },
        }));
        const repo = "tests/hello";
        const pushBlob = async (blob: Buffer): Promise<string> => {
            const digest = `sha256:${sha256(blob)}`;
            const start = await curlRequest(`${base}/${repo}/blobs/uploads/`, { method: "POST" });
            expect(start.status).toBe(202);
            const location = new URL(start.headers.location, base);
            location.searchParams.set("digest", digest);
            const put = await curlRequest(location.toString(), { method: "PUT", body: blob, headers: { "Content-Type": "application/octet-stream" } });
            expect(put.status).toBe(201);
            expect(put.headers["docker-content-digest"]).toBe(digest);
            return digest;
        };
        const layerDigest = await pushBlob(layer);
        const configDigest = await pushBlob(imageConfig);
        const manifestType = "application/vnd.docker.distribution.manifest.v2+json";
        const manifest = Buffer.from(JSON.stringify({
            schemaVersion: 2, mediaType: manifestType,
            config: { mediaType: "application/vnd.docker.container.image.v1+json", size: imageConfig.length, digest: configDigest },
            layers: [{ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: layer.length, digest: layerDigest }],
        }));
        const manifestDigest = `sha256:${sha256(manifest)}`;
        const putManifest = await curlRequest(`${base}/${repo}/manifests/v1`, { method: "PUT", body: manifest, headers: { "Content-Type": manifestType } });
        expect(putManifest.status).toBe(201);
        expect(putManifest.headers["docker-content-digest"]).toBe(manifestDigest);

        // Pull it back: the manifest by tag, each blob through the registry's redirect to RGW.
        const pulled = await curlRequest(`${base}/${repo}/manifests/v1`, { headers: { Accept: manifestType } });
        expect(pulled.status).toBe(200);
        expect(pulled.body.equals(manifest)).toBe(true);
        for (const [digest, blob] of [[layerDigest, layer], [configDigest, imageConfig]] as const) {
            const redirect = await curlRequest(`${base}/${repo}/blobs/${digest}`);
            expect(redirect.status).toBe(307);
            expect(redirect.headers.location.startsWith(`${rgw.endpoint}/${rgw.bucket}/registry/`)).toBe(true);
            const fetched = await curlRequest(redirect.headers.location);
            expect(fetched.status).toBe(200);
            expect(`sha256:${sha256(fetched.body)}`).toBe(digest);
            expect(fetched.body.equals(blob)).toBe(true);
        }
        expect(JSON.parse((await curlRequest(`${base}/${repo}/tags/list`)).body.toString())).toEqual({ name: repo, tags: ["v1"] });

        // The registry's files are objects in the bucket, under its root directory.
        const keys = await listKeys(rgw, "registry/");
        const blobKey = (digest: string): string => `registry/docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`;
        expect(keys).toEqual(expect.arrayContaining([
            blobKey(layerDigest), blobKey(configDigest), blobKey(manifestDigest),
            `registry/docker/registry/v2/repositories/${repo}/_manifests/tags/v1/current/link`,
        ]));
        expect(keys.every((k) => k.startsWith("registry/docker/registry/v2/"))).toBe(true);
        console.log(`registry: ${keys.length} objects under registry/ in bucket ${rgw.bucket}`);
        const stored = await s3Request(rgw, "GET", blobKey(layerDigest));
        expect(stored.body.equals(layer)).toBe(true);
    });

    it("stops: no process of it left, nothing listening on its ports, its directory gone", async () => {
        const pids = [...rgw.pids, ...(registry?.pid ? [registry.pid] : [])];
        const names = ["ceph-mon", "ceph-osd", "radosgw", "docker-registry"];
        const rss = pids.map((pid, i) => `${names[i]} ${Math.round(rssKb(pid).rss / 1024)} MB (peak ${Math.round(rssKb(pid).peak / 1024)} MB)`);
        console.log(`RSS: ${rss.join(", ")}`);
        for (const pid of pids) expect(rssKb(pid).rss).toBeLessThan(512 * 1024);

        const ports = listeners().filter((l) => pids.includes(l.pid)).map((l) => l.port);
        expect(ports).toContain(Number(new URL(rgw.endpoint).port));
        if (registry) expect(ports).toContain(registryPort);

        registry?.kill("SIGTERM");
        await waitFor("the registry to exit", () => Promise.resolve(registry?.pid && alive(registry.pid) ? undefined : true), 10_000);
        await rgw.stop();

        expect(fs.existsSync(dir)).toBe(false);
        expect(pids.filter(alive)).toEqual([]);
        expect(processesMentioning(dir)).toEqual([]);
        expect(listeners().filter((l) => ports.includes(l.port))).toEqual([]);
        await expect(rgw.stop()).resolves.toBeUndefined();
    });
});
