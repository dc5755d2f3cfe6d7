/**
 * ReplicatedRegistry's own checks (where replicas and Redis run) and, under Pulumi's mocks, what
 * it declares for replicas on other Docker hosts; the stack's bucket keys. The replicated stack as a
 * whole is in program.test.ts, and for real in tests/e2e/replicated.e2e.test.ts.
 */
import * as pulumi from "@pulumi/pulumi";
import * as YAML from "yaml";
import { bucketStackConfigProblems, BucketStackConfig } from "../../components/bucket";
import { ReplicatedRegistry, ReplicatedRegistryArgs, replicatedRegistryProblems } from "../../components/replicatedRegistry";
import { recordRegistrations, Registration } from "./support/registrations";

const registered: Registration[] = [];

beforeAll(async () => {
    const pem = (label: string) => `-----BEGIN ${label}-----\nMIIB\n-----END ${label}-----\n`;
    // What the registry's children read of their dependencies.
    await recordRegistrations(registered, () => ({
        result: "password0123456789abcdef", base64: Buffer.alloc(16, 7).toString("base64"), hex: "07".repeat(16), imageId: `sha256:${"a".repeat(64)}`,
        privateKeyPem: pem("PRIVATE KEY"), certRequestPem: pem("CERTIFICATE REQUEST"), certPem: pem("CERTIFICATE"),
    }));
});

const s3Storage = { endpoint: "http://10.0.0.5:7480", region: "us-east-1", bucket: "registry", accessKey: "AK", secretKey: "SK" };
const base: ReplicatedRegistryArgs = { hostnames: ["registry.example.com"], users: ["admin"], replicas: 2, s3Storage };
const settle = () => new Promise((r) => setTimeout(r, 200));

describe("replicatedRegistryProblems", () => {
    it("accepts the simple form: replicas beside the load balancer", () => {
        expect(replicatedRegistryProblems(base)).toEqual([]);
    });

    it("refuses a count that serves nothing or is out of range, naming the key", () => {
        expect(replicatedRegistryProblems({ ...base, replicas: 0 })).toEqual([
            "ReplicatedRegistryArgs.replicas: is 0 and replicaHosts is empty, so nothing would serve. Fix: set replicas to 1 or more, or list replicaHosts",
        ]);
        expect(replicatedRegistryProblems({ ...base, replicas: 17 })[0]).toMatch(/^ReplicatedRegistryArgs\.replicas: 17 is not a whole number of 0-16\. Fix: /);
        expect(replicatedRegistryProblems({ ...base, replicas: 1.5 })[0]).toMatch(/^ReplicatedRegistryArgs\.replicas: 1\.5 /);
    });

    it("with replicas on other hosts: maintenance off, Redis on a private address, each host reachable", () => {
        const remote = { ...base, replicaHosts: [{ dockerHost: "ssh://deploy@10.0.0.12", address: "10.0.0.12" }] };
        expect(replicatedRegistryProblems(remote)).toEqual([
            expect.stringMatching(/^ReplicatedRegistryArgs\.maintenanceEnabled: replicas on other hosts can't be stopped .* Fix: set maintenanceEnabled to false$/),
            expect.stringMatching(/^ReplicatedRegistryArgs\.redisBindAddress: is empty, so replicas on other hosts can't reach Redis\. Fix: /),
        ]);
        expect(replicatedRegistryProblems({ ...remote, maintenanceEnabled: false, redisBindAddress: "10.0.0.11" })).toEqual([]);
        expect(replicatedRegistryProblems({ ...remote, maintenanceEnabled: false, redisBindAddress: "0.0.0.0" })).toEqual([
            expect.stringMatching(/^ReplicatedRegistryArgs\.redisBindAddress: "0\.0\.0\.0" publishes Redis on every interface/),
        ]);
        const bad = replicatedRegistryProblems({
            ...base, maintenanceEnabled: false, redisBindAddress: "10.0.0.11",
            replicaHosts: [{ dockerHost: "10.0.0.12", address: "93.184.216.34", port: 70000 }],
        });
        expect(bad).toEqual([
            expect.stringMatching(/^ReplicatedRegistryArgs\.replicaHosts\[0\]\.dockerHost: "10\.0\.0\.12" is not a Docker host URL/),
            expect.stringMatching(/^ReplicatedRegistryArgs\.replicaHosts\[0\]\.address: .*93\.184\.216\.34.* public/),
            expect.stringMatching(/^ReplicatedRegistryArgs\.replicaHosts\[0\]\.port: 70000 is not a port/),
        ]);
    });

    it("refuses what it does not replicate: a pull-through cache, published metrics", () => {
        expect(replicatedRegistryProblems({ ...base, pullThroughCache: { remoteUrl: "https://upstream.example.com" }, metricsBindAddress: "127.0.0.1" })).toEqual([
            expect.stringMatching(/^ReplicatedRegistryArgs\.pullThroughCache: /),
            expect.stringMatching(/^ReplicatedRegistryArgs\.metricsBindAddress: /),
        ]);
    });
});

describe("ReplicatedRegistry", () => {
    beforeEach(() => { registered.length = 0; });

    it("refuses to run without S3 before declaring anything", async () => {
        expect(() => new ReplicatedRegistry("bare", { ...base, s3Storage: undefined })).toThrow(/ReplicatedRegistryArgs\.s3Storage: is missing; replicas share one bucket/);
        await settle();
        expect(registered).toEqual([]);
    });

    it("puts a replica on each other host through a provider of its own, published on that host's address, reaching Redis where it is published", async () => {
        new ReplicatedRegistry("multi", {
            ...base, replicas: 1, maintenanceEnabled: false, redisBindAddress: "10.0.0.11",
            replicaHosts: [{ dockerHost: "ssh://deploy@10.0.0.12", address: "10.0.0.12", port: 5443 }],
        });
        await settle();
        const provider = registered.find((r) => r.type === "pulumi:providers:docker")!;
        expect(provider.inputs.host).toBe("ssh://deploy@10.0.0.12");
        const containers = registered.filter((r) => r.type === "docker:index/container:Container");
        const remote = containers.find((c) => c.name === "multi-replica-2-container")!;
        expect(remote.provider).toContain("multi-host-2");
        expect(remote.inputs.ports).toEqual([expect.objectContaining({ internal: 5000, external: 5443, ip: "10.0.0.12" })]);
        expect(containers.find((c) => c.name === "multi-replica-1-container")!.provider).not.toContain("multi-host");
        const uploadsOf = (init: string) => pulumi.runtime.unwrapRpcSecret(containers.find((c) => c.name === init)!.inputs.uploads) as { file: string; content: string }[];
        const configOf = (init: string) => YAML.parse(uploadsOf(init)
            .find((u) => u.file.endsWith("/config.yml"))!.content);
        expect(configOf("multi-replica-2-init").redis.addr).toBe("10.0.0.11:6379");
        expect(configOf("multi-replica-1-init").redis.addr).toBe("redis:6379");
        expect(configOf("multi-replica-1-init").http.secret).toBe(configOf("multi-replica-2-init").http.secret);
        const redis = containers.find((c) => c.name === "multi-redis-container")!;
        expect(redis.inputs.ports).toEqual([expect.objectContaining({ internal: 6379, ip: "10.0.0.11" })]);
        const haproxy = uploadsOf("multi-front-init").find((u) => u.file.endsWith("/haproxy.cfg"))!.content;
        expect(haproxy).toContain("server replica-2 10.0.0.12:5443 check");
        // Maintenance off: no standby, no script.
        expect(registered.filter((r) => r.type.startsWith("command:"))).toEqual([]);
        expect(containers.map((c) => c.name)).not.toContain("multi-standby-container");
    });
});

describe("the stack's bucket keys", () => {
    const key = (k: string) => `private-registry:${k}`;
    const c: BucketStackConfig = {
        storageBackend: "s3", s3Endpoint: "http://10.0.0.5:7480", s3Region: "us-east-1", s3Bucket: "registry",
        s3CreateBucket: true, s3RgwUser: "registry", s3RgwAdminCommand: "radosgw-admin",
    };

    it("takes an RGW user without keys, or keys without one", () => {
        expect(bucketStackConfigProblems(c, {}, key)).toEqual([]);
        expect(bucketStackConfigProblems({ ...c, s3RgwUser: "" }, { s3AccessKey: "AK", s3SecretKey: "SK" }, key)).toEqual([]);
    });

    it("refuses both, a bad user ID, and bucket keys without S3, naming the stack keys", () => {
        expect(bucketStackConfigProblems(c, { s3AccessKey: "AK" }, key)).toEqual([
            expect.stringMatching(/^private-registry:s3AccessKey: is set, but so is private-registry:s3RgwUser, whose keys the stack reads\. Fix: /),
        ]);
        expect(bucketStackConfigProblems({ ...c, s3RgwUser: "-bad user" }, {}, key)).toEqual([
            expect.stringMatching(/^private-registry:s3RgwUser: "-bad user" is not an RGW user ID/),
        ]);
        expect(bucketStackConfigProblems({ ...c, storageBackend: "filesystem" }, {}, key)).toEqual([
            "private-registry:s3CreateBucket: is set, but storageBackend is filesystem, so there is no bucket. Fix: pulumi config set private-registry:storageBackend s3, or pulumi config rm private-registry:s3CreateBucket",
            "private-registry:s3RgwUser: is set, but storageBackend is filesystem, so there is no bucket. Fix: pulumi config set private-registry:storageBackend s3, or pulumi config rm private-registry:s3RgwUser",
        ]);
    });
});
