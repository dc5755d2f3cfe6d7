/**
 * Metrics for a real Prometheus: which host addresses may carry the unauthenticated debug server,
 * the scrape config the stack exports, and what the program declares with and without them.
 */
import * as YAML from "yaml";
import { isMonitoringAddress, metricsAddressProblem, metricsTarget, renderPrometheusScrapeConfig } from "../../components/metrics";
import { registryConfigObject } from "../../components/registryConfig";
import { defaultRegistrySettings, registrySettingsProblems, RegistrySettings } from "../../components/validation";
import { evaluateProgram, EvaluatedProgram, one } from "./support/program";

describe("metricsAddressProblem", () => {
    it.each(["127.0.0.1", "127.0.0.53", "::1", "10.0.0.5", "172.16.3.4", "192.168.1.10", "100.64.0.7", "fd00:abcd::5", "::ffff:127.0.0.1"])(
        "accepts the loopback or private address %s",
        (address) => {
            expect(metricsAddressProblem(address)).toBeUndefined();
            expect(isMonitoringAddress(address)).toBe(true);
        },
    );

    it.each([
        ["0.0.0.0", /every interface, the public one included/],
        ["::", /every interface, the public one included/],
        ["::ffff:0.0.0.0", /every interface, the public one included/],
        ["198.51.100.7", /is a reserved address, not a loopback or private one/],
        ["8.8.8.8", /is a public address, not a loopback or private one/],
        ["2a00:1450:4001::1", /is a public address/],
        ["::ffff:8.8.8.8", /is a public address/],
        ["169.254.1.1", /is a linkLocal address/],
        ["fe80::1", /is a linkLocal address/],
        ["224.0.0.1", /is a multicast address/],
        ["localhost", /is not an IPv4 or IPv6 address/],
        ["10.1", /is not an IPv4 or IPv6 address/],
        ["fe80::1%eth0", /is not an IPv4 or IPv6 address/],
        ["10.0.0.0/8", /is not an IPv4 or IPv6 address/],
    ])("refuses %s", (address, message) => {
        expect(metricsAddressProblem(address)).toMatch(message);
        expect(isMonitoringAddress(address)).toBe(false);
    });
});

describe("renderPrometheusScrapeConfig", () => {
    const text = renderPrometheusScrapeConfig({ jobName: "private-registry-registry", targets: [metricsTarget("10.0.0.5", 5001)], labels: { registry: "registry.example.com:5000" } });

    it("is a scrape_configs block with one plain-HTTP job at /metrics", () => {
        expect(YAML.parse(text)).toEqual({
            scrape_configs: [{
                job_name: "private-registry-registry",
                scheme: "http",
                metrics_path: "/metrics",
                static_configs: [{ targets: ["10.0.0.5:5001"], labels: { registry: "registry.example.com:5000" } }],
            }],
        });
    });

    it("writes IPv6 targets in brackets, and leaves labels out when there are none", () => {
        const v6 = YAML.parse(renderPrometheusScrapeConfig({ jobName: "r", targets: [metricsTarget("::1", 9101)] }));
        expect(v6.scrape_configs[0].static_configs).toEqual([{ targets: ["[::1]:9101"] }]);
    });

    it("refuses a config Prometheus would reject or scrape nothing with", () => {
        expect(() => renderPrometheusScrapeConfig({ jobName: " ", targets: ["a:1"] })).toThrow(/job name is empty/);
        expect(() => renderPrometheusScrapeConfig({ jobName: "r", targets: [] })).toThrow(/no targets/);
    });
});

describe("the debug server's address in config.yml", () => {
    const debug = (publish?: boolean) => (registryConfigObject({ httpSecret: "s", publishDebugServer: publish }).http as { debug: { addr: string } }).debug;

    it("stays on the container's loopback unless metrics are published", () => {
        expect(debug().addr).toBe("127.0.0.1:5001");
        expect(debug(false).addr).toBe("127.0.0.1:5001");
        // Docker forwards a published port to the container's own address, so loopback alone would not answer.
        expect(debug(true).addr).toBe(":5001");
    });
});

describe("validation of metricsBindAddress and metricsPort", () => {
    const settings = (overrides: Partial<RegistrySettings>): RegistrySettings => ({ ...defaultRegistrySettings, ...overrides });
    const problems = (overrides: Partial<RegistrySettings>) => registrySettingsProblems(settings(overrides), (f) => `private-registry:${f}`, false);

    it("accepts the defaults (metrics off) and a loopback or private address", () => {
        expect(problems({})).toEqual([]);
        expect(problems({ metricsBindAddress: "127.0.0.1" })).toEqual([]);
        expect(problems({ metricsBindAddress: "10.0.0.5", metricsPort: 9101 })).toEqual([]);
    });

    it("refuses the wildcard, saying why and what to set instead", () => {
        expect(problems({ metricsBindAddress: "0.0.0.0" })).toEqual([
            "private-registry:metricsBindAddress: \"0.0.0.0\" publishes the unauthenticated debug server (metrics, health, Go profiling) on every interface, the public one included; "
            + "the debug server has no authentication. Fix: pulumi config set private-registry:metricsBindAddress 127.0.0.1 (Prometheus on the Docker host) "
            + "or an address of the host on your monitoring network, e.g. 10.0.0.5",
        ]);
        expect(problems({ metricsBindAddress: "::" })).toHaveLength(1);
    });

    it("refuses a public address", () => {
        expect(problems({ metricsBindAddress: "8.8.8.8" })).toEqual([expect.stringMatching(/^private-registry:metricsBindAddress: "8\.8\.8\.8" is a public address/)]);
    });

    it("refuses a metrics port outside 1-65535, or shared with the registry, or with SSH under the firewall", () => {
        expect(problems({ metricsBindAddress: "127.0.0.1", metricsPort: 0 })).toEqual(["private-registry:metricsPort: 0 is outside 1-65535. Fix: pulumi config set private-registry:metricsPort 5001"]);
        expect(problems({ metricsBindAddress: "127.0.0.1", metricsPort: 5000 })).toEqual([expect.stringMatching(/^private-registry:metricsPort: 5000 is also port\. Fix: pick a port of its own/)]);
        const firewall = { firewallEnabled: true, registryAllowedCidrs: ["10.0.0.0/8"], sshAllowedCidrs: ["10.1.0.0/16"] };
        expect(problems({ ...firewall, metricsBindAddress: "127.0.0.1", metricsPort: 22 })).toEqual([expect.stringMatching(/^private-registry:metricsPort: 22 is also sshPort/)]);
        // Without a metrics address nothing is published, so the port is not checked.
        expect(problems({ metricsPort: 5000 })).toEqual([]);
    });
});

describe("the program with metrics", () => {
    const containerOf = (p: EvaluatedProgram) => one(p.resources, "docker:index/container:Container", "-server-container").inputs;
    const configOf = (p: EvaluatedProgram) => {
        const init = one(p.resources, "docker:index/container:Container", "-server-init").inputs;
        const upload = (init.uploads as { file: string; content: string }[]).find((u) => u.file.endsWith("config.yml"))!;
        return YAML.parse(upload.content) as { http: { debug: { addr: string } } };
    };
    const firewallOf = (p: EvaluatedProgram) => one(p.resources, "command:local:Command", "-firewall-rules").inputs.create as string;
    const frontPortsOf = (p: EvaluatedProgram) => one(p.resources, "docker:index/container:Container", "-front-container").inputs.ports as unknown[];
    const firewall = {
        "private-registry:firewallEnabled": true,
        "private-registry:registryAllowedCidrs": ["10.20.0.0/16"],
        "private-registry:sshAllowedCidrs": ["10.20.1.0/24"],
    };
    let off: EvaluatedProgram;
    let on: EvaluatedProgram;
    let direct: EvaluatedProgram;

    beforeAll(async () => {
        off = await evaluateProgram({ stack: "dev", config: firewall });
        direct = await evaluateProgram({ stack: "dev", config: { ...firewall, "private-registry:maintenanceEnabled": false } });
        on = await evaluateProgram({
            stack: "dev",
            config: { ...firewall, "private-registry:metricsBindAddress": "10.0.0.5", "private-registry:metricsPort": 9101 },
        });
    });

    it("publishes nothing and exports empty metrics outputs by default", () => {
        // The front publishes the registry port; the debug server is reachable on the registries' own network only.
        expect(containerOf(off).ports).toEqual([]);
        expect(frontPortsOf(off)).toEqual([{ internal: 5000, external: 5000, ip: "0.0.0.0", protocol: "tcp" }]);
        expect(configOf(off).http.debug.addr).toBe(":5001");
        // Without the front's health checks it stays on the container's loopback.
        expect(containerOf(direct).ports).toEqual([{ internal: 5000, external: 5000, ip: "0.0.0.0", protocol: "tcp" }]);
        expect(configOf(direct).http.debug.addr).toBe("127.0.0.1:5001");
        expect(off.outputs.metricsEndpoint).toBe("");
        expect(off.outputs.prometheusScrapeConfig).toBe("");
        expect(firewallOf(off)).not.toMatch(/metrics-drop/);
    });

    it("publishes the debug port on the named address only, and the firewall drops that port on the public interface", () => {
        expect(containerOf(on).ports).toEqual([{ internal: 5001, external: 9101, ip: "10.0.0.5", protocol: "tcp" }]);
        expect(frontPortsOf(on)).toEqual([{ internal: 5000, external: 5000, ip: "0.0.0.0", protocol: "tcp" }]);
        expect(configOf(on).http.debug.addr).toBe(":5001");
        expect(firewallOf(on)).toContain('tcp dport 9101 counter drop comment "metrics-drop"');
        expect(firewallOf(on)).toContain('ct original proto-dst 9101 counter drop comment "metrics-drop"');
    });

    it("exports the scrape target and a ready scrape config, neither secret", () => {
        expect(on.outputs.metricsEndpoint).toBe("10.0.0.5:9101");
        expect(YAML.parse(on.outputs.prometheusScrapeConfig)).toEqual({
            scrape_configs: [{
                job_name: "private-registry-registry-dev",
                scheme: "http",
                metrics_path: "/metrics",
                static_configs: [{ targets: ["10.0.0.5:9101"], labels: { registry: "localhost:5000" } }],
            }],
        });
        expect(on.secretOutputs.prometheusScrapeConfig).toBe(false);
    });

    it("refuses a wildcard metrics address before declaring anything", async () => {
        const failing = evaluateProgram({ stack: "dev", config: { "private-registry:metricsBindAddress": "0.0.0.0" } });
        await expect(failing).rejects.toThrow(/private-registry:metricsBindAddress: "0\.0\.0\.0" publishes the unauthenticated debug server/);
        await expect(failing).rejects.toHaveProperty("registered", 0);
    });
});
