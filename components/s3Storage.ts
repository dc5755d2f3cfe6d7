import type * as pulumi from "@pulumi/pulumi";
import { caCertificateProblem } from "./pullThroughCache";

/** S3 object storage for the registry's blobs and manifests (distribution's `s3` driver), instead of the data volume. */
export interface RegistryS3StorageArgs {
    /** URL of the S3 endpoint (distribution's regionendpoint; path-style URLs), e.g. https://s3.example.com or http://10.0.0.5:7480 inside a trusted network. Default: "", AWS S3 of the region. */
    readonly endpoint?: string;
    /** Region of the bucket, e.g. eu-west-1 (any name the service accepts, such as us-east-1 for Ceph). Required. */
    readonly region: string;
    /** Name of the bucket; it must exist. Required. */
    readonly bucket: string;
    /** Prefix of every object the registry writes, e.g. /registry. Default: "", the bucket's root. */
    readonly rootDirectory?: string;
    /** Access key of the S3 user (pass it as a secret). Required. */
    readonly accessKey: pulumi.Input<string>;
    /** Secret key of the S3 user (pass it as a secret). Required. */
    readonly secretKey: pulumi.Input<string>;
    /** PEM of the CA that signed the endpoint's certificate, when it is not a public one. Default: none. */
    readonly caCertPem?: pulumi.Input<string>;
    /** Answer blob GETs with a redirect to a presigned S3 URL, so clients download from S3 directly and must reach it. Default: false, blobs stream through the registry. */
    readonly redirect?: boolean;
    /** Size of each part of a multipart upload, in MiB (5-5120). Default: 10. */
    readonly chunkSizeMb?: number;
}

/** The S3 settings with the credentials resolved, as {@link s3StorageConfigSections} renders them. */
export interface ResolvedS3Storage {
    /** S3 endpoint URL, or "" for AWS. */
    readonly endpoint?: string;
    /** Region. */
    readonly region: string;
    /** Bucket. */
    readonly bucket: string;
    /** Object prefix. */
    readonly rootDirectory?: string;
    /** Access key. */
    readonly accessKey: string;
    /** Secret key. */
    readonly secretKey: string;
    /** Redirect blob GETs to S3. */
    readonly redirect?: boolean;
    /** Multipart part size, MiB. */
    readonly chunkSizeMb?: number;
}

/** Default multipart part size, MiB: two requests per 20 MiB layer, and S3's 10,000-part limit still allows 97 GiB blobs. */
export const defaultS3ChunkSizeMb = 10;

/** Directory in the config volume that holds the S3 endpoint's CA. */
export const storageCaDirName = "storage-ca";

/**
 * The storage keys for S3: the driver section, and `redirect` beside it. Path-style URLs come from
 * setting regionendpoint (distribution 2.8 has no forcepathstyle).
 */
export function s3StorageConfigSections(s3: ResolvedS3Storage): Record<string, unknown> {
    const endpoint = s3.endpoint ?? "";
    return {
        s3: {
            region: s3.region,
            bucket: s3.bucket,
            ...(endpoint !== "" ? { regionendpoint: endpoint } : {}),
            ...(s3.rootDirectory ? { rootdirectory: s3.rootDirectory } : {}),
            accesskey: s3.accessKey,
            secretkey: s3.secretKey,
            secure: endpoint === "" || endpoint.startsWith("https:"),
            v4auth: true,
            chunksize: (s3.chunkSizeMb ?? defaultS3ChunkSizeMb) * 1024 * 1024,
        },
        redirect: { disable: !(s3.redirect ?? false) },
    };
}

const bucketName = /^(?!\d+\.\d+\.\d+\.\d+$)(?!xn--)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Problems of S3 storage settings, each `[field, problem, fix]`, fields like `s3Storage.bucket`. */
export function s3StorageProblems(s3: RegistryS3StorageArgs | undefined): [string, string, string][] {
    if (!s3) return [];
    const problems: [string, string, string][] = [];
    const endpoint = s3.endpoint ?? "";
    if (endpoint !== "") {
        let url: URL | undefined;
        try {
            url = new URL(endpoint);
        } catch {
            url = undefined;
        }
        if (!url || !["http:", "https:"].includes(url.protocol)) {
            problems.push(["s3Storage.endpoint", `"${endpoint}" is not an http(s) URL`, "use the endpoint's base URL, e.g. https://s3.example.com"]);
        } else if (url.username !== "" || url.password !== "") {
            problems.push(["s3Storage.endpoint", "the URL carries credentials", "give them as accessKey and secretKey (secrets)"]);
        } else if ((url.pathname !== "/" && url.pathname !== "") || url.search !== "" || url.hash !== "") {
            problems.push(["s3Storage.endpoint", `"${endpoint}" has a path, query or fragment`, `use ${url.protocol}//${url.host}; the bucket goes in bucket`]);
        }
    }
    if (!/^[a-z0-9-]{2,32}$/.test(s3.region ?? "")) {
        problems.push(["s3Storage.region", `"${s3.region ?? ""}" is not a region name`, "give the bucket's region, e.g. eu-west-1 (us-east-1 for Ceph's default zone group)"]);
    }
    if (!bucketName.test(s3.bucket ?? "")) {
        problems.push(["s3Storage.bucket", `"${s3.bucket ?? ""}" is not an S3 bucket name`, "use 3-63 lower-case letters, digits, '.' and '-', e.g. registry-data"]);
    }
    if (s3.rootDirectory && !/^\/[A-Za-z0-9._/-]*$/.test(s3.rootDirectory)) {
        problems.push(["s3Storage.rootDirectory", `"${s3.rootDirectory}" is not an absolute object prefix`, "start it with '/', e.g. /registry, or leave it empty"]);
    }
    for (const field of ["accessKey", "secretKey"] as const) {
        if (s3[field] === undefined || s3[field] === "") problems.push([`s3Storage.${field}`, "is empty", `give the S3 user's ${field === "accessKey" ? "access key" : "secret key"} as a secret`]);
    }
    const chunk = s3.chunkSizeMb ?? defaultS3ChunkSizeMb;
    if (!Number.isInteger(chunk) || chunk < 5 || chunk > 5120) {
        problems.push(["s3Storage.chunkSizeMb", `${chunk} is outside 5-5120 (S3's part sizes)`, `use ${defaultS3ChunkSizeMb}`]);
    }
    if (typeof s3.caCertPem === "string" && s3.caCertPem !== "") {
        const problem = caCertificateProblem(s3.caCertPem);
        if (problem) problems.push(["s3Storage.caCertPem", problem, "give the PEM of the CA that signed the endpoint's certificate"]);
    }
    return problems;
}

/** The stack's S3 keys (the credentials are the secret keys s3AccessKey and s3SecretKey). */
export interface S3StorageStackConfig {
    /** storageBackend: "filesystem" or "s3". */
    readonly storageBackend: string;
    /** s3Endpoint. */
    readonly s3Endpoint: string;
    /** s3Region. */
    readonly s3Region: string;
    /** s3Bucket. */
    readonly s3Bucket: string;
    /** s3RootDirectory. */
    readonly s3RootDirectory: string;
    /** s3Redirect. */
    readonly s3Redirect: boolean;
    /** s3ChunkSizeMb. */
    readonly s3ChunkSizeMb: number;
    /** s3CaCertPem. */
    readonly s3CaCertPem: string;
}

/** The storage backends a registry can use. */
export const storageBackends = ["filesystem", "s3"] as const;

/** S3 storage from the stack config; its credentials are plain (to be checked) or secret outputs (to be used). */
export interface StackS3Storage<C> extends Omit<RegistryS3StorageArgs, "accessKey" | "secretKey"> {
    /** The access key. */
    readonly accessKey: C;
    /** The secret key. */
    readonly secretKey: C;
}

/** S3 storage from the stack config, or undefined for the data volume. */
export function stackS3Storage<C>(c: S3StorageStackConfig, accessKey: C, secretKey: C): StackS3Storage<C> | undefined {
    if (c.storageBackend !== "s3") return undefined;
    return {
        endpoint: c.s3Endpoint, region: c.s3Region, bucket: c.s3Bucket, rootDirectory: c.s3RootDirectory,
        accessKey, secretKey, redirect: c.s3Redirect, chunkSizeMb: c.s3ChunkSizeMb,
        ...(c.s3CaCertPem === "" ? {} : { caCertPem: c.s3CaCertPem }),
    };
}

const s3StackKeyOf: Record<string, string> = {
    "s3Storage.endpoint": "s3Endpoint", "s3Storage.region": "s3Region", "s3Storage.bucket": "s3Bucket",
    "s3Storage.rootDirectory": "s3RootDirectory", "s3Storage.accessKey": "s3AccessKey", "s3Storage.secretKey": "s3SecretKey",
    "s3Storage.chunkSizeMb": "s3ChunkSizeMb", "s3Storage.caCertPem": "s3CaCertPem",
};

/**
 * Checks the stack's storage keys: a known backend; with s3, every S3 setting and both
 * credentials, set as secrets (`isSecret` says which keys are); with the data volume, none.
 */
export function s3StorageStackConfigProblems(
    c: S3StorageStackConfig, credentials: { s3AccessKey?: string; s3SecretKey?: string }, isSecret: (key: string) => boolean, key: (field: string) => string,
): string[] {
    if (!(storageBackends as readonly string[]).includes(c.storageBackend)) {
        return [`${key("storageBackend")}: "${c.storageBackend}" is not one of ${storageBackends.join(", ")}. Fix: pulumi config set ${key("storageBackend")} filesystem`];
    }
    const s3 = stackS3Storage(c, credentials.s3AccessKey ?? "", credentials.s3SecretKey ?? "");
    if (!s3) {
        const stray = [...(["s3Endpoint", "s3Region", "s3Bucket", "s3RootDirectory", "s3CaCertPem"] as const).filter((k) => c[k] !== ""),
            ...(["s3AccessKey", "s3SecretKey"] as const).filter((k) => credentials[k] !== undefined)];
        return stray.map((k) => `${key(k)}: is set, but storageBackend is filesystem, so the registry keeps its data in the volume. Fix: pulumi config set ${key("storageBackend")} s3, or pulumi config rm ${key(k)}`);
    }
    const problems = s3StorageProblems(s3).map(([field, problem, fix]) => `${key(s3StackKeyOf[field] ?? field)}: ${problem}. Fix: ${fix}`);
    for (const k of ["s3AccessKey", "s3SecretKey"] as const) {
        if (credentials[k] !== undefined && !isSecret(k)) {
            problems.push(`${key(k)}: is stored in plain text. Fix: pulumi config set --secret ${key(k)} <value>`);
        }
    }
    return problems;
}

/** Backups copy the data volume, which is empty when the data is in S3: scheduling them there is a mistake. */
export function objectStorageMaintenanceProblems(maintenanceEnabled: boolean, backupSchedule: string, key: (field: string) => string): string[] {
    if (!maintenanceEnabled || backupSchedule.trim() === "") return [];
    return [`${key("maintenanceBackupSchedule")}: is set, but the registry keeps its data in S3, which the maintenance backup does not copy. Fix: pulumi config set ${key("maintenanceBackupSchedule")} "" and back up the bucket with the object store's own tools (versioning, replication)`];
}
