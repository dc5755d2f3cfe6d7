/**
 * The registry's metrics port on a real kernel: published by Docker on a monitoring address (the
 * side interface's, 10.251.1.1), reachable from the monitoring host (rfwt-side), and closed to the
 * hosts behind the public interface once the firewall is on, including through Docker's DNAT, which
 * matches the published address whatever interface a packet came in on. Root only; the topology
 * is net.ts's. Tests run in order and share state. It does not restart dockerd.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderAsRoot, renderFirewallRemoveScript, defaultFirewallInstallOptions } from "../../components/firewallRules";
import { removeStackDockerObjects } from "./deploy";
import { assertPrefixesUnused, createTopology, destroyTopology, inNs, must, probe, registryProbe, run, topo } from "./net";
import { counter, matchedInterfaces, tableExists } from "./nft";

const repoRoot = path.resolve(__dirname, "../..");
const containerName = "rfwt-metrics-registry";
const registryPort = 5300;
const metricsPort = 5301;
/** The host's address on the monitoring network: the side interface, which the firewall leaves alone. */
const monitoringAddress = topo.sideHostV4;
const projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "rfwt-metrics-stack-"));
let caFile: string;
let outputs: { metricsEndpoint: string; prometheusScrapeConfig: string; caCertPem: string };

/** The dev stack in a project directory of its own, through the local apply harness, as deploy.ts does it. */
async function harness(args: string[]): Promise<string> {
    return must("npm", ["run", "-s", "local", "--", ...args, "--stack", "dev", "--project-dir", projectDir,
        "--program", path.join(repoRoot, "index.ts")], { timeoutMs: 300_000 });
}

async function up(firewall: boolean): Promise<void> {
    const config: Record<string, string> = {
        containerName,
        dataVolumeName: `${containerName}-data`,
        port: String(registryPort),
        ipAddresses: JSON.stringify([topo.hostV4, topo.sideHostV4]),
        metricsBindAddress: monitoringAddress,
        metricsPort: String(metricsPort),
        firewallEnabled: String(firewall),
        publicInterface: topo.publicInterface,
        registryAllowedCidrs: JSON.stringify(topo.registryAllowedCidrs),
        sshAllowedCidrs: JSON.stringify(topo.sshAllowedCidrs),
    };
    await harness(["up", ...Object.entries(config).flatMap(([k, v]) => ["--config", `private-registry:${k}=${v}`])]);
    outputs = JSON.parse(await harness(["output", "--json", "--show-secrets"])) as typeof outputs;
    caFile = path.join(projectDir, "ca.crt");
    fs.writeFileSync(caFile, outputs.caCertPem);
}

/** HTTP status of GET /metrics from a namespace, or how the connection failed. */
async function metricsFrom(ns: string, address: string): Promise<string> {
    const r = await inNs(ns, "curl", ["-sS", "--connect-timeout", "2", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
        `http://${address}:${metricsPort}/metrics`], 20_000);
    if (r.code === 0) return r.stdout.trim();
    return r.code === 28 ? "timeout" : r.code === 7 ? "refused" : `curl exit ${r.code}: ${r.stderr.trim()}`;
}

/** The registry from the allowlisted host: 401 (it wants a login) when it answers. */
async function registryFromAllowedHost(): Promise<string> {
    const r = await registryProbe(topo.reg.ns, topo.hostV4, registryPort, caFile);
    return r.code === 0 ? r.status : `curl exit ${r.code}: ${r.stderr}`;
}

async function waitForMetrics(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((await metricsFrom(topo.side.ns, monitoringAddress)) !== "200") {
        if (Date.now() > deadline) throw new Error(`metrics did not answer on ${monitoringAddress}:${metricsPort} from ${topo.side.ns}`);
        await new Promise((r) => setTimeout(r, 500));
    }
}

/** Removes whatever this file may have left (also after a crash). Never throws. */
async function cleanup(): Promise<void> {
    if (fs.existsSync(path.join(projectDir, ".local-state", "dev.json"))) await harness(["down"]).catch(() => undefined);
    await run("sh", ["-c", renderAsRoot(renderFirewallRemoveScript(defaultFirewallInstallOptions))]);
    await removeStackDockerObjects(containerName);
}

beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("the firewall suite needs root (network namespaces, nftables)");
    await must("nft", ["--version"]);
    // A table of this name that is not scoped to the test interface belongs to someone else.
    if (await tableExists()) {
        const interfaces = await matchedInterfaces();
        if (interfaces.some((i) => i !== topo.publicInterface)) {
            throw new Error(`table inet private_registry exists for ${interfaces.join(", ")}; refusing to touch it`);
        }
    }
    for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml"]) fs.copyFileSync(path.join(repoRoot, f), path.join(projectDir, f));
    await cleanup();
    await destroyTopology();
    await assertPrefixesUnused();
    await createTopology();
    // Hosts on the public side that send to the monitoring address through the host's public
    // interface, as a neighbour on that segment can: the host accepts it (weak host model) and
    // Docker's DNAT matches the published address, not the interface.
    for (const ns of [topo.out.ns, topo.reg.ns]) await must("ip", ["-n", ns, "route", "add", "10.251.1.0/24", "via", topo.hostV4]);
    await up(false);
    await waitForMetrics();
}, 240_000);

afterAll(async () => {
    const errors: unknown[] = [];
    for (const step of [cleanup, destroyTopology]) {
        try { await step(); } catch (err) { errors.push(err); }
    }
    fs.rmSync(projectDir, { recursive: true, force: true });
    if (errors.length > 0) throw errors[0];
}, 180_000);

describe("the metrics port on a real kernel", () => {
    it("is published on the monitoring address only, as the stack exports it", async () => {
        expect(outputs.metricsEndpoint).toBe(`${monitoringAddress}:${metricsPort}`);
        expect(outputs.prometheusScrapeConfig).toContain(`- ${monitoringAddress}:${metricsPort}`);
        expect((await must("docker", ["port", containerName, "5001/tcp"])).trim()).toBe(`${monitoringAddress}:${metricsPort}`);
    });

    it("without the firewall, the public side reaches it through Docker's DNAT: what the firewall has to close", async () => {
        expect(await tableExists()).toBe(false);
        expect(await metricsFrom(topo.side.ns, monitoringAddress)).toBe("200");
        expect(await metricsFrom(topo.out.ns, monitoringAddress)).toBe("200");
        // Not published on the public address at all.
        expect(await probe(topo.out.ns, topo.hostV4, metricsPort)).toBe("refused");
    });

    it("with the firewall, a host outside the allowlists cannot reach it, by either address", async () => {
        await up(true);
        expect(await tableExists()).toBe(true);
        expect(await metricsFrom(topo.out.ns, monitoringAddress)).toBe("timeout");
        expect(await probe(topo.out.ns, topo.hostV4, metricsPort)).toBe("timeout");
    }, 240_000);

    it("nor can the host the registry allowlist lets in, while its registry port stays open to it", async () => {
        expect(await metricsFrom(topo.reg.ns, monitoringAddress)).toBe("timeout");
        expect(await probe(topo.reg.ns, topo.hostV4, metricsPort)).toBe("timeout");
        expect(await registryFromAllowedHost()).toBe("401");
    });

    it("the drops were the metrics rules' own, on both paths", async () => {
        expect(await counter("forward", "metrics-drop")).toBeGreaterThan(0);
        expect(await counter("input", "metrics-drop")).toBeGreaterThan(0);
    });

    it("the monitoring host still scrapes it: the firewall leaves other interfaces alone", async () => {
        await waitForMetrics(30_000);
        expect(await metricsFrom(topo.side.ns, monitoringAddress)).toBe("200");
    });
});
