import * as path from "path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { bucketToolArguments, bucketToolEnvNames } from "./bucketTool";
import type { FirewallConnectionArgs } from "./firewall";
import { RegistryS3StorageArgs, s3StorageProblems } from "./s3Storage";
import { RegistryConfigError } from "./validation";

/** Arguments of {@link RegistryBucket}. */
export interface RegistryBucketArgs {
    /** URL of the S3 endpoint (path-style requests), e.g. https://s3.example.com or http://10.0.0.5:7480 inside a trusted network. Default: "", AWS S3 of the region. */
    readonly endpoint?: string;
    /** Region of the bucket, e.g. eu-west-1 (us-east-1 for Ceph RGW's default zone group). Required. */
    readonly region: string;
    /** Name of the bucket, by S3's naming rules: 3-63 lower-case letters, digits, '.' and '-'. Required. */
    readonly bucket: string;
    /** Prefix of every object the registry writes, e.g. /registry. Default: "", the bucket's root. */
    readonly rootDirectory?: string;
    /** PEM of the CA that signed the endpoint's certificate, when it is not a public one. Default: none, the system's CAs. */
    readonly caCertPem?: pulumi.Input<string>;
    /** Answer blob GETs with a redirect to a presigned S3 URL, so clients download from S3 directly and must reach it. Default: false, blobs stream through the registry. */
    readonly redirect?: boolean;
    /** Size of each part of a multipart upload, in MiB (5-5120). Default: 10. */
    readonly chunkSizeMb?: number;
    /**
     * Create the bucket when it is missing, from the machine running Pulumi (which must reach the
     * endpoint); a bucket that exists is left as it is. The bucket is never deleted, not by destroy
     * either: it holds the registry's images. With false nothing talks to S3 and the bucket must
     * exist. Default: true.
     */
    readonly createBucket?: boolean;
    /** Access key of an existing S3 user (pass it as a secret); give it with secretKey, or set rgwUser instead. Default: none. */
    readonly accessKey?: pulumi.Input<string>;
    /** Secret key of that S3 user (pass it as a secret); give it with accessKey, or set rgwUser instead. Default: none. */
    readonly secretKey?: pulumi.Input<string>;
    /**
     * User ID of a Ceph RGW user the stack makes and uses instead of accessKey and secretKey:
     * radosgw-admin creates it unless it exists, and its S3 keys are read back (kept secret).
     * Destroy leaves the user. Default: "", none.
     */
    readonly rgwUser?: string;
    /** Command that runs radosgw-admin on the Ceph host, its arguments appended, e.g. "sudo radosgw-admin" or "radosgw-admin -c /etc/ceph/site.conf"; only with rgwUser. Default: "radosgw-admin". */
    readonly rgwAdminCommand?: string;
    /** SSH connection to the Ceph host radosgw-admin runs on; only with rgwUser. Default: none, the machine running Pulumi. */
    readonly hostConnection?: FirewallConnectionArgs;
}

/** Default command that runs radosgw-admin. */
export const defaultRgwAdminCommand = "radosgw-admin";

/** The compiled bucket tool, shipped beside this file. */
export const bucketToolPath = path.join(__dirname, "bucketTool.js");

/**
 * What is wrong with an S3 bucket name, by S3's rules for general purpose buckets (which Ceph
 * and the other S3 services accept too); undefined when nothing is.
 */
export function bucketNameProblem(name: string): string | undefined {
    if (name.length < 3 || name.length > 63) return `"${name}" has ${name.length} characters, not 3-63`;
    if (!/^[a-z0-9.-]+$/.test(name)) return `"${name}" has characters other than lower-case letters, digits, '.' and '-'`;
    if (!/^[a-z0-9].*[a-z0-9]$/.test(name)) return `"${name}" does not begin and end with a letter or digit`;
    if (name.includes("..")) return `"${name}" has two periods in a row`;
    if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return `"${name}" is formatted as an IP address`;
    const prefix = ["xn--", "sthree-", "amzn-s3-demo-"].find((p) => name.startsWith(p));
    if (prefix) return `"${name}" begins with "${prefix}", which S3 reserves`;
    const suffix = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"].find((s) => name.endsWith(s));
    if (suffix) return `"${name}" ends with "${suffix}", which S3 reserves`;
    return undefined;
}

const rgwUid = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;

/** Whether an optional Input was given at all ("" counts as not given). */
const given = (value: pulumi.Input<string> | undefined): boolean => value !== undefined && value !== "";

/**
 * Problems of a RegistryBucket's arguments, as messages naming `<argsName>.<field>` and the fix;
 * the component checks them before it registers anything.
 */
export function registryBucketProblems(argsName: string, args: RegistryBucketArgs): string[] {
    const problems: [string, string, string][] = [];
    // The settings it shares with the registry's S3 storage; the credentials are checked below.
    for (const [field, problem, fix] of s3StorageProblems({ ...args, accessKey: "-", secretKey: "-" })) {
        if (field !== "s3Storage.bucket") problems.push([field.replace(/^s3Storage\./, ""), problem, fix]);
    }
    const nameProblem = bucketNameProblem(args.bucket ?? "");
    if (nameProblem) problems.push(["bucket", nameProblem, "use 3-63 lower-case letters, digits, '.' and '-', beginning and ending with a letter or digit, e.g. registry-data"]);

    const rgwUser = args.rgwUser ?? "";
    const keysGiven = [given(args.accessKey), given(args.secretKey)];
    if (rgwUser === "") {
        if (!keysGiven[0] && !keysGiven[1]) {
            problems.push(["accessKey", "no credentials: neither accessKey and secretKey nor rgwUser is set", "give the S3 user's accessKey and secretKey (as secrets), or set rgwUser to have the stack create a Ceph RGW user"]);
        } else if (!keysGiven[0] || !keysGiven[1]) {
            const [missing, other] = keysGiven[0] ? ["secretKey", "accessKey"] : ["accessKey", "secretKey"];
            problems.push([missing, `is empty, but ${other} is set`, `give both keys of the S3 user (as secrets)`]);
        }
        for (const field of ["rgwAdminCommand", "hostConnection"] as const) {
            if (args[field] !== undefined) problems.push([field, "is set, but rgwUser is empty, and it only serves creating the RGW user", `set rgwUser, or leave ${field} out`]);
        }
    } else {
        if (!rgwUid.test(rgwUser)) {
            problems.push(["rgwUser", `"${rgwUser}" is not an RGW user ID this component creates`, "use 1-64 letters, digits, '_', '.', '@' and '-', beginning with a letter or digit, e.g. registry"]);
        }
        if (keysGiven[0] || keysGiven[1]) {
            problems.push([keysGiven[0] ? "accessKey" : "secretKey", "is set, but so is rgwUser, whose keys the stack reads", "give either accessKey and secretKey, or rgwUser, not both"]);
        }
        if ((args.endpoint ?? "") === "") {
            problems.push(["endpoint", "is empty (AWS S3), but rgwUser makes a Ceph RGW user", "give the RADOS Gateway's URL, e.g. https://rgw.example.com"]);
        }
        const admin = args.rgwAdminCommand ?? defaultRgwAdminCommand;
        if (admin.trim() === "" || /[\r\n]/.test(admin)) {
            problems.push(["rgwAdminCommand", "is not a one-line command", `give the command that runs radosgw-admin, e.g. "${defaultRgwAdminCommand}" or "sudo radosgw-admin -c /etc/ceph/ceph.conf"`]);
        }
    }
    return problems.map(([field, problem, fix]) => `${argsName}.${field}: ${problem}. Fix: ${fix}`);
}

/** The stack's keys for the bucket (the credentials are the secret keys s3AccessKey and s3SecretKey). */
export interface BucketStackConfig {
    /** storageBackend. */
    readonly storageBackend: string;
    /** s3Endpoint. */
    readonly s3Endpoint: string;
    /** s3Region. */
    readonly s3Region: string;
    /** s3Bucket. */
    readonly s3Bucket: string;
    /** s3CreateBucket. */
    readonly s3CreateBucket: boolean;
    /** s3RgwUser. */
    readonly s3RgwUser: string;
    /** s3RgwAdminCommand. */
    readonly s3RgwAdminCommand: string;
}

/** Whether the stack makes the bucket or its RGW user with {@link RegistryBucket}. */
export function stackUsesRegistryBucket(c: BucketStackConfig): boolean {
    return c.storageBackend === "s3" && (c.s3CreateBucket || c.s3RgwUser !== "");
}

const bucketStackKeyOf: Record<string, string> = {
    endpoint: "s3Endpoint", bucket: "s3Bucket", rgwUser: "s3RgwUser", rgwAdminCommand: "s3RgwAdminCommand", accessKey: "s3AccessKey", secretKey: "s3SecretKey",
};

/**
 * Checks the stack's bucket keys, naming them: none set without S3; with s3RgwUser, no keys of
 * its own; and what RegistryBucket checks of the user, its admin command and the bucket's name.
 * The other S3 keys are s3StorageStackConfigProblems' business.
 */
export function bucketStackConfigProblems(c: BucketStackConfig, credentials: { s3AccessKey?: string; s3SecretKey?: string }, key: (field: string) => string): string[] {
    if (c.storageBackend !== "s3") {
        const stray = [...(c.s3CreateBucket ? ["s3CreateBucket"] : []), ...(c.s3RgwUser !== "" ? ["s3RgwUser"] : [])];
        return stray.map((k) => `${key(k)}: is set, but storageBackend is ${c.storageBackend}, so there is no bucket. Fix: pulumi config set ${key("storageBackend")} s3, or pulumi config rm ${key(k)}`);
    }
    if (!stackUsesRegistryBucket(c)) return [];
    const problems = registryBucketProblems("", {
        endpoint: c.s3Endpoint, region: c.s3Region, bucket: c.s3Bucket, createBucket: c.s3CreateBucket,
        ...(c.s3RgwUser !== "" ? { rgwUser: c.s3RgwUser, rgwAdminCommand: c.s3RgwAdminCommand } : {}),
        accessKey: credentials.s3AccessKey, secretKey: credentials.s3SecretKey,
    });
    // Only the fields this component adds to the S3 checks, under their stack keys.
    return problems.flatMap((p) => {
        const [, field, rest] = /^\.(\w+): ([\s\S]*)$/.exec(p) ?? [];
        const stackKey = bucketStackKeyOf[field];
        if (stackKey === undefined || (field === "endpoint" && c.s3RgwUser === "")) return [];
        return [`${key(stackKey)}: ${rest.replace(/\brgwUser\b/g, key("s3RgwUser")).replace(/\baccessKey and secretKey\b/g, `${key("s3AccessKey")} and ${key("s3SecretKey")}`)}`];
    });
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The script that makes the RGW user unless it exists and prints its JSON (with its keys) on
 * stdout, only once it has all of it: on a failure stdout is empty, since the command's error
 * message carries its output.
 */
export function renderRgwUserScript(adminCommand: string, uid: string): string {
    return [
        `rgw_admin() { ${adminCommand} "$@"; }`,
        `if info="$(rgw_admin user info --uid=${shellQuote(uid)} 2>/dev/null)"; then :; else`,
        `  info="$(rgw_admin user create --uid=${shellQuote(uid)} --display-name=${shellQuote(`Docker registry (${uid})`)})" || exit 1`,
        "fi",
        `printf '%s\\n' "$info"`,
    ].join("\n");
}

/** An S3 user's keys. */
export interface S3UserKeys {
    /** Access key. */
    readonly accessKey: string;
    /** Secret key. */
    readonly secretKey: string;
}

/** The user's own S3 keys from radosgw-admin's JSON; an error never quotes that output, which holds them. */
export function rgwUserKeys(userJson: string, uid: string): S3UserKeys {
    let info: { keys?: { user?: string; access_key?: string; secret_key?: string }[] };
    try {
        info = JSON.parse(userJson) as typeof info;
    } catch {
        throw new Error(`radosgw-admin's answer about RGW user ${uid} is not JSON (not shown: it holds keys)`);
    }
    const key = (info.keys ?? []).find((k) => k.user === uid && k.access_key && k.secret_key);
    if (!key) {
        throw new Error(`RGW user ${uid} has no S3 key. Fix: give it one (radosgw-admin key create --uid=${uid} --key-type=s3 --gen-access-key --gen-secret), or use another rgwUser`);
    }
    return { accessKey: key.access_key!, secretKey: key.secret_key! };
}

/**
 * The registry's S3 bucket: created when missing (never deleted: it holds the images), with the
 * credentials given, or with those of a Ceph RGW user the stack creates. Its `s3Storage` goes
 * straight into PrivateRegistry's or RegistryServer's `s3Storage`.
 */
export class RegistryBucket extends pulumi.ComponentResource {
    /** Name of the bucket, once it exists. */
    public readonly bucket: pulumi.Output<string>;
    /** The registry's S3 storage settings, credentials secret; they resolve once the bucket exists. */
    public readonly s3Storage: RegistryS3StorageArgs;

    constructor(name: string, args: RegistryBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        // Before anything is registered, so bad input creates nothing.
        const problems = registryBucketProblems("RegistryBucketArgs", args);
        if (problems.length > 0) throw new RegistryConfigError(problems);
        super("private-registry:index:RegistryBucket", name, {}, opts);

        const endpoint = args.endpoint ?? "";
        let keys: pulumi.Output<S3UserKeys>;
        if (args.rgwUser) {
            const uid = args.rgwUser;
            const script = renderRgwUserScript(args.rgwAdminCommand ?? defaultRgwAdminCommand, uid);
            // stdout holds the keys: secret, never logged, and not handed to later runs' environment.
            const commandArgs = { create: script, update: script, logging: "stderr" as const, addPreviousOutputInEnv: false };
            const commandOpts = { parent: this, additionalSecretOutputs: ["stdout"] };
            const user = args.hostConnection !== undefined
                ? new command.remote.Command(`${name}-rgw-user`, { ...commandArgs, connection: args.hostConnection }, commandOpts)
                : new command.local.Command(`${name}-rgw-user`, commandArgs, commandOpts);
            keys = pulumi.secret(user.stdout.apply((stdout) => rgwUserKeys(stdout, uid)));
        } else {
            keys = pulumi.secret(pulumi.all([args.accessKey!, args.secretKey!]).apply(([accessKey, secretKey]) => ({ accessKey, secretKey })));
        }

        let ready: pulumi.Output<string> = pulumi.output("");
        if (args.createBucket ?? true) {
            // The keys (and the CA) in a secret environment; the rest readable in the command.
            const environment = pulumi.secret(pulumi.all([keys, args.caCertPem ?? ""]).apply(([k, caCertPem]) => ({
                [bucketToolEnvNames.accessKey]: k.accessKey,
                [bucketToolEnvNames.secretKey]: k.secretKey,
                [bucketToolEnvNames.caCertPem]: caCertPem,
            })));
            const tool = ["node", bucketToolPath, ...bucketToolArguments({ endpoint, region: args.region, bucket: args.bucket })].map(shellQuote).join(" ");
            // No delete command: destroy leaves the bucket and every image in it.
            const created = new command.local.Command(`${name}-bucket`, {
                create: tool, update: tool, environment, addPreviousOutputInEnv: false,
            }, { parent: this });
            ready = created.stdout;
        }

        // The credentials resolve after the bucket exists, so a registry given them starts after it.
        const afterBucket = (value: (k: S3UserKeys) => string): pulumi.Output<string> => pulumi.secret(pulumi.all([keys, ready]).apply(([k]) => value(k)));
        this.bucket = ready.apply(() => args.bucket);
        this.s3Storage = {
            endpoint,
            region: args.region,
            bucket: args.bucket,
            rootDirectory: args.rootDirectory ?? "",
            accessKey: afterBucket((k) => k.accessKey),
            secretKey: afterBucket((k) => k.secretKey),
            ...(args.caCertPem !== undefined ? { caCertPem: args.caCertPem } : {}),
            ...(args.redirect !== undefined ? { redirect: args.redirect } : {}),
            ...(args.chunkSizeMb !== undefined ? { chunkSizeMb: args.chunkSizeMb } : {}),
        };
        this.registerOutputs({ bucket: this.bucket, s3Storage: this.s3Storage });
    }
}
