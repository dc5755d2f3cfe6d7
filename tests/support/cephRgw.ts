/**
 * Test set-up: a throwaway single-node Ceph cluster with the RADOS Gateway (S3) on 127.0.0.1, run by
 * tests/setup/ceph-rgw.sh, and curl helpers to talk to it (S3 requests signed with SigV4 by curl).
 */
import { execFile, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";

const script = path.join(__dirname, "..", "setup", "ceph-rgw.sh");

export interface CephRgw {
    /** The state directory: configuration, keyring, logs, PID files. Removed by stop(). */
    dir: string;
    /** e.g. http://127.0.0.1:17480 (path-style S3, plain HTTP). */
    endpoint: string;
    region: string;
    bucket: string;
    accessKey: string;
    secretKey: string;
    /** A curl config file that signs requests for this user (`curl -K curlrc URL`). */
    curlrc: string;
    /** Monitor, OSD and gateway, as started. */
    pids: number[];
    /** The ports the cluster may listen on, as inclusive ranges. */
    portRanges: Array<[number, number]>;
    /** How long the script took to working S3, by its own clock. */
    startMs: number;
    stop(): Promise<void>;
}

/** KEY=value lines, as ceph-rgw.sh writes its env file. */
export function parseEnvFile(text: string): Record<string, string> {
    const entries: Record<string, string> = {};
    for (const line of text.split("\n")) {
        const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
        if (match) entries[match[1]] = match[2];
    }
    return entries;
}

/** "16789,16800-16899,17480" to [[16789,16789],[16800,16899],[17480,17480]]. */
export function parsePortRanges(text: string): Array<[number, number]> {
    return text.split(",").filter(Boolean).map((part) => {
        const [low, high = low] = part.split("-").map((n) => Number(n));
        if (!Number.isInteger(low) || !Number.isInteger(high) || low > high) throw new Error(`bad port range: ${part}`);
        return [low, high] as [number, number];
    });
}

/** The environment for S3 tools: the machine's AWS_CA_BUNDLE breaks the AWS SDK against plain HTTP. */
export function envForS3Tools(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
    const { AWS_CA_BUNDLE: _ignored, ...rest } = env;
    return rest;
}

/**
 * Starts the cluster in `dir` (default: a new directory under the OS temp dir); resolves once S3
 * works, with a user and an empty bucket. Rejects with the script's output when it fails (the
 * script has cleaned up by then).
 */
export async function startCephRgw(options: { dir?: string; env?: NodeJS.ProcessEnv; netns?: string } = {}): Promise<CephRgw> {
    const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "ceph-rgw-"));
    // In a test namespace every daemon has that namespace's loopback to itself.
    const [command, args] = options.netns ? ["ip", ["netns", "exec", options.netns, "bash", script, "start", dir]] : ["bash", [script, "start", dir]];
    try {
        await promisify(execFile)(command, args, { env: { ...process.env, ...options.env }, timeout: 240_000 });
    } catch (error) {
        const e = error as { stdout?: string; stderr?: string; message: string };
        throw new Error(`ceph-rgw.sh start failed: ${e.message}\n${e.stdout ?? ""}${e.stderr ?? ""}`);
    }
    const env = parseEnvFile(fs.readFileSync(path.join(dir, "env"), "utf8"));
    const required = (key: string): string => {
        const value = env[key];
        if (!value) throw new Error(`${dir}/env has no ${key}`);
        return value;
    };
    return {
        dir,
        endpoint: required("CEPH_RGW_ENDPOINT"),
        region: required("CEPH_RGW_REGION"),
        bucket: required("CEPH_RGW_BUCKET"),
        accessKey: required("CEPH_RGW_ACCESS_KEY"),
        secretKey: required("CEPH_RGW_SECRET_KEY"),
        curlrc: required("CEPH_RGW_CURLRC"),
        pids: required("CEPH_RGW_PIDS").split(",").map(Number),
        portRanges: parsePortRanges(required("CEPH_RGW_PORTS")),
        startMs: Number(required("CEPH_RGW_START_MS")),
        stop: () => stopCephRgw(dir),
    };
}

/** Kills the cluster's processes and removes its directory; a no-op when it is already gone. */
export async function stopCephRgw(dir: string): Promise<void> {
    await promisify(execFile)("bash", [script, "stop", dir], { timeout: 60_000 });
}

/** The `storage` section of a distribution (registry) config.yml for this cluster's bucket. */
export function registryS3Storage(rgw: Pick<CephRgw, "endpoint" | "region" | "bucket" | "accessKey" | "secretKey">, rootDirectory = "/registry"): Record<string, unknown> {
    return {
        s3: {
            regionendpoint: rgw.endpoint,
            region: rgw.region,
            bucket: rgw.bucket,
            accesskey: rgw.accessKey,
            secretkey: rgw.secretKey,
            secure: rgw.endpoint.startsWith("https:"),
            v4auth: true,
            chunksize: 5 * 1024 * 1024,
            rootdirectory: rootDirectory,
        },
    };
}

/** Percent-encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ */
export function awsUriEncode(value: string): string {
    return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * A query string curl 7.88's --aws-sigv4 signs correctly: it signs the query as written, so the
 * parameters must already be sorted, encoded, and each have `=` (`uploads=`).
 */
export function canonicalQuery(params: Record<string, string | number>): string {
    return Object.keys(params)
        .sort()
        .map((key) => `${awsUriEncode(key)}=${awsUriEncode(String(params[key]))}`)
        .join("&");
}

export interface HttpResponse {
    status: number;
    /** Lower-case names; the last value of a repeated header. */
    headers: Record<string, string>;
    body: Buffer;
}

/** Splits curl's `-D -` output (header blocks, then the body), skipping interim 1xx blocks. */
export function parseCurlOutput(output: Buffer): HttpResponse {
    let rest = output;
    for (;;) {
        const end = rest.indexOf("\r\n\r\n");
        if (end < 0) throw new Error(`no HTTP header block in curl's output: ${rest.toString("utf8", 0, 200)}`);
        const lines = rest.subarray(0, end).toString("latin1").split("\r\n");
        rest = rest.subarray(end + 4);
        const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(lines[0])?.[1]);
        if (!status) throw new Error(`no status line: ${lines[0]}`);
        if (status >= 100 && status < 200) continue;
        const headers: Record<string, string> = {};
        for (const line of lines.slice(1)) {
            const colon = line.indexOf(":");
            if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
        return { status, headers, body: rest };
    }
}

/** One HTTP request by curl (no redirects followed); resolves with any status, rejects when curl fails. */
export function curlRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: Buffer | string; curlrc?: string } = {}): Promise<HttpResponse> {
    const method = options.method ?? "GET";
    // -I for HEAD: with -X HEAD curl would wait for a body that never comes.
    // No `-H Expect:` to skip 100-continue: curl 7.88 would sign the removed header.
    const args = ["-sS", ...(method === "HEAD" ? ["-I"] : ["-D", "-", "-X", method])];
    if (options.curlrc) args.unshift("-K", options.curlrc);
    for (const [name, value] of Object.entries(options.headers ?? {})) args.push("-H", `${name}: ${value}`);
    if (options.body !== undefined) args.push("--data-binary", "@-");
    args.push(url);
    return new Promise((resolve, reject) => {
        const child = spawn("curl", args, { env: envForS3Tools(), stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
        child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
        child.on("error", reject);
        child.on("close", (code) => {
            if (code !== 0) {
                reject(new Error(`curl ${method} ${url} failed (${code}): ${Buffer.concat(err).toString()}`));
                return;
            }
            try {
                resolve(parseCurlOutput(Buffer.concat(out)));
            } catch (error) {
                reject(error instanceof Error ? error : new Error(String(error)));
            }
        });
        // curl may close stdin first (no body to read): ignore EPIPE.
        child.stdin.on("error", () => undefined);
        child.stdin.end(options.body);
    });
}

/** An S3 request signed with SigV4 for the cluster's user; `key` "" addresses the bucket. */
export function s3Request(rgw: Pick<CephRgw, "endpoint" | "bucket" | "curlrc">, method: string, key: string, options: { query?: Record<string, string | number>; body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<HttpResponse> {
    const objectPath = key.split("/").map(awsUriEncode).join("/");
    const query = options.query ? `?${canonicalQuery(options.query)}` : "";
    return curlRequest(`${rgw.endpoint}/${rgw.bucket}${objectPath ? `/${objectPath}` : ""}${query}`, { method, body: options.body, headers: options.headers, curlrc: rgw.curlrc });
}

/** Every key under `prefix` (ListObjectsV2, following continuation tokens). */
export async function listKeys(rgw: Pick<CephRgw, "endpoint" | "bucket" | "curlrc">, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
        const query: Record<string, string> = { "list-type": "2", prefix };
        if (token) query["continuation-token"] = token;
        const response = await s3Request(rgw, "GET", "", { query });
        if (response.status !== 200) throw new Error(`ListObjectsV2 ${prefix}: ${response.status} ${response.body.toString()}`);
        const xml = response.body.toString("utf8");
        for (const match of xml.matchAll(/<Key>([^<]*)<\/Key>/g)) keys.push(unescapeXml(match[1]));
        token = /<IsTruncated>true<\/IsTruncated>/.test(xml) ? unescapeXml(/<NextContinuationToken>([^<]*)</.exec(xml)?.[1] ?? "") : undefined;
    } while (token);
    return keys;
}

export function unescapeXml(text: string): string {
    return text.replace(/&(lt|gt|quot|apos|amp);/g, (_m, name: string) => ({ lt: "<", gt: ">", quot: '"', apos: "'", amp: "&" })[name] ?? "");
}
