/**
 * RegistryBucket under Pulumi's mocks: its checks, what it registers (the RGW user's command with
 * its stdout secret and unlogged, the bucket tool's command with its environment secret), the
 * secret credentials it hands on; the RGW user script against a stand-in radosgw-admin; the bucket
 * tool's pure parts. The real thing against Ceph RGW is tests/setup/registryBucket.test.ts.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as https from "https";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    bucketNameProblem, bucketToolPath, RegistryBucket, RegistryBucketArgs, registryBucketProblems, renderRgwUserScript, rgwUserKeys,
} from "../../components/bucket";
import {
    bucketToolArguments, bucketToolEnvNames, bucketToolSettings, BucketToolError, createBucketInput, describeError, isolatedAwsEnvironment, s3ClientConfig,
} from "../../components/bucketTool";
import { PrivateRegistry } from "../../components/privateRegistry";
import { RegistryConfigError } from "../../components/validation";

interface Registered {
    type: string;
    name: string;
    parent: string;
    inputs: Record<string, any>;
    /** Top-level inputs sent as secrets. */
    secretInputs: string[];
    additionalSecretOutputs: string[];
    dependencies: string[];
}

const registered: Registered[] = [];
const userJson = (uid: string, accessKey = "RGWACCESSKEY0001", secretKey = "rgw-secret-key-0001") => JSON.stringify({
    user_id: uid,
    keys: [{ user: `${uid}:swift`, access_key: "SUBUSERKEY", secret_key: "subuser-secret" }, { user: uid, access_key: accessKey, secret_key: secretKey }],
});

beforeAll(async () => {
    await pulumi.runtime.setMocks({
        newResource: (args) => {
            const stdout = args.name.endsWith("-rgw-user") ? userJson("registry") : args.name.endsWith("-bucket") ? "created bucket" : "";
            // What the registry's other children read (a PrivateRegistry on the bucket, below).
            const pem = (label: string) => `-----BEGIN ${label}-----\nMIIB\n-----END ${label}-----\n`;
            const filler = {
                result: "password-0123456789", base64: Buffer.alloc(16, 7).toString("base64"), hex: "07".repeat(16), imageId: `sha256:${"a".repeat(64)}`,
                privateKeyPem: pem("PRIVATE KEY"), certRequestPem: pem("CERTIFICATE REQUEST"), certPem: pem("CERTIFICATE"),
            };
            return { id: args.custom ? `${args.name}-id` : undefined, state: { ...filler, ...args.inputs, stdout, stderr: "" } };
        },
        call: () => ({}),
    }, "private-registry", "test");
    const monitor: any = pulumi.runtime.getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: any) => {
        const raw = req.getObject().toJavaScript() as Record<string, unknown>;
        registered.push({
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent(),
            inputs: Object.fromEntries(Object.entries(pulumi.runtime.deserializeProperties(req.getObject())).map(([k, v]) => [k, pulumi.runtime.unwrapRpcSecret(v)])),
            secretInputs: Object.keys(raw).filter((k) => pulumi.runtime.isRpcSecret(raw[k])),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            dependencies: req.getDependenciesList(),
        });
        return register(req, callback);
    };
});

beforeEach(() => {
    registered.length = 0;
});

/** A real self-signed CA certificate, as openssl writes it. */
function caPem(): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bucket-ca-"));
    try {
        const made = spawnSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=s3 test CA", "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
        if (made.status !== 0) throw new Error("openssl req failed");
        return fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const valueOf = <T>(output: pulumi.Input<T> | undefined): Promise<T> => new Promise((resolve) => pulumi.output(output as pulumi.Input<T>).apply((v) => resolve(v as T)));
/** Lets the mock registrations of a component's children land. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

const rgw: RegistryBucketArgs = { endpoint: "http://10.0.0.5:7480", region: "us-east-1", bucket: "registry-data", rgwUser: "registry" };
const given: RegistryBucketArgs = { endpoint: "https://s3.example.com", region: "eu-west-1", bucket: "registry-data", accessKey: "AKIAGIVEN", secretKey: "given-secret" };

describe("bucket names", () => {
    it.each(["registry-data", "abc", "my.registry.1", "a".repeat(63), "1registry"])("accepts %s", (name) => expect(bucketNameProblem(name)).toBeUndefined());

    it.each([
        ["ab", /2 characters, not 3-63/],
        ["a".repeat(64), /64 characters/],
        ["Registry", /other than lower-case letters/],
        ["registry_data", /other than lower-case letters/],
        ["-registry", /begin and end with a letter or digit/],
        ["registry.", /begin and end/],
        ["my..registry", /two periods in a row/],
        ["192.168.5.4", /formatted as an IP address/],
        ["xn--registry", /begins with "xn--"/],
        ["sthree-registry", /begins with "sthree-"/],
        ["amzn-s3-demo-registry", /begins with "amzn-s3-demo-"/],
        ["registry-s3alias", /ends with "-s3alias"/],
        ["registry--ol-s3", /ends with "--ol-s3"/],
        ["registry.mrap", /ends with ".mrap"/],
        ["registry--x-s3", /ends with "--x-s3"/],
        ["registry--table-s3", /ends with "--table-s3"/],
    ])("refuses %s", (name, problem) => expect(bucketNameProblem(name)).toMatch(problem));
});

describe("argument checks", () => {
    it("accepts given keys, or an RGW user", () => {
        expect(registryBucketProblems("A", given)).toEqual([]);
        expect(registryBucketProblems("A", rgw)).toEqual([]);
        expect(registryBucketProblems("A", { ...rgw, rgwAdminCommand: "ip netns exec ns radosgw-admin -c /tmp/c/ceph.conf", hostConnection: { host: "ceph1" } })).toEqual([]);
        expect(registryBucketProblems("A", { ...given, accessKey: pulumi.secret("k"), createBucket: false, caCertPem: pulumi.output("x") })).toEqual([]);
    });

    it.each([
        [{ ...given, bucket: "Registry_Data" }, "A.bucket", /other than lower-case letters.*Fix: use 3-63 lower-case letters/],
        [{ ...given, bucket: "my..registry" }, "A.bucket", /two periods in a row/],
        [{ ...given, accessKey: undefined, secretKey: undefined }, "A.accessKey", /no credentials.*Fix: give the S3 user's accessKey and secretKey \(as secrets\), or set rgwUser/],
        [{ ...given, secretKey: "" }, "A.secretKey", /is empty, but accessKey is set\. Fix: give both keys/],
        [{ ...given, accessKey: undefined }, "A.accessKey", /is empty, but secretKey is set/],
        [{ ...given, rgwAdminCommand: "radosgw-admin" }, "A.rgwAdminCommand", /rgwUser is empty.*Fix: set rgwUser, or leave rgwAdminCommand out/],
        [{ ...given, hostConnection: { host: "ceph1" } }, "A.hostConnection", /rgwUser is empty/],
        [{ ...rgw, accessKey: "k" }, "A.accessKey", /so is rgwUser.*Fix: give either accessKey and secretKey, or rgwUser, not both/],
        [{ ...rgw, rgwUser: "tenant$user" }, "A.rgwUser", /not an RGW user ID.*Fix: use 1-64 letters/],
        [{ ...rgw, rgwUser: "-x" }, "A.rgwUser", /not an RGW user ID/],
        [{ ...rgw, endpoint: "" }, "A.endpoint", /AWS S3.*Fix: give the RADOS Gateway's URL/],
        [{ ...rgw, rgwAdminCommand: "radosgw-admin\nrm -rf /" }, "A.rgwAdminCommand", /not a one-line command/],
        [{ ...rgw, rgwAdminCommand: " " }, "A.rgwAdminCommand", /not a one-line command/],
        [{ ...given, endpoint: "ftp://s3.example.com" }, "A.endpoint", /not an http\(s\) URL/],
        [{ ...given, region: "" }, "A.region", /not a region name/],
        [{ ...given, rootDirectory: "registry" }, "A.rootDirectory", /not an absolute object prefix/],
        [{ ...given, chunkSizeMb: 4 }, "A.chunkSizeMb", /outside 5-5120/],
        [{ ...given, caCertPem: "not a pem" }, "A.caCertPem", /not a PEM certificate/],
    ])("refuses %j", (args, key, problem) => {
        const problems = registryBucketProblems("A", args);
        expect(problems).toEqual([expect.stringMatching(new RegExp(`^${key.replace(".", "\\.")}: `))]);
        expect(problems[0]).toMatch(problem);
        expect(problems[0]).toMatch(/\. Fix: /);
    });

    it("throws every problem before registering anything", async () => {
        let error: unknown;
        try {
            new RegistryBucket("bad", { endpoint: "", region: "", bucket: "B", rgwUser: "registry", accessKey: "k" });
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(RegistryConfigError);
        const problems = (error as RegistryConfigError).problems;
        expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["RegistryBucketArgs.accessKey", "RegistryBucketArgs.bucket", "RegistryBucketArgs.endpoint", "RegistryBucketArgs.region"]);
        await settle();
        expect(registered).toEqual([]);
    });
});

describe("with an RGW user the stack creates", () => {
    let bucket: RegistryBucket;
    beforeEach(async () => {
        bucket = new RegistryBucket("r", { ...rgw, rootDirectory: "/registry", rgwAdminCommand: "radosgw-admin -c /etc/ceph/x.conf" });
        await settle();
    });

    it("registers the component, the user's command and the bucket tool's command, named after it", () => {
        expect(registered.map((r) => [r.type, r.name])).toEqual([
            ["private-registry:index:RegistryBucket", "r"],
            ["command:local:Command", "r-rgw-user"],
            ["command:local:Command", "r-bucket"],
        ]);
        const urn = registered[0];
        for (const child of registered.slice(1)) expect(child.parent).toMatch(new RegExp(`::${urn.type}::r$`));
    });

    it("keeps the user's stdout (its keys) secret and out of the log and of later runs' environment; never deletes it", () => {
        const user = registered.find((r) => r.name === "r-rgw-user")!;
        expect(user.additionalSecretOutputs).toEqual(["stdout"]);
        expect(user.inputs.logging).toBe("stderr");
        expect(user.inputs.addPreviousOutputInEnv).toBe(false);
        expect(user.inputs.create).toBe(renderRgwUserScript("radosgw-admin -c /etc/ceph/x.conf", "registry"));
        expect(user.inputs.update).toBe(user.inputs.create);
        expect(user.inputs.delete).toBeUndefined();
    });

    it("runs the bucket tool with the settings as arguments and the user's keys in a secret environment; never deletes the bucket", () => {
        const tool = registered.find((r) => r.name === "r-bucket")!;
        expect(tool.inputs.create).toBe(`'node' '${bucketToolPath}' '--endpoint=http://10.0.0.5:7480' '--region=us-east-1' '--bucket=registry-data'`);
        expect(bucketToolPath).toBe(path.resolve(__dirname, "../../components/bucketTool.js"));
        expect(tool.inputs.update).toBe(tool.inputs.create);
        expect(tool.inputs.delete).toBeUndefined();
        expect(tool.secretInputs).toEqual(["environment"]);
        expect(tool.inputs.environment).toEqual({
            [bucketToolEnvNames.accessKey]: "RGWACCESSKEY0001", [bucketToolEnvNames.secretKey]: "rgw-secret-key-0001", [bucketToolEnvNames.caCertPem]: "",
        });
        expect(tool.inputs.addPreviousOutputInEnv).toBe(false);
    });

    it("hands on s3Storage with the user's own keys (not a subuser's), secret", async () => {
        const s3 = bucket.s3Storage;
        expect({ ...s3, accessKey: undefined, secretKey: undefined }).toEqual({
            endpoint: "http://10.0.0.5:7480", region: "us-east-1", bucket: "registry-data", rootDirectory: "/registry", accessKey: undefined, secretKey: undefined,
        });
        expect(await valueOf(s3.accessKey)).toBe("RGWACCESSKEY0001");
        expect(await valueOf(s3.secretKey)).toBe("rgw-secret-key-0001");
        expect(await pulumi.isSecret(pulumi.output(s3.accessKey))).toBe(true);
        expect(await pulumi.isSecret(pulumi.output(s3.secretKey))).toBe(true);
        expect(await valueOf(bucket.bucket)).toBe("registry-data");
    });
});

describe("other ways", () => {
    it("runs radosgw-admin over SSH with hostConnection, still secret and unlogged", async () => {
        new RegistryBucket("ssh", { ...rgw, hostConnection: { host: "ceph1.example.com", user: "deploy", privateKey: pulumi.secret("KEY") } });
        await settle();
        const user = registered.find((r) => r.name === "ssh-rgw-user")!;
        expect(user.type).toBe("command:remote:Command");
        expect(user.inputs.connection).toEqual(expect.objectContaining({ host: "ceph1.example.com", user: "deploy", privateKey: "KEY" }));
        expect(user.secretInputs).toContain("connection");
        expect(user.additionalSecretOutputs).toContain("stdout");
        expect(user.inputs.logging).toBe("stderr");
        // The bucket tool still runs where Pulumi runs.
        expect(registered.find((r) => r.name === "ssh-bucket")!.type).toBe("command:local:Command");
    });

    it("with given keys creates the bucket with them; the keys stay secret although given plain", async () => {
        const caCertPem = caPem();
        const b = new RegistryBucket("given", { ...given, caCertPem, redirect: true, chunkSizeMb: 32 });
        await settle();
        expect(registered.map((r) => r.name)).toEqual(["given", "given-bucket"]);
        const env = registered[1].inputs.environment;
        expect(env[bucketToolEnvNames.accessKey]).toBe("AKIAGIVEN");
        expect(env[bucketToolEnvNames.caCertPem]).toBe(caCertPem);
        expect(registered[1].secretInputs).toEqual(["environment"]);
        expect(await valueOf(b.s3Storage.secretKey)).toBe("given-secret");
        expect(await pulumi.isSecret(pulumi.output(b.s3Storage.accessKey))).toBe(true);
        expect(b.s3Storage).toEqual(expect.objectContaining({ endpoint: "https://s3.example.com", region: "eu-west-1", caCertPem, redirect: true, chunkSizeMb: 32 }));
    });

    it("with createBucket false registers nothing but itself and passes the settings on", async () => {
        const b = new RegistryBucket("existing", { ...given, createBucket: false });
        await settle();
        expect(registered.map((r) => r.name)).toEqual(["existing"]);
        expect(await valueOf(b.s3Storage.accessKey)).toBe("AKIAGIVEN");
        expect(await pulumi.isSecret(pulumi.output(b.s3Storage.secretKey))).toBe(true);
        expect(await valueOf(b.bucket)).toBe("registry-data");
    });
});

describe("a registry on the bucket", () => {
    it("takes s3Storage as it is, and its server waits for the bucket", async () => {
        const bucket = new RegistryBucket("store", rgw);
        new PrivateRegistry("reg", { hostnames: ["localhost"], users: ["admin"], s3Storage: bucket.s3Storage, maintenanceBackupSchedule: "" });
        await settle();
        const bucketUrn = `urn:pulumi:test::private-registry::private-registry:index:RegistryBucket$command:local:Command::store-bucket`;
        const waiting = registered.filter((r) => r.dependencies.includes(bucketUrn)).map((r) => r.name);
        expect(waiting).toEqual(expect.arrayContaining(["reg-server-container"]));
        expect(waiting.every((name) => name.startsWith("reg-"))).toBe(true);
    });
});

describe("the RGW user's keys", () => {
    it("are the user's own S3 key, not a subuser's", () => {
        expect(rgwUserKeys(userJson("registry", "A1", "S1"), "registry")).toEqual({ accessKey: "A1", secretKey: "S1" });
    });

    it("errors never quote radosgw-admin's output", () => {
        const leaky = `{"keys": [{"user": "other", "access_key": "A1", "secret_key": "TOPSECRET"}], "x": "TOPSECRET"`;
        expect(() => rgwUserKeys(leaky, "registry")).toThrow(/not JSON \(not shown: it holds keys\)/);
        expect(() => rgwUserKeys(leaky, "registry")).not.toThrow(/TOPSECRET/);
        expect(() => rgwUserKeys(`${leaky}}`, "registry")).toThrow(/RGW user registry has no S3 key\. Fix: give it one \(radosgw-admin key create --uid=registry/);
        expect(() => rgwUserKeys(`${leaky}}`, "registry")).not.toThrow(/TOPSECRET/);
    });
});

describe("the RGW user script, with a stand-in radosgw-admin", () => {
    let dir: string;
    let fake: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "rgw-user-script-"));
        fake = path.join(dir, "radosgw-admin");
        // Answers like radosgw-admin 16: user info fails (22) for a missing user; create refuses (17) an existing one.
        fs.writeFileSync(fake, `#!/bin/sh
state="${dir}"
echo "$*" >> "$state/calls"
[ "$1" = "-c" ] && [ "$2" = "/etc/ceph/x.conf" ] && shift 2 || { echo "no -c" >&2; exit 9; }
uid=\${3#--uid=}
case "$1 $2" in
  "user info") [ -f "$state/user-$uid" ] && { cat "$state/user-$uid"; exit 0; }; echo "could not fetch user info: no user info saved" >&2; exit 22 ;;
  "user create")
    [ -f "$state/user-$uid" ] && { echo "could not create user: user: $uid exists" >&2; exit 17; }
    [ -f "$state/fail" ] && { printf '{"keys":[{"user":"%s","secret_key":"PARTIAL' "$uid"; echo "create failed" >&2; exit 5; }
    printf '{"user_id":"%s","display_name":"%s","keys":[{"user":"%s","access_key":"AK-%s","secret_key":"SK-%s"}]}\\n' "$uid" "\${4#--display-name=}" "$uid" "$uid" "$uid" > "$state/user-$uid"
    cat "$state/user-$uid" ;;
  *) echo "unexpected: $*" >&2; exit 9 ;;
esac
`, { mode: 0o755 });
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    const run = (uid: string) => spawnSync("/bin/sh", ["-c", renderRgwUserScript(`${fake} -c /etc/ceph/x.conf`, uid)], { encoding: "utf8" });
    const calls = () => fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");

    it("creates a missing user once and prints its JSON; later runs read it back", () => {
        const first = run("reg.1@x");
        expect(first.status).toBe(0);
        expect(rgwUserKeys(first.stdout, "reg.1@x")).toEqual({ accessKey: "AK-reg.1@x", secretKey: "SK-reg.1@x" });
        expect(JSON.parse(first.stdout).display_name).toBe("Docker registry (reg.1@x)");
        const second = run("reg.1@x");
        expect(second.status).toBe(0);
        expect(second.stdout).toBe(first.stdout);
        expect(calls().filter((c) => c.includes("user create"))).toHaveLength(1);
    });

    it("prints nothing on stdout when the create fails, and fails", () => {
        fs.writeFileSync(path.join(dir, "fail"), "");
        const r = run("other");
        expect(r.status).not.toBe(0);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain("create failed");
        fs.rmSync(path.join(dir, "fail"));
    });

    it("quotes the user ID for the shell", () => {
        expect(renderRgwUserScript("radosgw-admin", "a'b")).toContain(`--uid='a'\\''b'`);
    });
});

describe("the bucket tool's settings", () => {
    const argv = bucketToolArguments({ endpoint: "http://127.0.0.1:7480", region: "us-east-1", bucket: "b1" });
    const env = { [bucketToolEnvNames.accessKey]: "AKEY", [bucketToolEnvNames.secretKey]: "SKEY-secret" };

    it("come from the arguments, the keys and the CA from the environment; missing ones are named", () => {
        expect(bucketToolSettings(argv, env)).toEqual({ endpoint: "http://127.0.0.1:7480", region: "us-east-1", bucket: "b1", accessKey: "AKEY", secretKey: "SKEY-secret", caCertPem: "" });
        expect(bucketToolSettings(bucketToolArguments({ endpoint: "", region: "eu-west-1", bucket: "b1" }), { ...env, [bucketToolEnvNames.caCertPem]: "PEM" }))
            .toEqual(expect.objectContaining({ endpoint: "", region: "eu-west-1", caCertPem: "PEM" }));
        expect(() => bucketToolSettings(["--bucket=b1"], {})).toThrow(/^--region, PRIVATE_REGISTRY_S3_ACCESS_KEY, PRIVATE_REGISTRY_S3_SECRET_KEY not given$/);
        expect(() => bucketToolSettings([...argv, "--delete"], env)).toThrow(/Unknown option '--delete'/);
    });

    it("keep the caller's AWS_* variables and shared config away from the SDK", () => {
        const isolated = isolatedAwsEnvironment({ PATH: "/bin", AWS_CA_BUNDLE: "/x.pem", AWS_ENDPOINT_URL_S3: "http://elsewhere", AWS_PROFILE: "p", [bucketToolEnvNames.accessKey]: "AKEY" });
        expect(isolated).toEqual({
            PATH: "/bin", [bucketToolEnvNames.accessKey]: "AKEY",
            AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null", AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        });
    });

    it("address a given endpoint path-style, AWS by region; a CA joins the system's", () => {
        const s = bucketToolSettings(argv, env);
        expect(s3ClientConfig(s)).toEqual(expect.objectContaining({ endpoint: "http://127.0.0.1:7480", forcePathStyle: true, region: "us-east-1", credentials: { accessKeyId: "AKEY", secretAccessKey: "SKEY-secret" } }));
        const aws = s3ClientConfig({ ...s, endpoint: "" });
        expect(aws.endpoint).toBeUndefined();
        expect(aws.forcePathStyle).toBeUndefined();
        const handler = s3ClientConfig({ ...s, caCertPem: "PEM-OF-CA" }).requestHandler as { httpsAgent: https.Agent };
        expect(handler.httpsAgent).toBeInstanceOf(https.Agent);
        const ca = handler.httpsAgent.options.ca as string[];
        expect(ca[ca.length - 1]).toBe("PEM-OF-CA");
        expect(ca.length).toBeGreaterThan(1);
        expect((s3ClientConfig(s).requestHandler as { httpsAgent?: unknown }).httpsAgent).toBeUndefined();
    });

    it("send a location constraint except for us-east-1", () => {
        expect(createBucketInput({ bucket: "b1", region: "us-east-1" })).toEqual({ Bucket: "b1" });
        expect(createBucketInput({ bucket: "b1", region: "eu-west-1" })).toEqual({ Bucket: "b1", CreateBucketConfiguration: { LocationConstraint: "eu-west-1" } });
    });

    it("describe errors in one line, naming the bucket, without the keys", () => {
        const s = bucketToolSettings(argv, env);
        const error = Object.assign(new Error("Access Key AKEY with secret SKEY-secret\nrefused"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
        expect(describeError(error, s)).toBe("bucket b1: AccessDenied (HTTP 403): Access Key [secret] with secret [secret] refused");
        expect(describeError(new BucketToolError("bucket b1 is taken"), s)).toBe("bucket b1 is taken");
        expect(describeError(new Error("connect ECONNREFUSED"), s)).toBe("bucket b1: Error: connect ECONNREFUSED");
    });

    it("the tool exits 2 naming what is missing", () => {
        const r = spawnSync(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), path.join(__dirname, "../../components/bucketTool.ts")], {
            encoding: "utf8", env: { PATH: process.env.PATH ?? "", [bucketToolEnvNames.accessKey]: "AKEY" },
        });
        expect(r.status).toBe(2);
        expect(r.stderr).toBe("bucket-tool: --region, --bucket, PRIVATE_REGISTRY_S3_SECRET_KEY not given\n");
        expect(r.stdout).toBe("");
    });
});
