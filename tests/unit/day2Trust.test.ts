/**
 * The program's day-2 trust settings under Pulumi's mocks: client trust on the machine running
 * Pulumi, CA rotation by generation, and the healthcheck's start interval.
 */
import {
    renderClientTrustAsRoot, renderClientTrustInstallScript, renderClientTrustRemoveScript,
} from "../../components/clientTrust";
import { byType, evaluateProgram, one } from "./support/program";

const key = (k: string) => `private-registry:${k}`;
const trustCommands = (resources: Awaited<ReturnType<typeof evaluateProgram>>["resources"]) =>
    byType(resources, "command:local:Command").filter((r) => r.name.startsWith("client-trust-"));

describe("clientTrustLocal", () => {
    it("is off by default: no client trust component, no command", async () => {
        const dev = await evaluateProgram({ stack: "dev" });
        expect(byType(dev.resources, "private-registry:index:RegistryClientTrust")).toEqual([]);
        expect(trustCommands(dev.resources)).toEqual([]);
    });

    it("installs the stack's CA for every hostname and IP address with the port, locally, removed on destroy", async () => {
        const dev = await evaluateProgram({
            stack: "dev",
            config: { [key("clientTrustLocal")]: true, [key("hostnames")]: ["registry.example.com", "localhost"], [key("ipAddresses")]: ["10.253.7.1"], [key("port")]: 5311 },
        });
        const [component] = byType(dev.resources, "private-registry:index:RegistryClientTrust");
        expect(component.name).toBe("client-trust");
        const [cmd] = trustCommands(dev.resources);
        expect(cmd.name).toBe("client-trust-client-0");
        expect(cmd.parentUrn).toBe(component.urn);
        expect(cmd.deleteBeforeReplace).toBe(true);
        const options = {
            endpoints: ["registry.example.com:5311", "localhost:5311", "10.253.7.1:5311"],
            docker: true, dockerCertsDir: "/etc/docker/certs.d", containerd: false, containerdCertsDir: "/etc/containerd/certs.d",
        };
        expect(cmd.inputs.create).toBe(renderClientTrustAsRoot(renderClientTrustInstallScript(options, dev.outputs.caCertPem)));
        expect(cmd.inputs.delete).toBe(renderClientTrustAsRoot(renderClientTrustRemoveScript(options)));
    });

    it("adds containerd's files with clientTrustContainerd", async () => {
        const dev = await evaluateProgram({ stack: "dev", config: { [key("clientTrustLocal")]: true, [key("clientTrustContainerd")]: true } });
        const [cmd] = trustCommands(dev.resources);
        expect(cmd.inputs.create).toContain("/etc/containerd/certs.d/localhost:5000' hosts.toml");
        expect(cmd.inputs.delete).toContain("remove_files '/etc/containerd/certs.d/localhost:5000' hosts.toml ca.crt");
    });

    it("refuses clientTrustContainerd alone before anything is declared", async () => {
        await expect(evaluateProgram({ stack: "dev", config: { [key("clientTrustContainerd")]: true } }))
            .rejects.toThrow(/clientTrustContainerd: is true but private-registry:clientTrustLocal is false.*Fix: pulumi config set private-registry:clientTrustLocal true/);
    });
});

describe("caGeneration", () => {
    it("keeps the CA key's name at generation 1 and names a new key for each later generation", async () => {
        const first = await evaluateProgram({ stack: "dev" });
        expect(one(first.resources, "tls:index/privateKey:PrivateKey", "-ca-key").name).toBe("registry-tls-ca-key");
        const second = await evaluateProgram({ stack: "dev", config: { [key("caGeneration")]: 2 } });
        const keys = byType(second.resources, "tls:index/privateKey:PrivateKey").map((r) => r.name).sort();
        expect(keys).toEqual(["registry-tls-ca-key-gen2", "registry-tls-server-key"]);
        // The CA certificate is signed by the new key, so its inputs (and the server certificate's) change.
        const caCert = (p: typeof first) => one(p.resources, "tls:index/selfSignedCert:SelfSignedCert").inputs.privateKeyPem;
        expect(caCert(second)).not.toBe(caCert(first));
        expect(second.outputs.caCertPem).toBeDefined();
    });

    it.each([0, -1, 1.5])("refuses %p, naming the key and the fix", async (generation) => {
        await expect(evaluateProgram({ stack: "dev", config: { [key("caGeneration")]: generation } }))
            .rejects.toThrow(/caGeneration: .* is not a generation \(1, 2, 3, \.\.\.\)\. Fix: pulumi config set private-registry:caGeneration 1/);
    });
});

describe("healthcheck", () => {
    it("probes every second during the 10 s start period (Docker 25+) and every 30 s after", async () => {
        const dev = await evaluateProgram({ stack: "dev" });
        const { healthcheck } = one(dev.resources, "docker:index/container:Container", "-server-container").inputs;
        expect(healthcheck).toEqual(expect.objectContaining({ interval: "30s", startPeriod: "10s", startInterval: "1s", retries: 3 }));
    });
});
