/**
 * Makes sure the registry's bucket exists: HeadBucket, then CreateBucket when it is missing.
 * RegistryBucket runs it on the machine running Pulumi (`node bucketTool.js --endpoint=… --region=…
 * --bucket=…`, by a command), with the S3 user's keys in the environment. It never deletes anything.
 */
import * as https from "https";
import * as tls from "tls";
import { parseArgs } from "util";
// Types only here: the library imports this file for its names, and should not load the SDK with them.
import type { CreateBucketCommandInput, S3Client, S3ClientConfig } from "@aws-sdk/client-s3";

const loadSdk = () => import("@aws-sdk/client-s3");

/** The environment variables the tool reads the keys (and the CA) from; the rest comes as arguments. */
export const bucketToolEnvNames = {
    accessKey: "PRIVATE_REGISTRY_S3_ACCESS_KEY",
    secretKey: "PRIVATE_REGISTRY_S3_SECRET_KEY",
    caCertPem: "PRIVATE_REGISTRY_S3_CA_CERT_PEM",
} as const;

/** What the tool works with. */
export interface BucketToolSettings {
    /** S3 endpoint URL; "" for AWS S3 of the region. */
    readonly endpoint: string;
    /** Region. */
    readonly region: string;
    /** Bucket name. */
    readonly bucket: string;
    /** Access key. */
    readonly accessKey: string;
    /** Secret key. */
    readonly secretKey: string;
    /** PEM of the CA that signed the endpoint's certificate; "" for the system's CAs. */
    readonly caCertPem: string;
}

/** The tool's arguments for the settings that are not secret: `--endpoint=URL --region=R --bucket=B`. */
export function bucketToolArguments(s: Pick<BucketToolSettings, "endpoint" | "region" | "bucket">): string[] {
    return [`--endpoint=${s.endpoint}`, `--region=${s.region}`, `--bucket=${s.bucket}`];
}

/** Reads the settings from the arguments and the environment; throws naming everything missing. */
export function bucketToolSettings(argv: string[], env: NodeJS.ProcessEnv): BucketToolSettings {
    const { values } = parseArgs({
        args: argv, strict: true, allowPositionals: false,
        options: { endpoint: { type: "string", default: "" }, region: { type: "string", default: "" }, bucket: { type: "string", default: "" } },
    });
    const secret = (field: keyof typeof bucketToolEnvNames): string => env[bucketToolEnvNames[field]] ?? "";
    const missing = [
        ...(["region", "bucket"] as const).filter((f) => values[f] === "").map((f) => `--${f}`),
        ...(["accessKey", "secretKey"] as const).filter((f) => secret(f) === "").map((f) => bucketToolEnvNames[f]),
    ];
    if (missing.length > 0) throw new Error(`${missing.join(", ")} not given`);
    return {
        endpoint: values.endpoint, region: values.region, bucket: values.bucket,
        accessKey: secret("accessKey"), secretKey: secret("secretKey"), caCertPem: secret("caCertPem"),
    };
}

/**
 * The tool's environment for the SDK: no AWS_* variable of the caller's (they could name another
 * endpoint, profile or CA bundle) and no shared config or credentials file, so the endpoint, region
 * and keys it was given are all the SDK goes by.
 */
export function isolatedAwsEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
    return {
        ...Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith("AWS_"))),
        AWS_CONFIG_FILE: "/dev/null",
        AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
        // Node 20 is supported here; the SDK's notice about its future releases is noise in pulumi up.
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
}

/** The S3 client's configuration: path-style requests to a given endpoint, trusting its CA. */
export function s3ClientConfig(s: BucketToolSettings): S3ClientConfig {
    const timeouts = { connectionTimeout: 10_000, requestTimeout: 30_000 };
    return {
        region: s.region,
        credentials: { accessKeyId: s.accessKey, secretAccessKey: s.secretKey },
        ...(s.endpoint !== "" ? { endpoint: s.endpoint, forcePathStyle: true } : {}),
        ignoreConfiguredEndpointUrls: true,
        // Other S3 services may not know AWS's newer checksum headers; no request here needs one.
        requestChecksumCalculation: "WHEN_REQUIRED",
        responseChecksumValidation: "WHEN_REQUIRED",
        requestHandler: s.caCertPem !== ""
            // The system's CAs and the endpoint's own, as the registry trusts them.
            ? { ...timeouts, httpsAgent: new https.Agent({ ca: [...tls.rootCertificates, s.caCertPem] }) }
            : timeouts,
    };
}

/** CreateBucket's input: us-east-1 (AWS's default, and Ceph's usual name) takes no location constraint. */
export function createBucketInput(s: Pick<BucketToolSettings, "bucket" | "region">): CreateBucketCommandInput {
    return s.region === "us-east-1"
        ? { Bucket: s.bucket }
        : { Bucket: s.bucket, CreateBucketConfiguration: { LocationConstraint: s.region as never } };
}

/** The HTTP status of an S3 error, when it has one. */
function statusOf(error: unknown): number | undefined {
    return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** Thrown for a bucket the tool must not or cannot use, with what to do about it. */
export class BucketToolError extends Error {}

/** Error codes S3 answers a request with when its keys are wrong. */
const badKeyCodes = ["InvalidAccessKeyId", "SignatureDoesNotMatch"];

/**
 * Why HeadBucket was forbidden: it answers 403 without a body, for wrong keys as for a bucket of
 * another owner; ListBuckets says which (its error has a code).
 */
async function forbiddenReason(client: S3Client, s: BucketToolSettings): Promise<string> {
    const { ListBucketsCommand } = await loadSdk();
    try {
        await client.send(new ListBucketsCommand({}));
    } catch (error) {
        const name = (error as { name?: string }).name ?? "";
        if (badKeyCodes.includes(name)) return `the S3 service does not accept these keys (${name}). Give the access key and secret key of the S3 user`;
    }
    return `bucket ${s.bucket} exists but this S3 user may not use it (403 Forbidden): it belongs to another user or account, or the user's policy does not allow it. Give the keys of a user that owns it, or another bucket name`;
}

/**
 * Creates the bucket unless it exists; says which. A bucket that exists is left as it is.
 */
export async function ensureBucket(client: S3Client, s: BucketToolSettings): Promise<"created" | "exists"> {
    const { CreateBucketCommand, HeadBucketCommand } = await loadSdk();
    try {
        await client.send(new HeadBucketCommand({ Bucket: s.bucket }));
        return "exists";
    } catch (error) {
        const status = statusOf(error);
        if (status === 403) throw new BucketToolError(await forbiddenReason(client, s));
        if (status === 301) {
            throw new BucketToolError(`bucket ${s.bucket} is not in region ${s.region} (301 Moved Permanently). Give the bucket's own region`);
        }
        if (status !== 404) throw error;
    }
    try {
        await client.send(new CreateBucketCommand(createBucketInput(s)));
        return "created";
    } catch (error) {
        const name = (error as { name?: string }).name;
        if (name === "BucketAlreadyOwnedByYou") return "exists";
        if (name === "BucketAlreadyExists") {
            throw new BucketToolError(`bucket name ${s.bucket} is taken by another user or account. Choose another bucket name`);
        }
        if (name === "InvalidLocationConstraint") {
            throw new BucketToolError(`the S3 service does not serve region ${s.region} (InvalidLocationConstraint). Give the region it serves (Ceph RGW: us-east-1, or its zone group's api_name)`);
        }
        throw error;
    }
}

/** An error as one line for the log, naming the bucket, without the keys. */
export function describeError(error: unknown, s: Pick<BucketToolSettings, "bucket" | "accessKey" | "secretKey">): string {
    let text: string;
    if (error instanceof BucketToolError) text = error.message;
    else if (statusOf(error) !== undefined) text = `bucket ${s.bucket}: ${(error as Error).name} (HTTP ${statusOf(error)}): ${(error as Error).message}`;
    else text = `bucket ${s.bucket}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
    for (const secret of [s.secretKey, s.accessKey]) {
        if (secret.length >= 4) text = text.split(secret).join("[secret]");
    }
    return text.replace(/\s+/g, " ").trim();
}

async function main(): Promise<number> {
    let settings: BucketToolSettings;
    try {
        settings = bucketToolSettings(process.argv.slice(2), process.env);
    } catch (error) {
        process.stderr.write(`bucket-tool: ${(error as Error).message}\n`);
        return 2;
    }
    // In place: the SDK reads process.env itself.
    const isolated = isolatedAwsEnvironment(process.env);
    for (const name of Object.keys(process.env)) if (!(name in isolated)) delete process.env[name];
    Object.assign(process.env, isolated);
    const { S3Client } = await loadSdk();
    const client = new S3Client(s3ClientConfig(settings));
    try {
        const what = await ensureBucket(client, settings);
        const where = settings.endpoint === "" ? `AWS S3 ${settings.region}` : settings.endpoint;
        process.stdout.write(what === "created" ? `created bucket ${settings.bucket} on ${where}\n` : `bucket ${settings.bucket} exists on ${where}; left as it is\n`);
        return 0;
    } catch (error) {
        process.stderr.write(`bucket-tool: ${describeError(error, settings)}\n`);
        return 1;
    } finally {
        client.destroy();
    }
}

if (require.main === module) {
    void main().then((code) => { process.exitCode = code; });
}
