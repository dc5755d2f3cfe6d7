/**
 * Real-kernel proof of the RegistryFirewall rules: network namespaces as hosts on the far side of
 * a test veth that plays the public interface, the registry published by Docker, probes from each
 * host. Root only; see the topology in net.ts. Tests run in order and share state.
 */
import { ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as dgram from "dgram";
import { firewallUnitName, renderAsRoot, renderFirewallApplyScript } from "../../components/firewallRules";
import { firewallOptions, HarnessDeployment } from "./deploy";
import { restartDockerd, waitForContainer } from "./dockerd";
import {
    assertPrefixesUnused, createTopology, destroyTopology, echoThrough, flushNeighbours, hosts, must, probe, probeMany, registryProbe,
    run, startHelper, stopHelper, target, topo,
} from "./net";
import { counter, matchedInterfaces, tableCount, tableExists, tableRules, tableText } from "./nft";

const deployment = new HarnessDeployment();
const otherPorts = [2375, 5001, 8080];
const helpers: ChildProcess[] = [];
const sockets: net.Socket[] = [];
let inboundClient: ChildProcess & { lines: string[] };
let outboundSocket: net.Socket;
const outboundEchoes: string[] = [];

type Matrix = Record<string, string>;

/** Result of a registry probe in matrix terms: the HTTP status, or how the connection failed. */
function registryOutcome(r: { code: number; status: string; stderr: string }): string {
    if (r.code === 0) return r.status;
    if (r.code === 28) return "timeout";
    if (r.code === 7) return "refused";
    return `curl exit ${r.code}: ${r.stderr}`;
}

/** Probes every (host, port) pair in parallel: registry over TLS, the rest as TCP connects. */
async function probeMatrix(): Promise<Matrix> {
    await flushNeighbours();
    const jobs: Array<Promise<Array<[string, string]>>> = [];
    for (const h of hosts) {
        jobs.push(registryProbe(h.ns, topo.hostV4, deployment.registryPort, deployment.caFile)
            .then((r) => [[`${h.ns} registry`, registryOutcome(r)]]));
        const targets: Array<[string, string]> = [
            ...[22, deployment.tokenPort, ...otherPorts].map((port): [string, string] => [`${h.ns} ${port}`, target(topo.hostV4, port)]),
            ...[22, 8080].map((port): [string, string] => [`${h.ns} v6 ${port}`, target(topo.hostV6, port)]),
        ];
        jobs.push(probeMany(h.ns, targets.map(([, t]) => t)).then((results) => targets.map(([key, t]) => [key, results[t]])));
    }
    return Object.fromEntries((await Promise.all(jobs)).flat());
}

function expectedMatrix(firewalled: boolean): Matrix {
    const open = (yes: boolean, how = "connected") => (yes || !firewalled ? how : "timeout");
    const m: Matrix = {};
    for (const h of hosts) {
        m[`${h.ns} registry`] = open(h === topo.reg, "401");
        m[`${h.ns} 22`] = open(h === topo.ssh);
        // The token service shares the registry's allowlist.
        m[`${h.ns} ${deployment.tokenPort}`] = open(h === topo.reg);
        for (const port of otherPorts) m[`${h.ns} ${port}`] = open(false);
        m[`${h.ns} v6 22`] = open(h === topo.ssh);
        m[`${h.ns} v6 8080`] = open(false);
    }
    return m;
}

const inputOnlyTable = "rfwt_input_only";
const inputOnlyRuleset = `table inet ${inputOnlyTable} {
	chain input {
		type filter hook input priority filter; policy accept;
		iifname "${topo.publicInterface}" tcp dport ${deployment.registryPort} drop
	}
}
`;

/** The registry answers again from the allowed host (after Docker or the rules came back). */
async function waitForRegistry(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const r = await registryProbe(topo.reg.ns, topo.hostV4, deployment.registryPort, deployment.caFile);
        if (r.code === 0 && r.status === "401") return;
        if (Date.now() > deadline) throw new Error(`registry did not answer: ${registryOutcome(r)}`);
        await new Promise((done) => setTimeout(done, 500));
    }
}

/** Docker's own nat rules for the registry port, as iptables(-nft) shows them. */
async function dockerDnatRules(): Promise<string[]> {
    const rules = await must("iptables", ["-t", "nat", "-S", "DOCKER"]);
    return rules.split("\n").filter((l) => l.includes(`--dport ${deployment.registryPort}`) && l.includes("DNAT"));
}

beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error("the firewall suite needs root (network namespaces, nftables)");
    await must("nft", ["--version"]);
    await must("docker", ["info", "--format", "{{.ID}}"]);
    // A table of this name that is not scoped to the test interface belongs to someone else.
    if (await tableExists()) {
        const interfaces = await matchedInterfaces();
        if (interfaces.some((i) => i !== topo.publicInterface)) {
            throw new Error(`table inet private_registry exists for ${interfaces.join(", ")}; refusing to touch it`);
        }
    }
    const installed = `${deployment.install.persistDir}/firewall.nft`;
    if (fs.existsSync(installed) && !fs.readFileSync(installed, "utf8").includes(`iifname != "${topo.publicInterface}"`)) {
        throw new Error(`${installed} exists for another interface; refusing to touch it`);
    }
    await deployment.cleanup();
    await destroyTopology();
    await assertPrefixesUnused();
    await createTopology();

    // Listeners on the host, bound to the test interface's addresses only.
    const hostPorts = [22, ...otherPorts];
    helpers.push(await startHelper(undefined, "listen.js", [
        ...hostPorts.map((p) => `tcp:${topo.hostV4}:${p}`),
        `tcp:[${topo.hostV6}]:22`, `tcp:[${topo.hostV6}]:8080`,
    ], "ready"));
    // Servers out on the "internet" side, for the host's own outbound traffic.
    helpers.push(await startHelper(topo.out.ns, "listen.js", [`tcp:${topo.out.v4}:9000`, `udp:${topo.out.v4}:9001`], "ready"));

    await deployment.upWithoutFirewall();
    await waitForRegistry();
}, 180_000);

afterAll(async () => {
    // Every step runs even if an earlier one fails, so nothing is left behind.
    const errors: unknown[] = [];
    const attempt = async (step: () => unknown) => { try { await step(); } catch (err) { errors.push(err); } };
    for (const s of sockets) s.destroy();
    // Clients before the listeners they talk to.
    for (const h of [...helpers].reverse()) await attempt(() => stopHelper(h));
    await attempt(() => run("nft", ["delete", "table", "inet", inputOnlyTable]));
    await attempt(() => deployment.cleanup());
    await attempt(() => destroyTopology());
    await attempt(() => deployment.dispose());
    if (errors.length > 0) throw errors[0];
}, 120_000);

describe(`RegistryFirewall on a real kernel (${deployment.description})`, () => {
    it("without the firewall, every host reaches every port, the registry through Docker's DNAT", async () => {
        expect(await tableExists()).toBe(false);
        // Docker publishes the registry with a DNAT rule, so namespace traffic takes the forward path.
        expect(await dockerDnatRules()).toHaveLength(1);
        expect(await probeMatrix()).toEqual(expectedMatrix(false));

        // Connections that exist before the rules load, in both directions, from a host that
        // will be denied: they must survive.
        inboundClient = await startHelper(topo.out.ns, "echo-client.js", [topo.hostV4, "8080"], "connected");
        helpers.push(inboundClient);
        outboundSocket = await new Promise<net.Socket>((resolve, reject) => {
            const s = net.connect({ host: topo.out.v4, port: 9000 }, () => resolve(s));
            s.on("error", reject);
        });
        sockets.push(outboundSocket);
        outboundSocket.setEncoding("utf8");
        outboundSocket.on("data", (d: string) => outboundEchoes.push(...d.split("\n").filter(Boolean)));
        expect(await echoThrough(inboundClient, "before")).toBe(true);
    });

    it("a rule on the input path alone, as ufw writes it, does not stop the registry port", async () => {
        // Why the firewall needs a forward chain: Docker's DNAT sends published-port traffic past input.
        await must("nft", ["-f", "-"], { input: inputOnlyRuleset });
        try {
            expect(registryOutcome(await registryProbe(topo.out.ns, topo.hostV4, deployment.registryPort, deployment.caFile))).toBe("401");
            expect(await probe(topo.out.ns, topo.hostV4, deployment.registryPort)).toBe("connected");
        } finally {
            await run("nft", ["delete", "table", "inet", inputOnlyTable]);
        }
    });

    it("with the firewall, only the registry and token ports (allowlisted) and SSH (allowlisted) are open on the public interface", async () => {
        await deployment.upWithFirewall();
        expect(await tableExists()).toBe(true);
        const started = Date.now();
        expect(await probeMatrix()).toEqual(expectedMatrix(true));
        console.log(`probe matrix with the firewall: ${Date.now() - started} ms`);
    }, 180_000);

    it("the namespaces' registry traffic is filtered on the forward path, matched by its original port", async () => {
        // The allowed host's connection was accepted in forward, the denied hosts' SYNs dropped
        // there; nothing reached the input chain's registry rule, so docker-proxy was not involved.
        expect(await counter("forward", "registry-v4")).toBeGreaterThan(0);
        expect(await counter("forward", "forward-drop")).toBeGreaterThan(0);
        expect(await counter("input", "registry-v4")).toBe(0);
        expect(await counter("input", "ssh-v4")).toBeGreaterThan(0);
        expect(await counter("input", "ssh-v6")).toBeGreaterThan(0);
    });

    it("keeps established connections and the host's own outbound traffic working", async () => {
        // Opened before the rules, from a host the rules now deny.
        expect(await echoThrough(inboundClient, "after")).toBe(true);
        outboundSocket.write("held\n");
        await new Promise((done) => setTimeout(done, 300));
        expect(outboundEchoes).toContain("held");

        // New outbound TCP, UDP and ping from the host to the denied host: replies come back.
        const fresh = await new Promise<string>((resolve, reject) => {
            const s = net.connect({ host: topo.out.v4, port: 9000 }, () => s.write("fresh\n"));
            s.setTimeout(3000, () => reject(new Error("outbound TCP timed out")));
            s.on("data", (d) => { resolve(String(d).trim()); s.destroy(); });
            s.on("error", reject);
        });
        expect(fresh).toBe("fresh");
        const udpReply = await new Promise<string>((resolve, reject) => {
            const s = dgram.createSocket("udp4");
            const timer = setTimeout(() => { s.close(); reject(new Error("no UDP reply")); }, 3000);
            s.on("message", (m) => { clearTimeout(timer); s.close(); resolve(String(m)); });
            s.send("udp-hello", 9001, topo.out.v4);
        });
        expect(udpReply).toBe("udp-hello");
        expect((await run("busybox", ["ping", "-c", "1", "-W", "2", topo.out.v4])).code).toBe(0);
        // ...while the same host cannot ping in: echo requests are not among the allowed ICMP.
        expect((await run("ip", ["netns", "exec", topo.out.ns, "busybox", "ping", "-c", "1", "-W", "2", topo.hostV4])).code).not.toBe(0);
    });

    it("leaves other interfaces, loopback and Docker's own rules alone", async () => {
        expect(await matchedInterfaces()).toEqual([topo.publicInterface]);
        // Same host, same ports, through the second (unfirewalled) interface.
        const side = topo.side.ns;
        expect(await probe(side, topo.hostV4, 8080)).toBe("connected");
        expect(await probe(side, topo.hostV4, 2375)).toBe("connected");
        expect(registryOutcome(await registryProbe(side, topo.hostV4, deployment.registryPort, deployment.caFile))).toBe("401");
        // Loopback goes through docker-proxy.
        const local = await run("curl", ["-sS", ...(deployment.caFile ? ["--cacert", deployment.caFile] : ["-k"]), "--max-time", "5",
            "-o", "/dev/null", "-w", "%{http_code}", `https://127.0.0.1:${deployment.registryPort}/v2/`]);
        expect(local.stdout).toBe("401");
        expect(await dockerDnatRules()).toHaveLength(1);
    });

    it("applying twice leaves one copy of each rule", async () => {
        const before = await tableText();
        const ruleCount = (await tableRules()).length;
        const apply = await deployment.applyCommand();
        // What the stack declared is the component's rendering for the test interface, nothing else.
        expect(apply).toBe(renderAsRoot(renderFirewallApplyScript(firewallOptions)));
        await must("sh", ["-c", apply]);
        expect(await tableCount()).toBe(1);
        expect((await tableRules()).length).toBe(ruleCount);
        expect(await tableText()).toBe(before);
        expect(await probe(topo.out.ns, topo.hostV4, 8080)).toBe("timeout");
    });

    it("reloads the installed rules after they are flushed, as at boot", async () => {
        const { persistDir, systemdUnitDir } = deployment.install;
        const rulesFile = `${persistDir}/firewall.nft`;
        const enabledLink = `${systemdUnitDir}/multi-user.target.wants/${firewallUnitName}`;
        expect(fs.existsSync(rulesFile)).toBe(true);
        expect(fs.realpathSync(enabledLink)).toBe(`${systemdUnitDir}/${firewallUnitName}`);
        const unit = fs.readFileSync(enabledLink, "utf8");
        if ((await run("systemd-analyze", ["--version"])).code === 0) {
            const verify = await run("systemd-analyze", ["verify", `${systemdUnitDir}/${firewallUnitName}`]);
            expect(verify.stderr).toBe("");
        }
        const execStart = /^ExecStart=(.+)$/m.exec(unit)![1].trim().split(/\s+/);
        expect(execStart.slice(1)).toEqual(["-f", rulesFile]);

        const loaded = await tableText();
        await must("nft", ["delete", "table", "inet", "private_registry"]);
        expect(await probe(topo.out.ns, topo.hostV4, 8080)).toBe("connected");

        // What systemd runs at boot: the unit's ExecStart, verbatim.
        await must(execStart[0], execStart.slice(1));
        expect(await tableText()).toBe(loaded);
        expect(await probeMatrix()).toEqual(expectedMatrix(true));
    });

    it("survives a dockerd restart, which rebuilds Docker's chains but not this table", async () => {
        const loaded = await tableText();
        const how = await restartDockerd();
        console.log(`restarted dockerd: ${how}`);
        await waitForContainer(deployment.containerName);
        await waitForRegistry();
        expect(await dockerDnatRules()).toHaveLength(1);
        expect(await tableText()).toBe(loaded);
        expect(await probeMatrix()).toEqual(expectedMatrix(true));
    }, 150_000);

    it("down removes the rules and the boot install", async () => {
        await deployment.down();
        expect(await tableExists()).toBe(false);
        expect(fs.existsSync(`${deployment.install.persistDir}/firewall.nft`)).toBe(false);
        expect(fs.existsSync(`${deployment.install.systemdUnitDir}/${firewallUnitName}`)).toBe(false);
        expect(fs.existsSync(`${deployment.install.systemdUnitDir}/multi-user.target.wants/${firewallUnitName}`)).toBe(false);
        expect(await probe(topo.out.ns, topo.hostV4, 8080)).toBe("connected");
    });
});
