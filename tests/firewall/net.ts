import { ChildProcess, execFile, spawn } from "child_process";
import * as path from "path";

/**
 * Test topology. Every name starts with "rfwt" so cleanup can find exactly what this suite made.
 *
 *   root namespace (the "host")                 rfwt-lan namespace (a switch)        host namespaces
 *   rfwt-pub 10.251.0.1/24, fd51:fa11::1/64 ==== uplink --[ br0 ]-- reg0  ======  rfwt-reg  10.251.0.10  fd51:fa11::10
 *      (the firewall's public interface)                        \-- ssh0  ======  rfwt-ssh  10.251.0.20  fd51:fa11::20
 *                                                               \-- out0  ======  rfwt-out  10.251.0.30  fd51:fa11::30
 *   rfwt-side 10.251.1.1/24 ======================================================  rfwt-side 10.251.1.2 (not firewalled)
 *
 * All three hosts reach the host through the one interface the firewall is scoped to. The root
 * namespace gets nothing but the two test interfaces' own addresses (and their connected routes).
 */
export const topo = {
    publicInterface: "rfwt-pub",
    sideInterface: "rfwt-side",
    hostV4: "10.251.0.1",
    hostV6: "fd51:fa11::1",
    sideHostV4: "10.251.1.1",
    lan: "rfwt-lan",
    side: { ns: "rfwt-side", v4: "10.251.1.2" },
    reg: { ns: "rfwt-reg", v4: "10.251.0.10", v6: "fd51:fa11::10" },
    ssh: { ns: "rfwt-ssh", v4: "10.251.0.20", v6: "fd51:fa11::20" },
    out: { ns: "rfwt-out", v4: "10.251.0.30", v6: "fd51:fa11::30" },
    /** Allowlists: each host sits in at most one of them; rfwt-out sits in none. */
    registryAllowedCidrs: ["10.251.0.8/29", "fd51:fa11::10/128"],
    sshAllowedCidrs: ["10.251.0.16/29", "fd51:fa11::20/128"],
} as const;

export const hosts = [topo.reg, topo.ssh, topo.out] as const;

export interface RunResult { code: number; stdout: string; stderr: string }

/** Runs a program without a shell; never throws, the caller checks the code. */
export function run(file: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return new Promise((resolve) => {
        const child = execFile(file, args, { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20, encoding: "utf8" },
            (err, stdout, stderr) => {
                const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
                resolve({ code, stdout, stderr });
            });
        if (opts.input !== undefined) child.stdin!.end(opts.input);
    });
}

/** Like run, but throws with the output when the command fails. */
export async function must(file: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<string> {
    const r = await run(file, args, opts);
    if (r.code !== 0) throw new Error(`${file} ${args.join(" ")} exited ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
}

export const sh = (script: string, timeoutMs?: number) => run("sh", ["-c", script], { timeoutMs });
export const inNs = (ns: string, file: string, args: string[], timeoutMs?: number) =>
    run("ip", ["netns", "exec", ns, file, ...args], { timeoutMs });

const allNamespaces = [topo.lan, topo.side.ns, ...hosts.map((h) => h.ns)];

/** Removes everything this suite may have created (also leftovers of a crashed run). Never throws. */
export async function destroyTopology(): Promise<void> {
    const existing = (await run("ip", ["netns", "list"])).stdout;
    for (const ns of allNamespaces) {
        if (new RegExp(`^${ns}( |$)`, "m").test(existing)) await run("ip", ["netns", "del", ns]);
    }
    // Deleting a namespace removes its veth ends and, with them, their root-side peers, but
    // asynchronously; delete the root-side ends explicitly so the next run starts clean.
    for (const dev of [topo.publicInterface, topo.sideInterface]) {
        if ((await run("ip", ["link", "show", "dev", dev])).code === 0) await run("ip", ["link", "del", "dev", dev]);
    }
}

/** Builds the topology; throws if any of it already exists or a test prefix is routed elsewhere. */
export async function createTopology(): Promise<void> {
    const steps: string[][] = [];
    const ip = (...args: string[]) => steps.push(args);
    const nsIp = (ns: string, ...args: string[]) => steps.push(["-n", ns, ...args]);

    for (const ns of allNamespaces) ip("netns", "add", ns);
    // The switch.
    nsIp(topo.lan, "link", "add", "br0", "type", "bridge");
    nsIp(topo.lan, "link", "set", "br0", "up");
    ip("link", "add", topo.publicInterface, "type", "veth", "peer", "name", "uplink", "netns", topo.lan);
    nsIp(topo.lan, "link", "set", "uplink", "master", "br0", "up");
    // The host's side: only its own addresses. nodad: usable at once, no 1-2 s duplicate detection.
    ip("addr", "add", `${topo.hostV4}/24`, "dev", topo.publicInterface);
    ip("addr", "add", `${topo.hostV6}/64`, "dev", topo.publicInterface, "nodad");
    ip("link", "set", topo.publicInterface, "up");
    for (const h of hosts) {
        const port = `${h.ns.slice(5)}0`;
        nsIp(topo.lan, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", h.ns);
        nsIp(topo.lan, "link", "set", port, "master", "br0", "up");
        nsIp(h.ns, "addr", "add", `${h.v4}/24`, "dev", "eth0");
        nsIp(h.ns, "addr", "add", `${h.v6}/64`, "dev", "eth0", "nodad");
        nsIp(h.ns, "link", "set", "eth0", "up");
        nsIp(h.ns, "link", "set", "lo", "up");
    }
    // A second, unfirewalled path into the host, to show the rules stay on their interface.
    ip("link", "add", topo.sideInterface, "type", "veth", "peer", "name", "eth0", "netns", topo.side.ns);
    ip("addr", "add", `${topo.sideHostV4}/24`, "dev", topo.sideInterface);
    ip("link", "set", topo.sideInterface, "up");
    nsIp(topo.side.ns, "addr", "add", `${topo.side.v4}/24`, "dev", "eth0");
    nsIp(topo.side.ns, "link", "set", "eth0", "up");
    nsIp(topo.side.ns, "link", "set", "lo", "up");
    nsIp(topo.side.ns, "route", "add", "10.251.0.0/24", "via", topo.sideHostV4);

    for (const args of steps) await must("ip", args);
}

/** Fails early if the test prefixes are in use on this machine, rather than disturbing anything. */
export async function assertPrefixesUnused(): Promise<void> {
    const routes = await must("ip", ["route", "show"]);
    const routes6 = await must("ip", ["-6", "route", "show"]);
    for (const prefix of ["10.251.0.", "10.251.1."]) {
        if (routes.split("\n").some((l) => l.startsWith(prefix))) throw new Error(`${prefix}x is already routed here:\n${routes}`);
    }
    if (routes6.split("\n").some((l) => l.startsWith("fd51:fa11:"))) throw new Error(`fd51:fa11::/64 is already routed here`);
}

export type ProbeResult = "connected" | "refused" | "timeout" | "error";

const agentsDir = path.join(__dirname, "agents");

/** Target notation of probe.js: host:port, IPv6 hosts in brackets. */
export const target = (host: string, port: number) => (host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);

/** TCP connection attempts from one namespace to several targets at once; target -> result. */
export async function probeMany(ns: string, targets: string[], timeoutMs = 2000): Promise<Record<string, ProbeResult>> {
    const r = await inNs(ns, process.execPath, [path.join(agentsDir, "probe.js"), String(timeoutMs), ...targets], timeoutMs + 20_000);
    if (r.code !== 0) throw new Error(`probe from ${ns} failed: ${r.stderr}`);
    const parsed = JSON.parse(r.stdout) as Record<string, { result: ProbeResult }>;
    return Object.fromEntries(Object.entries(parsed).map(([t, v]) => [t, v.result]));
}

/** One TCP connection attempt from a namespace. */
export async function probe(ns: string, host: string, port: number, timeoutMs = 2000): Promise<ProbeResult> {
    return (await probeMany(ns, [target(host, port)], timeoutMs))[target(host, port)];
}

/** Forgets learned neighbours on both ends, so IPv6 has to run neighbour discovery through the rules again. */
export async function flushNeighbours(): Promise<void> {
    await must("ip", ["-6", "neigh", "flush", "dev", topo.publicInterface]);
    for (const h of hosts) await must("ip", ["-n", h.ns, "-6", "neigh", "flush", "dev", "eth0"]);
}

/** HTTPS GET /v2/ from a namespace with curl; returns curl's exit code and the HTTP status. */
export async function registryProbe(ns: string, host: string, port: number, caFile?: string): Promise<{ code: number; status: string; stderr: string }> {
    const tls = caFile ? ["--cacert", caFile] : ["--insecure"];
    const r = await inNs(ns, "curl", ["-sS", ...tls, "--connect-timeout", "2", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}",
        `https://${host.includes(":") ? `[${host}]` : host}:${port}/v2/`], 20_000);
    return { code: r.code, status: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** Starts a long-running node helper (optionally inside a namespace) and waits for its first line. */
export async function startHelper(ns: string | undefined, script: string, args: string[], ready: string): Promise<ChildProcess & { lines: string[] }> {
    const argv = [path.join(agentsDir, script), ...args];
    // `ip netns exec` execs the program, so the PID we get is the helper's own.
    const child = (ns
        ? spawn("ip", ["netns", "exec", ns, process.execPath, ...argv], { stdio: ["pipe", "pipe", "pipe"] })
        : spawn(process.execPath, argv, { stdio: ["pipe", "pipe", "pipe"] })) as ChildProcess & { lines: string[] };
    child.lines = [];
    let stderr = "";
    child.stderr!.on("data", (d) => { stderr += d; });
    let buffered = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (d: string) => {
        buffered += d;
        const parts = buffered.split("\n");
        buffered = parts.pop()!;
        child.lines.push(...parts);
    });
    const deadline = Date.now() + 10_000;
    while (!child.lines.includes(ready)) {
        if (child.exitCode !== null || Date.now() > deadline) {
            child.kill();
            throw new Error(`${script} ${args.join(" ")} did not print "${ready}": ${child.lines.join("|")} ${stderr}`);
        }
        await new Promise((r) => setTimeout(r, 20));
    }
    return child;
}

/** Sends a line over an echo-client helper and waits for the echo. */
export async function echoThrough(client: ChildProcess & { lines: string[] }, text: string, timeoutMs = 3000): Promise<boolean> {
    client.stdin!.write(`${text}\n`);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
        if (client.lines.includes(`echo ${text}`)) return true;
        await new Promise((r) => setTimeout(r, 20));
    }
    return false;
}

/** Stops a helper this suite started, by its PID only. Never throws. */
export async function stopHelper(child: ChildProcess | undefined): Promise<void> {
    const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
    if (!running() || child!.pid === undefined) return;
    const exited = new Promise((r) => child!.once("exit", r));
    const signal = (name: NodeJS.Signals) => {
        // It may have exited on its own a moment ago (ESRCH): that is what we wanted anyway.
        try { process.kill(child!.pid!, name); } catch { /* gone */ }
    };
    signal("SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 2000); })]);
    clearTimeout(timer);
    if (running()) signal("SIGKILL");
}
