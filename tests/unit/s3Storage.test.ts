import * as YAML from "yaml";
import {
    objectStorageMaintenanceProblems, renderRegistryConfig, s3StorageConfigSections, s3StorageProblems, s3StorageStackConfigProblems, S3StorageStackConfig,
} from "../../components";
import { evaluateProgram, one } from "./support/program";

const s3 = { endpoint: "http://10.0.0.5:7480", region: "us-east-1", bucket: "registry-data", rootDirectory: "/registry", accessKey: "AK", secretKey: "SK" };
const key = (f: string) => `private-registry:${f}`;

describe("the s3 storage section", () => {
    it("renders distribution's s3 driver with path-style URLs from regionendpoint, streaming blobs through the registry by default", () => {
        expect(s3StorageConfigSections(s3)).toEqual({
            s3: {
                region: "us-east-1", bucket: "registry-data", regionendpoint: "http://10.0.0.5:7480", rootdirectory: "/registry",
                accesskey: "AK", secretkey: "SK", secure: false, v4auth: true, chunksize: 10 * 1024 * 1024,
            },
            redirect: { disable: true },
        });
        const aws = s3StorageConfigSections({ region: "eu-west-1", bucket: "b-1", accessKey: "a", secretKey: "s", redirect: true, chunkSizeMb: 32 });
        expect(aws).toEqual({
            s3: { region: "eu-west-1", bucket: "b-1", accesskey: "a", secretkey: "s", secure: true, v4auth: true, chunksize: 32 * 1024 * 1024 },
            redirect: { disable: false },
        });
    });

    it("replaces the filesystem driver in config.yml, keeping delete, maintenance and the cache", () => {
        const storage = YAML.parse(renderRegistryConfig({ httpSecret: "x", s3Storage: s3 })).storage;
        expect(storage.filesystem).toBeUndefined();
        expect(storage.s3.bucket).toBe("registry-data");
        expect(storage.delete).toEqual({ enabled: true });
        expect(storage.cache).toEqual({ blobdescriptor: "inmemory" });
        expect(Object.keys(storage).sort()).toEqual(["cache", "delete", "maintenance", "redirect", "s3"]);
    });
});

describe("s3 storage checks", () => {
    it("accepts good settings", () => expect(s3StorageProblems(s3)).toEqual([]));

    it.each([
        [{ endpoint: "ftp://s3.example.com" }, "s3Storage.endpoint", /not an http\(s\) URL/],
        [{ endpoint: "https://k:s@s3.example.com" }, "s3Storage.endpoint", /carries credentials/],
        [{ endpoint: "https://s3.example.com/registry-data" }, "s3Storage.endpoint", /has a path/],
        [{ region: "" }, "s3Storage.region", /not a region name/],
        [{ bucket: "Registry_Data" }, "s3Storage.bucket", /not an S3 bucket name/],
        [{ bucket: "10.0.0.1" }, "s3Storage.bucket", /not an S3 bucket name/],
        [{ rootDirectory: "registry" }, "s3Storage.rootDirectory", /not an absolute object prefix/],
        [{ accessKey: "" }, "s3Storage.accessKey", /is empty/],
        [{ chunkSizeMb: 4 }, "s3Storage.chunkSizeMb", /outside 5-5120/],
        [{ caCertPem: "not a pem" }, "s3Storage.caCertPem", /./],
    ])("refuses %j", (change, field, problem) => {
        expect(s3StorageProblems({ ...s3, ...change })).toEqual([[field, expect.stringMatching(problem), expect.any(String)]]);
    });
});

describe("the stack's storage keys", () => {
    const filesystem: S3StorageStackConfig = {
        storageBackend: "filesystem", s3Endpoint: "", s3Region: "", s3Bucket: "", s3RootDirectory: "", s3Redirect: false, s3ChunkSizeMb: 10, s3CaCertPem: "",
    };
    const onS3 = { ...filesystem, storageBackend: "s3", s3Endpoint: s3.endpoint, s3Region: s3.region, s3Bucket: s3.bucket };
    const secretEverywhere = () => true;

    it("accepts the data volume with no S3 key, and S3 with all of them, credentials secret", () => {
        expect(s3StorageStackConfigProblems(filesystem, {}, secretEverywhere, key)).toEqual([]);
        expect(s3StorageStackConfigProblems(onS3, { s3AccessKey: "AK", s3SecretKey: "SK" }, secretEverywhere, key)).toEqual([]);
    });

    it("names the key and the fix for each mistake", () => {
        expect(s3StorageStackConfigProblems({ ...filesystem, storageBackend: "gcs" }, {}, secretEverywhere, key)).toEqual([
            `private-registry:storageBackend: "gcs" is not one of filesystem, s3. Fix: pulumi config set private-registry:storageBackend filesystem`,
        ]);
        expect(s3StorageStackConfigProblems({ ...filesystem, s3Bucket: "b-1" }, { s3SecretKey: "SK" }, secretEverywhere, key)).toEqual([
            expect.stringMatching(/^private-registry:s3Bucket: is set, but storageBackend is filesystem.*Fix: pulumi config set private-registry:storageBackend s3, or pulumi config rm private-registry:s3Bucket$/),
            expect.stringMatching(/^private-registry:s3SecretKey: is set, but storageBackend is filesystem/),
        ]);
        expect(s3StorageStackConfigProblems({ ...onS3, s3Region: "" }, {}, secretEverywhere, key)).toEqual([
            expect.stringMatching(/^private-registry:s3Region: "" is not a region name/),
            expect.stringMatching(/^private-registry:s3AccessKey: is empty/),
            expect.stringMatching(/^private-registry:s3SecretKey: is empty/),
        ]);
        expect(s3StorageStackConfigProblems(onS3, { s3AccessKey: "AK", s3SecretKey: "SK" }, (k) => k === "s3AccessKey", key)).toEqual([
            "private-registry:s3SecretKey: is stored in plain text. Fix: pulumi config set --secret private-registry:s3SecretKey <value>",
        ]);
    });

    it("refuses a backup schedule for data that lives in S3", () => {
        expect(objectStorageMaintenanceProblems(true, "30 2 * * *", key)).toEqual([expect.stringMatching(/^private-registry:maintenanceBackupSchedule: is set, but the registry keeps its data in S3/)]);
        expect(objectStorageMaintenanceProblems(true, "", key)).toEqual([]);
        expect(objectStorageMaintenanceProblems(false, "30 2 * * *", key)).toEqual([]);
    });
});

describe("the program on S3", () => {
    const config = {
        "private-registry:storageBackend": "s3",
        "private-registry:s3Endpoint": "http://10.0.0.5:7480",
        "private-registry:s3Region": "us-east-1",
        "private-registry:s3Bucket": "registry-data",
        "private-registry:maintenanceBackupSchedule": "",
        "private-registry:s3AccessKey": "access-key-7f3a",
        "private-registry:s3SecretKey": "secret-key-9c1e",
    };

    it("gives both registries the bucket, keeps the keys in secret uploads only, and lets gc reach S3", async () => {
        const program = await evaluateProgram({ stack: "dev", config, secretKeys: ["s3AccessKey", "s3SecretKey"] });
        for (const registry of ["-server-init", "-standby-init"]) {
            const uploads = one(program.resources, "docker:index/container:Container", registry).inputs.uploads as { file: string; content: string }[];
            const storage = YAML.parse(uploads.find((u) => u.file.endsWith("/config.yml"))!.content).storage;
            expect(storage.s3).toEqual(expect.objectContaining({ bucket: "registry-data", accesskey: "access-key-7f3a", secretkey: "secret-key-9c1e", secure: false }));
        }
        for (const r of program.resources) {
            const visible = JSON.stringify({ ...r.inputs, uploads: undefined });
            expect({ resource: r.name, leaked: /access-key-7f3a|secret-key-9c1e/.test(visible) }).toEqual({ resource: r.name, leaked: false });
        }
        const install = one(program.resources, "command:local:Command", "-maintenance-install").inputs.create as string;
        expect(install).toContain("OBJECT_STORAGE_NETWORK='registry-dev-net'");
    });

    it("refuses the keys in plain text, and a backup schedule, before anything is created", async () => {
        const run = evaluateProgram({ stack: "dev", config: { ...config, "private-registry:maintenanceBackupSchedule": "30 2 * * *" }, secretKeys: ["s3AccessKey"] });
        await expect(run).rejects.toThrow(/s3SecretKey: is stored in plain text[\s\S]*maintenanceBackupSchedule: is set, but the registry keeps its data in S3/);
        await expect(run.catch((err: { registered?: number }) => { throw new Error(String(err.registered)); })).rejects.toThrow(/^0$/);
    });
});
