import * as bcrypt from "bcryptjs";
import childProcess = require("child_process");
import fs = require("fs");
import * as path from "path";
import * as YAML from "yaml";
import { byType, evaluateProgram, EvaluatedProgram, mockCommandStdout, one } from "./support/program";

const componentTypes = [
    "private-registry:index:PrivateRegistry",
    "private-registry:index:RegistryTls",
    "private-registry:index:RegistryCredentials",
    "private-registry:index:RegistryStorage",
    "private-registry:index:RegistryServer",
    "private-registry:index:RegistryFront",
    "private-registry:index:RegistryMaintenance",
    "private-registry:index:RegistryFirewall",
];

function uploadsOf(program: EvaluatedProgram) {
    const init = one(program.resources, "docker:index/container:Container", "-server-init");
    return Object.fromEntries((init.inputs.uploads as any[]).map((u) => [path.basename(u.file), u]));
}

describe("dev stack", () => {
    let dev: EvaluatedProgram;
    beforeAll(async () => { dev = await evaluateProgram({ stack: "dev" }); });

    it("exports exactly the documented outputs", () => {
        expect(Object.keys(dev.outputs).sort()).toEqual([
            "caCertPem", "containerName", "credentials", "dataVolume", "endpoint", "loginCommand", "maintenanceScript", "metricsEndpoint", "notaryEndpoint", "prometheusScrapeConfig", "replicaContainers", "tokenRealm",
        ]);
        expect(dev.outputs.tokenRealm).toBe("");
        expect(dev.outputs.notaryEndpoint).toBe("");
        expect(dev.outputs.maintenanceScript).toBe("private-registry-maintenance-registry-dev");
        expect(dev.outputs.endpoint).toBe("localhost:5000");
        expect(dev.outputs.containerName).toBe("registry-dev");
        expect(dev.outputs.dataVolume).toBe("registry-dev-data");
        expect(Object.keys(dev.outputs.credentials)).toEqual(["admin", "ci"]);
    });

    it("declares the designed resource graph", () => {
        const count = (type: string) => byType(dev.resources, type).length;
        // The server twice: the writable registry and its read-only standby.
        expect(componentTypes.map(count)).toEqual([1, 1, 1, 1, 2, 1, 1, 0]);
        expect(count("tls:index/privateKey:PrivateKey")).toBe(2);
        expect(count("tls:index/selfSignedCert:SelfSignedCert")).toBe(1);
        expect(count("tls:index/certRequest:CertRequest")).toBe(1);
        expect(count("tls:index/locallySignedCert:LocallySignedCert")).toBe(1);
        expect(count("random:index/randomPassword:RandomPassword")).toBe(4); // two users + each registry's http.secret
        expect(count("random:index/randomBytes:RandomBytes")).toBe(2);
        expect(count("docker:index/network:Network")).toBe(1);
        expect(count("docker:index/volume:Volume")).toBe(4); // data + the config of each registry and of the front
        expect(count("docker:index/remoteImage:RemoteImage")).toBe(3);
        expect(count("docker:index/container:Container")).toBe(6); // an init container and a service for each
        expect(count("command:local:Command")).toBe(1); // installs the maintenance script
        expect(count("command:remote:Command")).toBe(0);
    });

    it("parents every child to its component, named after it", () => {
        const byUrn = new Map(dev.resources.map((r) => [r.urn, r]));
        for (const r of dev.resources) {
            if (r.type.startsWith("pulumi:providers:") || r.type === "private-registry:index:PrivateRegistry") continue;
            const parent = byUrn.get(r.parentUrn);
            expect({ child: r.name, parentType: parent?.type }).toEqual({ child: r.name, parentType: expect.stringMatching(/^private-registry:index:/) });
            expect(r.name.startsWith(`${parent!.name}-`)).toBe(true);
        }
    });

    it("runs every docker resource through the stack's docker provider", () => {
        for (const r of dev.resources.filter((x) => x.type.startsWith("docker:"))) {
            expect(r.provider).toMatch(/::pulumi:providers:docker::docker::/);
        }
        expect(one(dev.resources, "pulumi:providers:docker").inputs.host).toBe("unix:///var/run/docker.sock");
    });

    it("keeps passwords secret and the rest readable", () => {
        expect(dev.secretOutputs.credentials).toBe(true);
        expect(dev.secretOutputs.caCertPem).toBe(false);
        expect(dev.secretOutputs.loginCommand).toBe(false);
        for (const pw of Object.values<string>(dev.outputs.credentials)) expect(dev.outputs.loginCommand).not.toContain(pw);
        expect(dev.outputs.loginCommand).toContain("docker login localhost:5000 --username admin --password-stdin");
    });

    it("writes htpasswd entries that verify against the generated passwords", () => {
        const lines = (uploadsOf(dev).htpasswd.content as string).trim().split("\n");
        expect(lines).toHaveLength(2);
        for (const line of lines) {
            const [user, hash] = line.split(":");
            expect(hash).toMatch(/^\$2b\$04\$/);
            expect(bcrypt.compareSync(dev.outputs.credentials[user], hash)).toBe(true);
            expect(bcrypt.compareSync(dev.outputs.credentials[user] + "x", hash)).toBe(false);
        }
    });

    it("publishes port 5000 through the hardened front, on the network it shares with the registries alone", () => {
        const front = one(dev.resources, "docker:index/container:Container", "-front-container").inputs;
        const network = one(dev.resources, "docker:index/network:Network").inputs;
        expect(front.ports).toEqual([{ internal: 5000, external: 5000, ip: "0.0.0.0", protocol: "tcp" }]);
        expect(front.networksAdvanced).toEqual([{ name: network.name }]);
        expect(front).toEqual(expect.objectContaining({
            user: "1000:1000", readOnly: true, capabilities: { drops: ["ALL"] }, securityOpts: ["no-new-privileges:true"], restart: "always",
        }));
        const primary = one(dev.resources, "docker:index/container:Container", "-server-container").inputs;
        expect(primary.networksAdvanced).toEqual([{ name: network.name, aliases: ["registry-dev-primary"] }]);
        const standby = one(dev.resources, "docker:index/container:Container", "-standby-container").inputs;
        expect(standby).toEqual(expect.objectContaining({ name: "registry-dev-standby", start: false, mustRun: false, restart: "no", ports: [] }));
        const frontInit = one(dev.resources, "docker:index/container:Container", "-front-init").inputs;
        const haproxyCfg = (frontInit.uploads as { file: string; content: string }[]).find((u) => u.file.endsWith("/haproxy.cfg"))!.content;
        expect(haproxyCfg).toContain("server replica-1 registry-dev-primary:5000 check check-ssl");
        expect(haproxyCfg).toContain("server standby registry-dev-standby:5000 ssl verify required");
    });

    it("runs the registry hardened, with restart always, publishing nothing itself", () => {
        const c = one(dev.resources, "docker:index/container:Container", "-server-container").inputs;
        expect(c.name).toBe("registry-dev");
        expect(c.restart).toBe("always");
        expect(c.ports).toEqual([]);
        expect(c.user).toBe("1000:1000");
        expect(c.readOnly).toBe(true);
        expect(c.capabilities).toEqual({ drops: ["ALL"] });
        expect(c.securityOpts).toEqual(["no-new-privileges:true"]);
        expect(c.memory).toBe(2048);
        expect(c.memorySwap).toBe(2048);
        expect(c.logOpts).toEqual({ "max-size": "10m", "max-file": "3" });
        expect(c.healthcheck.tests[0]).toBe("CMD");
        expect(c.healthcheck.interval).toBe("30s");
        expect(c.waitTimeout).toBeGreaterThan(60);
        expect(c.entrypoints).toEqual(["registry"]);
        expect(c.command).toEqual(["serve", "/etc/distribution/config.yml"]);
        expect(c.envs).toEqual(["GOGC=400", "GOMEMLIMIT=1536MiB"]);
        expect(c.volumes).toEqual(expect.arrayContaining([
            { volumeName: "registry-dev-data", containerPath: "/var/lib/registry" },
            { volumeName: "registry-dev-config", containerPath: "/etc/distribution", readOnly: true },
        ]));
    });

    it("puts no secret into the registry container's inputs", () => {
        const c = JSON.stringify(one(dev.resources, "docker:index/container:Container", "-server-container").inputs);
        const config = YAML.parse(uploadsOf(dev)["config.yml"].content);
        const secrets = [...Object.values<string>(dev.outputs.credentials), config.http.secret, uploadsOf(dev)["server.key"].content];
        for (const secret of secrets) expect(c).not.toContain(secret);
    });

    it("delivers config, htpasswd, certificate and key as uploads with tight modes", () => {
        const uploads = uploadsOf(dev);
        expect(Object.keys(uploads).sort()).toEqual(["config.yml", "htpasswd", "server.crt", "server.key"]);
        expect(uploads["server.key"].permissions).toBe("0400");
        expect(uploads["htpasswd"].permissions).toBe("0400");
        const config = YAML.parse(uploads["config.yml"].content);
        expect(config.http.tls.minimumtls).toBe("tls1.2");
        expect(config.log.level).toBe("warn");
        expect(config.http.secret).toMatch(/^[A-Za-z0-9]{64}$/);
    });

    it("starts the registry only after the init container, replacing both by delete-first (fixed names and port)", () => {
        const init = one(dev.resources, "docker:index/container:Container", "-server-init");
        const container = one(dev.resources, "docker:index/container:Container", "-server-container");
        expect(container.dependencies).toContain(init.urn);
        expect(init.deleteBeforeReplace).toBe(true);
        expect(container.deleteBeforeReplace).toBe(true);
        expect(init.inputs.attach).toBe(true);
        expect(init.inputs.mustRun).toBe(false);
    });

    it("protects nothing in dev", () => {
        for (const r of dev.resources) expect(r.protect).toBe(false);
    });

    it("issues a CA and a server certificate for every name", () => {
        expect(one(dev.resources, "tls:index/selfSignedCert:SelfSignedCert").inputs.isCaCertificate).toBe(true);
        const csr = one(dev.resources, "tls:index/certRequest:CertRequest").inputs;
        expect(csr.dnsNames).toEqual(["localhost"]);
        expect(csr.ipAddresses).toEqual(["127.0.0.1"]);
        const cert = one(dev.resources, "tls:index/locallySignedCert:LocallySignedCert").inputs;
        expect(cert.validityPeriodHours).toBe(30 * 24);
        expect(cert.earlyRenewalHours).toBe(7 * 24);
        expect(cert.allowedUses).toContain("server_auth");
        expect(one(dev.resources, "tls:index/privateKey:PrivateKey", "-server-key").inputs).toEqual(
            expect.objectContaining({ algorithm: "ECDSA", ecdsaCurve: "P256" }));
    });
});

describe("prod stack", () => {
    let prod: EvaluatedProgram;
    beforeAll(async () => { prod = await evaluateProgram({ stack: "prod" }); });

    it("protects and retains the data volume, and only it", () => {
        const data = one(prod.resources, "docker:index/volume:Volume", "-data");
        expect(data.protect).toBe(true);
        expect(data.retainOnDelete).toBe(true);
        expect(prod.resources.filter((r) => r.protect).map((r) => r.name)).toEqual([data.name]);
    });

    it("reaches the remote host over SSH and applies the firewall there before the registry starts", () => {
        expect(one(prod.resources, "pulumi:providers:docker").inputs.host).toBe("ssh://deploy@registry.example.com");
        const firewall = one(prod.resources, "private-registry:index:RegistryFirewall");
        const cmd = one(prod.resources, "command:remote:Command", "-firewall-rules");
        expect(cmd.inputs.connection).toEqual(expect.objectContaining({ host: "registry.example.com", user: "deploy", port: 22 }));
        // The host key from Pulumi.prod.yaml: the commands refuse any other host.
        expect(cmd.inputs.connection.hostKey).toMatch(/^ssh-ed25519 AAAA[A-Za-z0-9+/]+$/);
        expect(cmd.inputs.create).toContain("eth0");
        expect(cmd.inputs.delete).toBeTruthy();
        expect(cmd.parentUrn).toBe(firewall.urn);
        for (const started of ["-server-container", "-front-container"]) {
            expect(one(prod.resources, "docker:index/container:Container", started).dependencies).toContain(cmd.urn);
        }
        expect(one(prod.resources, "command:remote:Command", "-maintenance-install").inputs.connection).toEqual(cmd.inputs.connection);
    });

    it("declares the same SSH connection whoever runs it (no agent path from the environment)", async () => {
        const saved = process.env.SSH_AUTH_SOCK;
        process.env.SSH_AUTH_SOCK = "/tmp/some-agent.sock";
        try {
            const other = await evaluateProgram({ stack: "prod" });
            for (const command of ["-firewall-rules", "-maintenance-install"]) {
                expect(one(other.resources, "command:remote:Command", command).inputs.connection)
                    .toEqual(one(prod.resources, "command:remote:Command", command).inputs.connection);
            }
        } finally {
            if (saved === undefined) delete process.env.SSH_AUTH_SOCK; else process.env.SSH_AUTH_SOCK = saved;
        }
    });

    it("issues 365-day certificates renewed 30 days early for the public name and address", () => {
        const cert = one(prod.resources, "tls:index/locallySignedCert:LocallySignedCert").inputs;
        expect(cert.validityPeriodHours).toBe(365 * 24);
        expect(cert.earlyRenewalHours).toBe(30 * 24);
        const csr = one(prod.resources, "tls:index/certRequest:CertRequest").inputs;
        expect(csr.dnsNames).toEqual(["registry.example.com"]);
        expect(csr.ipAddresses).toEqual(["203.0.113.10"]);
        expect(prod.outputs.endpoint).toBe("registry.example.com:5000");
    });
});

describe("replicated stack", () => {
    let rep: EvaluatedProgram;
    beforeAll(async () => { rep = await evaluateProgram({ stack: "replicated" }); });
    const configOf = (suffix: string) => {
        const init = one(rep.resources, "docker:index/container:Container", `${suffix}-init`).inputs;
        return YAML.parse((init.uploads as { file: string; content: string }[]).find((u) => u.file.endsWith("/config.yml"))!.content);
    };

    it("runs two replicas, Redis, the load balancer and the standby, and keeps no data volume", () => {
        const count = (type: string) => byType(rep.resources, type).length;
        expect(count("private-registry:index:ReplicatedRegistry")).toBe(1);
        expect(count("private-registry:index:RegistryServer")).toBe(3);
        expect(count("private-registry:index:RegistryRedis")).toBe(1);
        expect(count("private-registry:index:RegistryBucket")).toBe(1);
        expect(count("private-registry:index:RegistryStorage")).toBe(0);
        expect(byType(rep.resources, "docker:index/volume:Volume").map((v) => v.inputs.name).sort())
            .toEqual(["registry-rep-1-config", "registry-rep-2-config", "registry-rep-front-config", "registry-rep-redis-config", "registry-rep-standby-config"]);
        expect(rep.outputs.replicaContainers).toEqual(["registry-rep-1", "registry-rep-2"]);
        for (const replica of ["-replica-1-container", "-replica-2-container"]) {
            const inputs = one(rep.resources, "docker:index/container:Container", replica).inputs;
            expect(inputs.ports).toEqual([]);
            expect((inputs.volumes as { containerPath: string }[]).map((v) => v.containerPath)).toEqual(["/etc/distribution"]);
            expect(inputs.networksAdvanced).toEqual([{ name: "registry-rep-net", aliases: [] }]);
        }
        const front = one(rep.resources, "docker:index/container:Container", "-front-container").inputs;
        expect(front.ports).toEqual([expect.objectContaining({ internal: 5000, external: 5000 })]);
    });

    it("gives every replica one http.secret, the stack's Redis and the RGW user's bucket", () => {
        const [first, second] = [configOf("-replica-1"), configOf("-replica-2")];
        expect(first.http.secret).toBe(second.http.secret);
        expect(first.storage.cache).toEqual({ blobdescriptor: "redis" });
        expect(first.redis).toEqual(expect.objectContaining({ addr: "redis:6379", password: expect.stringMatching(/^[A-Za-z0-9]{16,}$/) }));
        expect(first.redis.password).toBe(second.redis.password);
        // The keys radosgw-admin printed for the user (the mocks' answer), not keys from config.
        expect(one(rep.resources, "command:local:Command", "-rgw-user").inputs.create).toContain("user create --uid='registry-replicated'");
        const userKeys = JSON.parse(mockCommandStdout("bucket-rgw-user", one(rep.resources, "command:local:Command", "-rgw-user").inputs)).keys[0];
        expect(first.storage.s3).toEqual(expect.objectContaining({
            bucket: "registry-replicated", regionendpoint: "http://172.17.0.1:17480", accesskey: userKeys.access_key, secretkey: userKeys.secret_key,
        }));
        const haproxy = (one(rep.resources, "docker:index/container:Container", "-front-init").inputs.uploads as { file: string; content: string }[])
            .find((u) => u.file.endsWith("/haproxy.cfg"))!.content;
        expect(haproxy).toMatch(/server replica-1 registry-rep-1:5000 check .*\n {4}server replica-2 registry-rep-2:5000 check /);
    });

    it("installs the maintenance script for both replicas and their cache", () => {
        const install = one(rep.resources, "command:local:Command", "-maintenance-install").inputs.create as string;
        expect(install).toContain("WRITABLE='registry-rep-1 registry-rep-2'\nCACHE='registry-rep-redis'");
        expect(install).toContain("DATA_VOLUME=''");
    });

    it("refuses replicas without S3, and an RGW user beside given keys, before anything is declared", async () => {
        const registeredCount = (run: Promise<unknown>) => run.catch((err: { registered?: number }) => { throw new Error(String(err.registered)); });
        const filesystem = evaluateProgram({ stack: "replicated", config: Object.fromEntries(Object.entries({
            storageBackend: "filesystem", s3Endpoint: "", s3Region: "", s3Bucket: "", s3RootDirectory: "", s3CreateBucket: false, s3RgwUser: "",
        }).map(([k, v]) => [`private-registry:${k}`, v])) });
        await expect(filesystem).rejects.toThrow("private-registry:storageBackend: is filesystem, but replicas share one bucket. Fix: pulumi config set private-registry:storageBackend s3");
        await expect(registeredCount(filesystem)).rejects.toThrow(/^0$/);
        const both = evaluateProgram({ stack: "replicated", config: { "private-registry:s3AccessKey": "AK", "private-registry:s3SecretKey": "SK" }, secretKeys: ["s3AccessKey", "s3SecretKey"] });
        await expect(both).rejects.toThrow("private-registry:s3AccessKey: is set, but so is private-registry:s3RgwUser");
    });
});

describe("repeatability and preview", () => {
    it("declares identical inputs when evaluated twice with the same state (no perpetual diff)", async () => {
        const first = await evaluateProgram({ stack: "dev" });
        const second = await evaluateProgram({ stack: "dev" });
        const inputs = (p: EvaluatedProgram) => p.resources.map((r) => [r.urn, r.inputs]);
        expect(inputs(second)).toEqual(inputs(first));
        expect(inputs(first).length).toBeGreaterThan(10);
    });

    it("evaluates in preview mode without running or writing anything", async () => {
        const spawned = jest.spyOn(childProcess, "spawn");
        const execd = jest.spyOn(childProcess, "execSync");
        const written = jest.spyOn(fs, "writeFileSync");
        const preview = await evaluateProgram({ stack: "prod", preview: true });
        expect(preview.outputs.endpoint).toBe("registry.example.com:5000");
        expect(preview.resources.length).toBeGreaterThan(10);
        expect(spawned).not.toHaveBeenCalled();
        expect(execd).not.toHaveBeenCalled();
        expect(written).not.toHaveBeenCalled();
        jest.restoreAllMocks();
    });
});
