/**
 * Certificate rotation with real clients. A stack of its own, whose CA RegistryClientTrust installs
 * in this machine's Docker certs.d (clientTrustLocal); a docker client that logged in once keeps
 * pulling and pushing across a renewal of the server certificate (the harness's clock moved 25 days)
 * and across a rotation of the CA (caGeneration). containerd's hosts.toml is checked with ctr.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { down, up, UpResult } from "../local-apply";
import {
    ClientTrustOptions, clientTrustPaths, renderClientTrustInstallScript, renderClientTrustRemoveScript,
} from "../../components/clientTrust";
import { StackOutputs } from "./support/localStack";
import { run, runOk } from "./support/shell";
import { TestNetwork } from "./support/testNetwork";

const stack = "rotation-e2e";
const registryName = "rotation.e2e.test";
// Not loopback, so Docker verifies the certificate (it trusts any on 127.0.0.0/8).
const network = new TestNetwork("rote2e", "10.253.7.1", "10.253.7.2", [registryName]);
const port = 5317;
const endpoint = `${registryName}:${port}`;
const ipEndpoint = `${network.hostAddress}:${port}`;
const certsDirs = [endpoint, ipEndpoint].map((e) => `/etc/docker/certs.d/${e}`);
const image = `${endpoint}/rotation/app`;
const containerName = "rotation-e2e-registry";
const config = {
    hostnames: [registryName],
    ipAddresses: [network.hostAddress],
    port,
    users: ["admin"],
    containerName,
    dataVolumeName: "rotation-e2e-data",
    protectData: false,
    certValidityDays: 30,
    certEarlyRenewalDays: 7,
    clientTrustLocal: true,
};
const containerdSocket = "/var/run/docker/containerd/containerd.sock";
const containerdNamespace = "rotation-e2e";

let work: string;
let dockerEnv: NodeJS.ProcessEnv;
let first: StackOutputs;
let password: string;

const docker = (args: string) => run(`docker ${args}`, { env: dockerEnv, timeoutMs: 300_000 });
const dockerOk = (args: string, input?: string) => runOk(`docker ${args}`, { env: dockerEnv, input, timeoutMs: 300_000 });
const progress = (r: UpResult) => r.stdout.split("\n");
const outputsOf = (r: UpResult) => r.outputs as unknown as StackOutputs;
const mode = (p: string) => (fs.statSync(p).mode & 0o777).toString(8);

/** The certificate the registry serves, as openssl s_client receives it, with its serial and expiry. */
function servedCertificate(name: string): { file: string; serial: string; notAfter: Date } {
    const file = path.join(work, `${name}.pem`);
    runOk(`openssl s_client -connect ${ipEndpoint} -servername ${registryName} </dev/null 2>/dev/null | openssl x509 > ${file}`, { timeoutMs: 15_000 });
    const text = runOk(`openssl x509 -in ${file} -noout -serial -enddate`);
    return {
        file,
        serial: /serial=(\w+)/.exec(text)![1],
        notAfter: new Date(/notAfter=(.+)/.exec(text)![1]),
    };
}

function writeFile(name: string, content: string): string {
    const file = path.join(work, name);
    fs.writeFileSync(file, content);
    return file;
}

/** A FROM-scratch image with one random layer, so every build has new digests. */
function buildImage(tag: string): void {
    const context = fs.mkdtempSync(path.join(work, "build-"));
    runOk(`head -c 65536 /dev/urandom > ${context}/layer`);
    fs.writeFileSync(path.join(context, "Dockerfile"), "FROM scratch\nCOPY layer /layer\n");
    dockerOk(`build -q -t ${tag} ${context}`);
}

function repoDigest(tag: string): string {
    const digests = JSON.parse(runOk(`docker image inspect -f '{{json .RepoDigests}}' ${tag}`)) as string[];
    const digest = digests.find((d) => d.startsWith(`${image}@`));
    if (!digest) throw new Error(`no repo digest for ${tag}: ${digests.join(", ")}`);
    return digest.split("@")[1];
}

/** Pull by tag after removing the local copy, so the bytes really come over TLS from the registry. */
function pullFresh(tag: string): string {
    docker(`rmi ${image}:${tag}`);
    dockerOk(`pull ${image}:${tag}`);
    return repoDigest(`${image}:${tag}`);
}

beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "rotation-e2e-"));
    dockerEnv = { DOCKER_CONFIG: path.join(work, "docker-config") };
    network.create();
    await down(stack);
    first = outputsOf(await up(stack, config));
    password = first.credentials.admin;
});

afterAll(async () => {
    try {
        await down(stack);
    } finally {
        for (const dir of certsDirs) fs.rmSync(dir, { recursive: true, force: true });
        run(`docker images --format '{{.Repository}}:{{.Tag}}' | grep '^${registryName}' | xargs -r docker rmi -f`);
        // A namespace is only removed once it holds no image and no blob.
        const ctr = `ctr -a ${containerdSocket} -n ${containerdNamespace}`;
        run(`${ctr} images ls -q | xargs -r ${ctr} images rm --sync; ${ctr} content ls -q | xargs -r ${ctr} content rm`);
        run(`ctr -a ${containerdSocket} namespaces rm ${containerdNamespace}`);
        network.destroy();
        fs.rmSync(work, { recursive: true, force: true });
    }
});

describe("client trust installed by the stack", () => {
    it("writes the CA for every name the registry answers to, ca.crt 0644 in a 0755 directory", () => {
        for (const dir of certsDirs) {
            expect(fs.readFileSync(`${dir}/ca.crt`, "utf8")).toBe(first.caCertPem.trim() + "\n");
            expect([mode(dir), mode(`${dir}/ca.crt`)]).toEqual(["755", "644"]);
            expect(fs.readdirSync(dir)).toEqual(["ca.crt"]);
        }
    });

    it("lets a real docker client log in and push, with TLS verified against it", () => {
        expect(dockerOk(`login ${endpoint} --username admin --password-stdin`, password)).toMatch(/Login Succeeded/);
        buildImage(`${image}:1`);
        dockerOk(`push ${image}:1`);
        const digest = repoDigest(`${image}:1`);
        expect(pullFresh("1")).toBe(digest);
    });

    it("is what Docker relies on: without the file the same client is refused as untrusted", () => {
        // Moved aside and back, not rewritten: the component's file is what the other tests use.
        fs.renameSync(`${certsDirs[0]}/ca.crt`, `${work}/ca.crt.aside`);
        try {
            docker(`rmi ${image}:1`);
            const result = docker(`pull ${image}:1`);
            expect(result.code).not.toBe(0);
            expect(result.stderr).toMatch(/x509: certificate signed by unknown authority/);
        } finally {
            fs.renameSync(`${work}/ca.crt.aside`, `${certsDirs[0]}/ca.crt`);
        }
        dockerOk(`pull ${image}:1`);
    });

    it("gives containerd a hosts.toml that ctr uses to verify the registry (the same scripts, in a temporary root)", () => {
        const root = fs.mkdtempSync(path.join(work, "containerd-"));
        const options: ClientTrustOptions = {
            endpoints: [endpoint], docker: false, dockerCertsDir: `${root}/docker`, containerd: true, containerdCertsDir: `${root}/containerd`,
        };
        const ctr = (hostsDir: string) => run(
            `ctr -a ${containerdSocket} -n ${containerdNamespace} content fetch --hosts-dir ${hostsDir} -u admin:${password} ${image}:1`,
            { timeoutMs: 120_000 });
        // Without the hosts.toml containerd refuses the registry's certificate.
        const untrusted = ctr(`${root}/containerd`);
        expect(untrusted.code).not.toBe(0);
        expect(untrusted.stderr).toMatch(/x509: certificate signed by unknown authority/);

        runOk("sh -s", { input: renderClientTrustInstallScript(options, first.caCertPem) });
        for (const file of clientTrustPaths(options, endpoint)) expect(mode(file)).toBe("644");
        const trusted = ctr(`${root}/containerd`);
        expect(trusted).toEqual(expect.objectContaining({ code: 0 }));

        runOk("sh -s", { input: renderClientTrustRemoveScript(options) });
        expect(fs.readdirSync(`${root}/containerd`)).toEqual([]);
    });
});

describe("server certificate renewal", () => {
    let before: ReturnType<typeof servedCertificate>;
    let after: ReturnType<typeof servedCertificate>;
    let renewed: UpResult;

    beforeAll(async () => {
        before = servedCertificate("served-before");
        // 25 days on, the 30-day certificate is inside its 7-day renewal window.
        renewed = await up(stack, config, { env: { LOCAL_APPLY_NOW: "+25d" } });
        after = servedCertificate("served-after");
    });

    it("replaces the server certificate and serves it: new serial, later expiry", () => {
        expect(progress(renewed).some((l) => /replace.*locallySignedCert.*registry-tls-server-cert/.test(l))).toBe(true);
        expect(after.serial).not.toBe(before.serial);
        expect(after.notAfter.getTime()).toBeGreaterThan(before.notAfter.getTime());
    });

    it("keeps the CA: same caCertPem, the installed ca.crt untouched, and it verifies the new certificate", () => {
        expect(outputsOf(renewed).caCertPem).toBe(first.caCertPem);
        expect(progress(renewed).some((l) => /client-trust/.test(l) && /update|replace|create|delete/.test(l))).toBe(false);
        expect(fs.readFileSync(`${certsDirs[0]}/ca.crt`, "utf8")).toBe(first.caCertPem.trim() + "\n");
        const ca = writeFile("ca-first.crt", first.caCertPem);
        expect(runOk(`openssl verify -CAfile ${ca} -verify_hostname ${registryName} ${after.file}`)).toMatch(/: OK/);
    });

    it("lets the client that logged in before pull and push with nothing done on its side", () => {
        expect(pullFresh("1")).toMatch(/^sha256:/);
        buildImage(`${image}:2`);
        dockerOk(`push ${image}:2`);
        const digest = repoDigest(`${image}:2`);
        expect(pullFresh("2")).toBe(digest);
    });
});

describe("CA rotation (caGeneration)", () => {
    let rotated: UpResult;
    let served: ReturnType<typeof servedCertificate>;

    beforeAll(async () => {
        rotated = await up(stack, { ...config, caGeneration: 2 });
        served = servedCertificate("served-rotated");
    });

    it("publishes a new caCertPem, from a new key, that the old CA does not vouch for", () => {
        expect(outputsOf(rotated).caCertPem).not.toBe(first.caCertPem);
        const lines = progress(rotated);
        expect(lines.some((l) => /create.*privateKey.*registry-tls-ca-key-gen2/.test(l))).toBe(true);
        expect(lines.some((l) => /delete.*privateKey.*registry-tls-ca-key\b(?!-)/.test(l))).toBe(true);
        const oldCa = writeFile("ca-old.crt", first.caCertPem);
        const newCa = writeFile("ca-new.crt", outputsOf(rotated).caCertPem);
        expect(run(`openssl verify -CAfile ${oldCa} ${served.file}`).code).not.toBe(0);
        expect(runOk(`openssl verify -CAfile ${newCa} -verify_hostname ${registryName} ${served.file}`)).toMatch(/: OK/);
    });

    it("has RegistryClientTrust install the new CA in place (an update, not a replace)", () => {
        expect(progress(rotated).some((l) => /~ update.*client-trust-client-0/.test(l))).toBe(true);
        for (const dir of certsDirs) {
            expect(fs.readFileSync(`${dir}/ca.crt`, "utf8")).toBe(outputsOf(rotated).caCertPem.trim() + "\n");
            expect(mode(`${dir}/ca.crt`)).toBe("644");
            expect(fs.readdirSync(dir)).toEqual(["ca.crt"]);
        }
    });

    it("lets the client that logged in before pull and push again, without logging in again", () => {
        expect(outputsOf(rotated).credentials.admin).toBe(password);
        expect(pullFresh("1")).toMatch(/^sha256:/);
        buildImage(`${image}:3`);
        dockerOk(`push ${image}:3`);
        const digest = repoDigest(`${image}:3`);
        expect(pullFresh("3")).toBe(digest);
    });
});

describe("a changed endpoint list", () => {
    it("replaces the trust command: the old directories are removed before the new list is written", async () => {
        const changed = await up(stack, { ...config, caGeneration: 2, ipAddresses: [] });
        expect(progress(changed).some((l) => /replace.*client-trust-client-0/.test(l))).toBe(true);
        expect(fs.existsSync(certsDirs[1])).toBe(false);
        expect(fs.readFileSync(`${certsDirs[0]}/ca.crt`, "utf8")).toBe(outputsOf(changed).caCertPem.trim() + "\n");
        expect(pullFresh("3")).toMatch(/^sha256:/);
    });
});

describe("down", () => {
    it("removes the installed CA files and their directories with the rest of the stack", async () => {
        await down(stack);
        for (const dir of certsDirs) expect(fs.existsSync(dir)).toBe(false);
        expect(fs.existsSync("/etc/docker/certs.d")).toBe(true);
        expect(run(`docker inspect ${containerName}`).code).not.toBe(0);
        expect(run("docker volume inspect rotation-e2e-data").code).not.toBe(0);
    });
});
