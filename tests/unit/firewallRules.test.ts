import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    FirewallRuleOptions,
    renderAsRoot,
    renderFirewallApplyScript,
    renderFirewallRemoveScript,
    renderFirewallRuleset,
    renderFirewallUnit,
    splitCidrsByFamily,
} from "../../components/firewallRules";

const options: FirewallRuleOptions = {
    publicInterface: "eth0",
    registryPort: 5000,
    registryAllowedCidrs: ["198.51.100.0/24", "2001:db8:1::/48", "203.0.113.0/24"],
    sshPort: 22,
    sshAllowedCidrs: ["198.51.100.10/32"],
};

/** The body of one chain or set, so assertions can't pass on text from another block. */
function block(ruleset: string, kind: "chain" | "set", name: string): string {
    const match = new RegExp(`\\n\\t${kind} ${name} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(ruleset);
    if (!match) throw new Error(`no ${kind} ${name} in ruleset`);
    return match[1];
}

/** Rules of a chain without comment lines. */
function rules(ruleset: string, chain: string): string[] {
    return block(ruleset, "chain", chain).split("\n").map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}

describe("splitCidrsByFamily", () => {
    it("splits IPv4 and IPv6 and normalises to network addresses", () => {
        expect(splitCidrsByFamily(["10.1.2.3/8", "2001:DB8:0:0::1/32", "192.0.2.0/24"])).toEqual({
            ipv4: ["10.0.0.0/8", "192.0.2.0/24"],
            ipv6: ["2001:db8::/32"],
        });
    });

    it("treats bare addresses as single hosts and drops duplicates", () => {
        expect(splitCidrsByFamily(["192.0.2.7", "192.0.2.7/32", "2001:db8::1"])).toEqual({
            ipv4: ["192.0.2.7/32"],
            ipv6: ["2001:db8::1/128"],
        });
    });

    it("turns IPv4-mapped IPv6 ranges into IPv4, which is what the kernel sees", () => {
        expect(splitCidrsByFamily(["::ffff:192.0.2.0/120"])).toEqual({ ipv4: ["192.0.2.0/24"], ipv6: [] });
    });

    it.each(["banana", "10.0.0.0/33", "2001:db8::/129", "010.0.0.0/8", "10.1/16", "fe80::1%eth0/64", ""])(
        "throws on %p",
        (cidr) => {
            expect(() => splitCidrsByFamily([cidr])).toThrow(/not an IPv4 or IPv6 CIDR/);
        },
    );
});

describe("renderFirewallRuleset", () => {
    const ruleset = renderFirewallRuleset(options);

    it("replaces its own table atomically and never flushes the whole ruleset", () => {
        const statements = ruleset.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
        expect(statements.slice(0, 3)).toEqual([
            "table inet private_registry",
            "delete table inet private_registry",
            "table inet private_registry {",
        ]);
        expect(statements.filter((l) => /flush/.test(l))).toEqual([]);
        expect(ruleset.match(/^table inet private_registry \{$/gm)).toHaveLength(1);
    });

    it("puts the CIDRs in interval sets split by family", () => {
        expect(block(ruleset, "set", "registry_v4")).toMatch(/type ipv4_addr\n\t\tflags interval[\s\S]*elements = \{ 198\.51\.100\.0\/24, 203\.0\.113\.0\/24 \}/);
        expect(block(ruleset, "set", "registry_v6")).toMatch(/type ipv6_addr\n\t\tflags interval[\s\S]*elements = \{ 2001:db8:1::\/48 \}/);
        expect(block(ruleset, "set", "ssh_v4")).toMatch(/elements = \{ 198\.51\.100\.10\/32 \}/);
        // nft rejects "elements = { }": an empty allowlist is a set without elements.
        expect(block(ruleset, "set", "ssh_v6")).not.toMatch(/elements/);
    });

    it("hooks input and forward and lets every other interface through", () => {
        expect(rules(ruleset, "input")[0]).toBe("type filter hook input priority filter; policy accept;");
        expect(rules(ruleset, "forward")[0]).toBe("type filter hook forward priority filter; policy accept;");
        for (const chain of ["input", "forward"]) {
            expect(rules(ruleset, chain).slice(1, 3)).toEqual([
                'iifname != "eth0" accept',
                "ct state established,related accept",
            ]);
            // Everything else on the public interface ends here.
            expect(rules(ruleset, chain).at(-1)).toMatch(/^counter drop/);
        }
    });

    it("opens the registry port to the registry sets and SSH to the SSH sets on input", () => {
        const input = rules(ruleset, "input");
        expect(input).toContain('tcp dport 5000 ip saddr @registry_v4 counter accept comment "registry-v4"');
        expect(input).toContain('tcp dport 5000 ip6 saddr @registry_v6 counter accept comment "registry-v6"');
        expect(input).toContain('tcp dport 22 ip saddr @ssh_v4 counter accept comment "ssh-v4"');
        expect(input).toContain('tcp dport 22 ip6 saddr @ssh_v6 counter accept comment "ssh-v6"');
        expect(input.filter((r) => /^tcp dport/.test(r))).toHaveLength(4);
    });

    it("matches the port clients asked for, before Docker's DNAT, on forward", () => {
        const forward = rules(ruleset, "forward");
        const opened = forward.filter((r) => /accept/.test(r) && /proto-dst|dport/.test(r));
        expect(opened).toEqual([
            'meta l4proto tcp ct status dnat ct original proto-dst 5000 ip saddr @registry_v4 counter accept comment "registry-v4"',
            'meta l4proto tcp ct status dnat ct original proto-dst 5000 ip6 saddr @registry_v6 counter accept comment "registry-v6"',
        ]);
    });

    it("lets neighbour discovery and path-MTU errors in, but not ping", () => {
        const input = rules(ruleset, "input").join("\n");
        expect(input).toMatch(/icmpv6 type \{ nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert \} ip6 hoplimit 255 accept/);
        expect(input).toMatch(/icmpv6 type \{[^}]*packet-too-big[^}]*\} accept/);
        expect(input).toMatch(/icmp type \{ destination-unreachable[^}]*\} accept/);
        expect(ruleset).not.toMatch(/echo-request/);
    });

    it("follows the interface and ports it is given", () => {
        const other = renderFirewallRuleset({ ...options, publicInterface: "ens3", registryPort: 443, sshPort: 2222 });
        expect(other).toMatch(/iifname != "ens3" accept/);
        expect(other).not.toMatch(/"eth0"/);
        expect(other).toMatch(/tcp dport 443 ip saddr @registry_v4/);
        expect(other).toMatch(/ct original proto-dst 443 ip saddr @registry_v4/);
        expect(other).toMatch(/tcp dport 2222 ip saddr @ssh_v4/);
        expect(other).not.toMatch(/\b5000\b|dport 22 /);
    });

    it("is the same text for the same input", () => {
        expect(renderFirewallRuleset({ ...options })).toBe(ruleset);
    });

    it.each([
        [{ publicInterface: "eth0; flush ruleset" }, /interface name/],
        [{ publicInterface: "a-name-longer-than-15" }, /interface name/],
        [{ registryPort: 0 }, /registry port/],
        [{ sshPort: 65536 }, /SSH port/],
        [{ registryAllowedCidrs: ["10.0.0.0/8", "nope"] }, /"nope"/],
    ])("throws on %p", (override, message) => {
        expect(() => renderFirewallRuleset({ ...options, ...override })).toThrow(message);
    });
});

describe("renderFirewallRuleset with a metrics port", () => {
    const withMetrics = renderFirewallRuleset({ ...options, metricsPort: 9101 });
    const dropsMetrics = (rule: string) => /\b9101\b/.test(rule);

    it("drops it on input and on Docker's DNAT path, from every source, with a counter of its own", () => {
        expect(rules(withMetrics, "input").filter(dropsMetrics)).toEqual(['tcp dport 9101 counter drop comment "metrics-drop"']);
        expect(rules(withMetrics, "forward").filter(dropsMetrics))
            .toEqual(['meta l4proto tcp ct status dnat ct original proto-dst 9101 counter drop comment "metrics-drop"']);
    });

    it("drops it before any accept that names a port, but after replies to the host's own connections", () => {
        for (const chain of ["input", "forward"]) {
            const chainRules = rules(withMetrics, chain);
            const drop = chainRules.findIndex(dropsMetrics);
            expect(drop).toBeGreaterThan(chainRules.indexOf("ct state established,related accept"));
            expect(drop).toBeLessThan(chainRules.findIndex((r) => /(tcp dport|proto-dst) \d+ .*accept/.test(r)));
        }
    });

    it("adds nothing else: without it the ruleset is the one before, with it only the two rules more", () => {
        expect(renderFirewallRuleset({ ...options, metricsPort: undefined })).toBe(renderFirewallRuleset(options));
        expect(renderFirewallRuleset(options)).not.toMatch(/metrics/);
        const added = withMetrics.split("\n").filter((l) => !renderFirewallRuleset(options).split("\n").includes(l));
        expect(added).toHaveLength(2);
    });

    it.each([
        [{ metricsPort: 0 }, /metrics port 0 is not a TCP port/],
        [{ metricsPort: 5000 }, /metrics port 5000 is also the registry or SSH port/],
        [{ metricsPort: 22 }, /metrics port 22 is also the registry or SSH port/],
    ])("throws on %p", (override, message) => {
        expect(() => renderFirewallRuleset({ ...options, ...override })).toThrow(message);
    });
});

describe("renderFirewallRuleset with service ports", () => {
    const withToken = renderFirewallRuleset({ ...options, servicePorts: [5002] });

    it("opens them to the registry's allowlist, on input and on Docker's DNAT path", () => {
        expect(rules(withToken, "input").filter((r) => r.includes("@registry_v4"))).toEqual(['tcp dport { 5000, 5002 } ip saddr @registry_v4 counter accept comment "registry-v4"']);
        expect(rules(withToken, "forward").filter((r) => r.includes("@registry_v6")))
            .toEqual(['meta l4proto tcp ct status dnat ct original proto-dst { 5000, 5002 } ip6 saddr @registry_v6 counter accept comment "registry-v6"']);
        expect(rules(withToken, "input").filter((r) => r.includes("@ssh_v4"))).toEqual(['tcp dport 22 ip saddr @ssh_v4 counter accept comment "ssh-v4"']);
    });

    it("without any, the ruleset is the one before", () => {
        expect(renderFirewallRuleset({ ...options, servicePorts: [] })).toBe(renderFirewallRuleset(options));
    });

    it.each([
        [{ servicePorts: [5000] }, /service port 5000 is also the registry, SSH or metrics port/],
        [{ servicePorts: [9101], metricsPort: 9101 }, /service port 9101 is also/],
        [{ servicePorts: [70000] }, /service port 70000 is not a TCP port/],
    ])("throws on %p", (override, message) => {
        expect(() => renderFirewallRuleset({ ...options, ...override })).toThrow(message);
    });
});

const nftAvailable = process.getuid?.() === 0 && spawnSync("nft", ["--version"]).status === 0;

(nftAvailable ? describe : describe.skip)("the kernel accepts the ruleset (nft -c, changes nothing)", () => {
    let dir: string;
    beforeAll(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), "rfw-unit-")); });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    it.each([
        ["the example allowlists", options],
        ["empty allowlists", { ...options, registryAllowedCidrs: [], sshAllowedCidrs: [] }],
        ["overlapping and catch-all CIDRs", { ...options, registryAllowedCidrs: ["10.0.0.0/8", "10.1.0.0/16", "0.0.0.0/0", "::/0"] }],
        ["a metrics port", { ...options, metricsPort: 9101 }],
        ["a service port", { ...options, servicePorts: [5002], metricsPort: 9101 }],
    ])("%s", (_label, opts) => {
        const file = path.join(dir, "rules.nft");
        fs.writeFileSync(file, renderFirewallRuleset(opts));
        const check = spawnSync("nft", ["-c", "-f", file], { encoding: "utf8" });
        expect(check.stderr).toBe("");
        expect(check.status).toBe(0);
    });
});

describe("renderFirewallUnit", () => {
    it("reloads the saved file before the network and Docker come up", () => {
        const unit = renderFirewallUnit("/usr/sbin/nft", { persistDir: "/etc/private-registry", systemdUnitDir: "/etc/systemd/system" });
        expect(unit).toMatch(/^ExecStart=\/usr\/sbin\/nft -f \/etc\/private-registry\/firewall\.nft$/m);
        expect(unit).toMatch(/^Before=network-pre\.target docker\.service/m);
        expect(unit).toMatch(/^WantedBy=multi-user\.target$/m);
        expect(unit).toMatch(/^Type=oneshot$/m);
    });
});

describe("apply and remove scripts", () => {
    const install = { persistDir: "/tmp/rfw/etc/private-registry", systemdUnitDir: "/tmp/rfw/etc/systemd/system" };
    const apply = renderFirewallApplyScript(options, install);
    const remove = renderFirewallRemoveScript(install);

    it("are POSIX sh that fails loudly", () => {
        for (const script of [apply, remove, renderAsRoot(apply), renderAsRoot(remove)]) {
            // sh -n parses without running; Debian's sh is dash, so bashisms fail here.
            execFileSync("sh", ["-n"], { input: script });
        }
        expect(apply).toMatch(/^#!\/bin\/sh\n[^\n]*\nset -eu\n/);
        expect(remove).toMatch(/^#!\/bin\/sh\n[^\n]*\nset -eu\n/);
    });

    it("stops with a clear message when nft is missing", () => {
        expect(apply).toMatch(/command -v nft[\s\S]*nft not found; install nftables[\s\S]*exit 1/);
    });

    it("loads the exact ruleset with nft -f and saves it under the given directory", () => {
        expect(apply).toContain(`<<'PRIVATE_REGISTRY_NFT'\n${renderFirewallRuleset(options)}PRIVATE_REGISTRY_NFT\n`);
        expect(apply).toMatch(/"\$NFT" -f "\$TMP"\nmv -f "\$TMP" "\$RULES_FILE"/);
        expect(apply).toContain("RULES_FILE='/tmp/rfw/etc/private-registry/firewall.nft'");
        expect(apply).toContain("UNIT_DIR='/tmp/rfw/etc/systemd/system'");
        expect(apply).toContain('ln -sf "$UNIT_DIR/$UNIT" "$UNIT_DIR/multi-user.target.wants/$UNIT"');
        expect(apply).not.toMatch(/nftables\.conf|flush ruleset\s*$/m);
    });

    it("remove deletes only its own table, the unit and the saved file", () => {
        expect(remove).toContain("printf 'table inet private_registry\\ndelete table inet private_registry\\n' | nft -f -");
        expect(remove).toContain('rm -f "$UNIT_DIR/multi-user.target.wants/$UNIT" "$UNIT_DIR/$UNIT"');
        expect(remove).toContain('rm -f "$RULES_DIR/firewall.nft"');
        expect(remove).not.toMatch(/flush/);
    });

    it("default to the real host paths", () => {
        expect(renderFirewallApplyScript(options)).toContain("RULES_FILE='/etc/private-registry/firewall.nft'");
        expect(renderFirewallRemoveScript()).toContain("UNIT_DIR='/etc/systemd/system'");
    });

    it.each(["relative/dir", "/etc/private registry", "/etc/'x", "/etc/../tmp"])("refuse the directory %p", (dir) => {
        expect(() => renderFirewallRemoveScript({ ...install, persistDir: dir })).toThrow(/plain absolute path/);
    });
});

describe("renderAsRoot", () => {
    it("runs the script with sh and passes its exit status through", () => {
        const ok = spawnSync("sh", ["-c", renderAsRoot("set -eu\necho \"ran as $(id -u)\"\n")], { encoding: "utf8" });
        if (process.getuid?.() === 0) {
            expect(ok.stdout).toBe("ran as 0\n");
            expect(ok.status).toBe(0);
            const failing = spawnSync("sh", ["-c", renderAsRoot("set -eu\nfalse\necho not reached\n")], { encoding: "utf8" });
            expect(failing.status).not.toBe(0);
            expect(failing.stdout).toBe("");
        }
    });

    it("keeps nested here-documents intact", () => {
        const out = spawnSync("sh", ["-c", renderAsRoot("cat <<'INNER'\n$HOME `x` \\n\nINNER\n")], { encoding: "utf8" });
        if (process.getuid?.() === 0) expect(out.stdout).toBe("$HOME `x` \\n\n");
    });
});
