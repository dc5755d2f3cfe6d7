import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import {
    ClientTrustOptions,
    clientTrustConfigProblems,
    clientTrustDirProblem,
    clientTrustEndpointProblem,
    clientTrustPaths,
    clientTrustProblems,
    isCertificatePem,
    RegistryClientTrust,
    registryEndpoints,
    renderClientTrustAsRoot,
    renderClientTrustInstallScript,
    renderClientTrustRemoveScript,
    renderContainerdHostsToml,
} from "../../components/clientTrust";
import { Registration, recordRegistrations } from "./support/registrations";

const registrations: Registration[] = [];
let work: string;

/** A real self-signed CA certificate, as openssl writes it. */
function caPem(name: string): string {
    const dir = fs.mkdtempSync(path.join(work, "ca-"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
        "-subj", `/CN=${name}`, "-keyout", path.join(dir, "key.pem"), "-out", path.join(dir, "cert.pem")], { stdio: "ignore" });
    return fs.readFileSync(path.join(dir, "cert.pem"), "utf8");
}

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "client-trust-unit-"));
    await recordRegistrations(registrations);
});

afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe("endpoint and directory validation", () => {
    it.each([
        "registry.example.com:5000",
        "registry:443",
        "localhost:5311",
        "10.253.7.1:5311",
        "[2001:db8::1]:5000",
        "[::1]:65535",
    ])("accepts %s", (endpoint) => {
        expect(clientTrustEndpointProblem(endpoint)).toBeUndefined();
    });

    it.each([
        ["", /not host:port/],
        ["registry.example.com", /not host:port/],
        ["../../etc:5000", /not host:port/],
        ["..:5000", /invalid DNS name/],
        [".:5000", /invalid DNS name/],
        ["a/b:5000", /not host:port/],
        ["registry.example.com:5000/../../x", /not host:port/],
        ["registry example:5000", /not host:port/],
        ["registry.example.com.:5000", /invalid DNS name/],
        ["-registry:5000", /invalid DNS name/],
        ["registry:0", /not host:port/],
        ["registry:05000", /not host:port/],
        ["registry:65536", /outside 1-65535/],
        ["registry:5000:5001", /not host:port/],
        ["10.1:5000", /invalid IPv4/],
        ["010.0.0.1:5000", /invalid IPv4/],
        ["256.0.0.1:5000", /invalid IPv4/],
        ["2001:db8::1:5000", /not host:port/],
        ["[zz::1]:5000", /not host:port/],
        ["[1:2:3:4:5:6:7:8:9]:5000", /invalid IPv6/],
        ["registry:5000\n", /not host:port/],
        ["$(reboot):5000", /not host:port/],
        ["'x':5000", /not host:port/],
    ])("refuses %j", (endpoint, problem) => {
        expect(clientTrustEndpointProblem(endpoint)).toMatch(problem);
    });

    it("accepts only absolute, plain directory roots", () => {
        expect(clientTrustDirProblem("/etc/docker/certs.d")).toBeUndefined();
        expect(clientTrustDirProblem("/tmp/x_y-z/certs.d")).toBeUndefined();
        for (const bad of ["etc/docker", "", "/etc/../root", "/etc/./docker", "/etc/do'cker", "/etc/do cker", "/etc/$(x)", "/etc/docker\n"]) {
            expect({ bad, problem: clientTrustDirProblem(bad) }).toEqual({ bad, problem: expect.any(String) });
        }
    });

    it("lists every problem, and refuses to render scripts with any", () => {
        const options: ClientTrustOptions = {
            endpoints: ["ok.example:5000", "../x:1"], docker: false, dockerCertsDir: "relative", containerd: false, containerdCertsDir: "/etc/containerd/certs.d",
        };
        const problems = clientTrustProblems(options);
        expect(problems).toEqual([
            expect.stringMatching(/^endpoints: "\.\.\/x:1" is not host:port/),
            expect.stringMatching(/^dockerCertsDir: "relative" is not an absolute path/),
            expect.stringMatching(/^docker: is false and so is containerd/),
        ]);
        expect(clientTrustProblems({ ...options, endpoints: [] })[0]).toMatch(/at least one host:port/);
        expect(() => renderClientTrustRemoveScript(options)).toThrow(/RegistryClientTrust: endpoints: .*; dockerCertsDir/);
        expect(() => renderClientTrustInstallScript(options, caPem("x"))).toThrow(/RegistryClientTrust/);
    });

    it("accepts PEM certificates only, so the CA can't end its here-document", () => {
        const pem = caPem("pem-check");
        expect(isCertificatePem(pem)).toBe(true);
        expect(isCertificatePem(pem + pem)).toBe(true);
        expect(isCertificatePem(pem.replace(/\n/g, "\r\n"))).toBe(true);
        expect(isCertificatePem("")).toBe(false);
        expect(isCertificatePem(pem.replace("CERTIFICATE", "PRIVATE KEY"))).toBe(false);
        const injected = "-----BEGIN CERTIFICATE-----\nAAAA\nPRIVATE_REGISTRY_CA\ntouch /tmp/owned\n-----END CERTIFICATE-----\n";
        expect(isCertificatePem(injected)).toBe(false);
        const options: ClientTrustOptions = { endpoints: ["r.example:5000"], docker: true, dockerCertsDir: "/x", containerd: false, containerdCertsDir: "/y" };
        expect(() => renderClientTrustInstallScript(options, injected)).toThrow(/caCertPem is not a PEM certificate/);
    });
});

describe("the program's client trust settings", () => {
    it("names every hostname and IP address with the port, IPv6 in brackets, each once", () => {
        expect(registryEndpoints(["registry.example.com", "localhost", "localhost"], ["10.253.7.1", "2001:db8::1"], 5311)).toEqual([
            "registry.example.com:5311", "localhost:5311", "10.253.7.1:5311", "[2001:db8::1]:5311",
        ]);
        for (const endpoint of registryEndpoints(["r.example"], ["10.0.0.1", "::1"], 5000)) expect(clientTrustEndpointProblem(endpoint)).toBeUndefined();
    });

    it("refuses containerd trust without local trust, naming the key and the fix", () => {
        const key = (f: string) => `private-registry:${f}`;
        expect(clientTrustConfigProblems(false, true, key)).toEqual([
            "private-registry:clientTrustContainerd: is true but private-registry:clientTrustLocal is false, so nothing would be installed. Fix: pulumi config set private-registry:clientTrustLocal true",
        ]);
        expect(clientTrustConfigProblems(true, true, key)).toEqual([]);
        expect(clientTrustConfigProblems(false, false, key)).toEqual([]);
    });
});

describe("install and remove scripts, run by sh in a temporary root", () => {
    let root: string;
    let options: ClientTrustOptions;
    const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);
    // dash where it is /bin/sh, as on the Debian hosts the scripts run on; a restrictive umask
    // shows the modes are set, not inherited.
    const sh = (script: string) => {
        const r = spawnSync("sh", ["-c", `umask 077; sh -s`], { input: script, encoding: "utf8" });
        if (r.status !== 0) throw new Error(`sh failed (${r.status}): ${r.stderr}`);
        return r.stdout;
    };

    beforeEach(() => {
        root = fs.mkdtempSync(path.join(work, "root-"));
        options = {
            endpoints: ["registry.example.com:5000", "10.253.7.1:5000", "[2001:db8::1]:5000", "registry.example.com:5000"],
            docker: true,
            dockerCertsDir: `${root}/etc/docker/certs.d`,
            containerd: true,
            containerdCertsDir: `${root}/etc/containerd/certs.d`,
        };
    });

    it("writes ca.crt for Docker and hosts.toml plus ca.crt for containerd: files 0644, directories 0755", () => {
        const pem = caPem("install");
        const out = sh(renderClientTrustInstallScript(options, pem));
        const written = ["registry.example.com:5000", "10.253.7.1:5000", "[2001:db8::1]:5000"].flatMap((e) => clientTrustPaths(options, e));
        expect(written).toHaveLength(9);
        for (const file of written) {
            expect({ file, mode: mode(file) }).toEqual({ file, mode: "644" });
            expect({ dir: path.dirname(file), mode: mode(path.dirname(file)) }).toEqual({ dir: path.dirname(file), mode: "755" });
            expect(out).toContain(`wrote ${file}`);
        }
        expect(fs.readFileSync(`${root}/etc/docker/certs.d/registry.example.com:5000/ca.crt`, "utf8")).toBe(pem);
        expect(fs.readFileSync(`${root}/etc/containerd/certs.d/[2001:db8::1]:5000/ca.crt`, "utf8")).toBe(pem);
        const caPath = `${root}/etc/containerd/certs.d/10.253.7.1:5000/ca.crt`;
        expect(fs.readFileSync(`${root}/etc/containerd/certs.d/10.253.7.1:5000/hosts.toml`, "utf8"))
            .toBe(renderContainerdHostsToml("10.253.7.1:5000", caPath));
        // Exactly those files, no temporary leftovers, nothing outside the roots.
        const all = execFileSync("find", [root, "-type", "f"], { encoding: "utf8" }).trim().split("\n").sort();
        expect(all).toEqual([...written].sort());
    });

    it("replaces the CA in place when run again with a new one", () => {
        sh(renderClientTrustInstallScript(options, caPem("old")));
        const fresh = caPem("new");
        sh(renderClientTrustInstallScript(options, fresh));
        expect(fs.readFileSync(`${root}/etc/docker/certs.d/10.253.7.1:5000/ca.crt`, "utf8")).toBe(fresh);
        expect(fs.readFileSync(`${root}/etc/containerd/certs.d/10.253.7.1:5000/ca.crt`, "utf8")).toBe(fresh);
        expect(execFileSync("find", [root, "-type", "f", "-name", ".*"], { encoding: "utf8" })).toBe("");
    });

    it("writes only Docker's file when containerd is off", () => {
        sh(renderClientTrustInstallScript({ ...options, containerd: false }, caPem("docker-only")));
        expect(fs.existsSync(`${root}/etc/containerd`)).toBe(false);
        expect(fs.existsSync(`${root}/etc/docker/certs.d/registry.example.com:5000/ca.crt`)).toBe(true);
    });

    it("removes what it wrote, keeps what else is there, and can run again", () => {
        sh(renderClientTrustInstallScript(options, caPem("remove")));
        const operatorFile = `${root}/etc/docker/certs.d/10.253.7.1:5000/client.cert`;
        fs.writeFileSync(operatorFile, "the operator's client certificate");
        const neighbour = `${root}/etc/docker/certs.d/other.example:5000/ca.crt`;
        fs.mkdirSync(path.dirname(neighbour));
        fs.writeFileSync(neighbour, "another registry's CA");

        const remove = renderClientTrustRemoveScript(options);
        sh(remove);
        const left = execFileSync("find", [root, "-mindepth", "1"], { encoding: "utf8" }).trim().split("\n").sort();
        expect(left).toEqual([
            `${root}/etc`, `${root}/etc/containerd`, `${root}/etc/containerd/certs.d`,
            `${root}/etc/docker`, `${root}/etc/docker/certs.d`,
            `${root}/etc/docker/certs.d/10.253.7.1:5000`, operatorFile,
            `${root}/etc/docker/certs.d/other.example:5000`, neighbour,
        ].sort());
        expect(() => sh(remove)).not.toThrow();
    });

    it("runs as root through its wrapper (directly, or with passwordless sudo)", () => {
        const pem = caPem("as-root");
        sh(renderClientTrustAsRoot(renderClientTrustInstallScript(options, pem)));
        expect(fs.readFileSync(`${root}/etc/docker/certs.d/registry.example.com:5000/ca.crt`, "utf8")).toBe(pem);
        sh(renderClientTrustAsRoot(renderClientTrustRemoveScript(options)));
        expect(fs.existsSync(`${root}/etc/docker/certs.d/registry.example.com:5000`)).toBe(false);
    });

    it("fails loudly when it can't write, rather than leaving clients half set up", () => {
        fs.mkdirSync(`${root}/etc/docker`, { recursive: true });
        fs.writeFileSync(`${root}/etc/docker/certs.d`, "a file where the directory should be");
        expect(() => sh(renderClientTrustInstallScript(options, caPem("fail")))).toThrow(/sh failed/);
    });
});

describe("containerd hosts.toml", () => {
    it("names the registry as server and host, with pull, resolve and push, trusting the CA file", () => {
        expect(renderContainerdHostsToml("registry.example.com:5000", "/etc/containerd/certs.d/registry.example.com:5000/ca.crt")).toBe(
            "# Written by private-registry's RegistryClientTrust; removed on destroy.\n" +
            "server = \"https://registry.example.com:5000\"\n\n" +
            "[host.\"https://registry.example.com:5000\"]\n" +
            "  capabilities = [\"pull\", \"resolve\", \"push\"]\n" +
            "  ca = \"/etc/containerd/certs.d/registry.example.com:5000/ca.crt\"\n");
        expect(() => renderContainerdHostsToml("x\"]\n[evil:1", "/x")).toThrow(/not host:port/);
    });
});

describe("RegistryClientTrust", () => {
    function resolve<T>(output: pulumi.Output<T>): Promise<T> {
        return new Promise((done) => output.apply((v) => { done(v); return v; }));
    }

    async function children(trust: RegistryClientTrust) {
        const urn = await resolve(trust.urn);
        await resolve(trust.endpoints);
        // Children register asynchronously after their inputs resolve.
        await new Promise((done) => setTimeout(done, 50));
        return registrations.filter((r) => r.parent === urn);
    }

    it("runs a command per client: local without a connection, over SSH with one", async () => {
        const ca = caPem("component");
        const trust = new RegistryClientTrust("trust", {
            endpoints: [pulumi.output("registry.example.com:5000"), "10.253.7.1:5000", "registry.example.com:5000"],
            caCertPem: pulumi.output(ca),
            clients: [
                {},
                { connection: { host: "203.0.113.20", user: "deploy" }, containerd: true, dockerCertsDir: "/srv/docker-certs" },
            ],
        });
        expect(await resolve(trust.endpoints)).toEqual(["registry.example.com:5000", "10.253.7.1:5000"]);
        const [local, remote] = await children(trust);
        expect([local.type, local.name, remote.type, remote.name]).toEqual(["command:local:Command", "trust-client-0", "command:remote:Command", "trust-client-1"]);

        const localOptions: ClientTrustOptions = {
            endpoints: ["registry.example.com:5000", "10.253.7.1:5000"], docker: true, dockerCertsDir: "/etc/docker/certs.d", containerd: false, containerdCertsDir: "/etc/containerd/certs.d",
        };
        const install = renderClientTrustAsRoot(renderClientTrustInstallScript(localOptions, ca));
        const remove = renderClientTrustAsRoot(renderClientTrustRemoveScript(localOptions));
        expect(local.inputs.create).toBe(install);
        // A new CA re-runs the install in place; a change of what would be removed replaces, old removal first.
        expect(local.inputs.update).toBe(install);
        expect(local.inputs.delete).toBe(remove);
        expect(local.inputs.triggers).toEqual([remove]);
        expect(local.deleteBeforeReplace).toBe(true);
        expect(local.inputs.connection).toBeUndefined();

        const remoteOptions = { ...localOptions, containerd: true, dockerCertsDir: "/srv/docker-certs" };
        expect(remote.inputs.create).toBe(renderClientTrustAsRoot(renderClientTrustInstallScript(remoteOptions, ca)));
        expect(remote.inputs.delete).toBe(renderClientTrustAsRoot(renderClientTrustRemoveScript(remoteOptions)));
        expect(remote.deleteBeforeReplace).toBe(true);
        // remote.Command marks the connection secret; the mock sees the wrapped value.
        const connection = remote.inputs.connection[pulumi.runtime.specialSigKey] ? remote.inputs.connection.value : remote.inputs.connection;
        expect(connection).toMatchObject({ host: "203.0.113.20", user: "deploy" });
    });

    it("refuses bad endpoints, roots and empty client lists before registering anything", () => {
        const before = registrations.length;
        const declare = (args: Partial<ConstructorParameters<typeof RegistryClientTrust>[1]>) => () => new RegistryClientTrust("bad", {
            endpoints: ["registry.example.com:5000"], caCertPem: "unused", clients: [{}], ...args,
        });
        expect(declare({ endpoints: ["../../root/.ssh:22"] })).toThrow(/RegistryClientTrust bad: endpoints: "\.\.\/\.\.\/root\/\.ssh:22" is not host:port/);
        expect(declare({ endpoints: [] })).toThrow(/at least one host:port/);
        expect(declare({ endpoints: [pulumi.output("ok.example:5000"), "bad/../x:1"] })).toThrow(/"bad\/\.\.\/x:1" is not host:port/);
        expect(declare({ clients: [] })).toThrow(/clients: at least one client host/);
        expect(declare({ clients: [{}, { containerdCertsDir: "certs.d", containerd: true }] })).toThrow(/clients\[1\]\.containerdCertsDir: "certs\.d" is not an absolute path/);
        expect(declare({ clients: [{ docker: false }] })).toThrow(/clients\[0\]\.docker: is false and so is containerd/);
        expect(registrations.length).toBe(before);
    });
});
