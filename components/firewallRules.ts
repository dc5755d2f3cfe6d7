import * as ipaddr from "ipaddr.js";

/** Name of the nftables table the firewall owns; nothing else in the ruleset is touched. */
export const firewallTableName = "private_registry";

/** Default directory the ruleset is saved to so it can be reloaded at boot. */
export const defaultFirewallPersistDir = "/etc/private-registry";

/** Default directory the systemd unit that reloads the ruleset at boot is written to. */
export const defaultFirewallSystemdUnitDir = "/etc/systemd/system";

/** Name of the systemd unit that reloads the ruleset at boot. */
export const firewallUnitName = "private-registry-firewall.service";

/** What the firewall lets through, already validated by the caller. */
export interface FirewallRuleOptions {
    /** Interface the rules apply to (e.g. eth0); traffic on every other interface is left alone. */
    readonly publicInterface: string;
    /** TCP port of the registry, matched before Docker's DNAT. */
    readonly registryPort: number;
    /** IPv4/IPv6 CIDRs (or bare addresses) allowed to open connections to the registry port. */
    readonly registryAllowedCidrs: string[];
    /** TCP port of the host's SSH daemon. */
    readonly sshPort: number;
    /** IPv4/IPv6 CIDRs (or bare addresses) allowed to open connections to the SSH port. */
    readonly sshAllowedCidrs: string[];
    /** TCP port the registry's metrics are published on; dropped on the public interface by a rule of its own. Default: no such rule. */
    readonly metricsPort?: number;
    /** Other TCP ports of the registry's services (the token service), open to registryAllowedCidrs like the registry port. Default: []. */
    readonly servicePorts?: number[];
}

/** Where the apply script installs the ruleset and the boot-time unit. */
export interface FirewallInstallOptions {
    /** Absolute directory the ruleset file (firewall.nft) is saved in. */
    readonly persistDir: string;
    /** Absolute directory the systemd unit is written to; its multi-user.target.wants/ gets the enable link. */
    readonly systemdUnitDir: string;
}

/** Defaults for a real host: the paths a boot of that host reads. */
export const defaultFirewallInstallOptions: FirewallInstallOptions = {
    persistDir: defaultFirewallPersistDir,
    systemdUnitDir: defaultFirewallSystemdUnitDir,
};

/** CIDRs split by address family, normalised to network addresses (what nft expects in an interval set). */
/** CIDRs split by address family, as nftables needs them in separate sets. */
export interface CidrsByFamily {
    /** IPv4 CIDRs. */
    readonly ipv4: string[];
    /** IPv6 CIDRs. */
    readonly ipv6: string[];
}

/**
 * Splits CIDRs into IPv4 and IPv6 lists. Bare addresses count as /32 or /128; IPv4-mapped IPv6
 * ranges (::ffff:a.b.c.d/n) become IPv4 because the kernel sees those clients as IPv4 packets.
 * Throws on anything unparsable; octal/hex IPv4 forms that ipaddr.js would accept are rejected too.
 */
export function splitCidrsByFamily(cidrs: string[]): CidrsByFamily {
    const ipv4 = new Set<string>();
    const ipv6 = new Set<string>();
    for (const raw of cidrs) {
        const text = raw.trim();
        const cidr = text.includes("/") ? text : `${text}/${text.includes(":") ? 128 : 32}`;
        if (ipaddr.IPv4.isValidCIDRFourPartDecimal(cidr)) {
            const [, prefix] = ipaddr.IPv4.parseCIDR(cidr);
            ipv4.add(`${ipaddr.IPv4.networkAddressFromCIDR(cidr).toString()}/${prefix}`);
        } else if (ipaddr.IPv6.isValidCIDR(cidr) && !cidr.includes("%")) {
            const [address, prefix] = ipaddr.IPv6.parseCIDR(cidr);
            if (address.isIPv4MappedAddress() && prefix >= 96) {
                const v4 = `${address.toIPv4Address().toString()}/${prefix - 96}`;
                ipv4.add(`${ipaddr.IPv4.networkAddressFromCIDR(v4).toString()}/${prefix - 96}`);
            } else {
                ipv6.add(`${ipaddr.IPv6.networkAddressFromCIDR(cidr).toRFC5952String()}/${prefix}`);
            }
        } else {
            throw new Error(`firewall: "${raw}" is not an IPv4 or IPv6 CIDR`);
        }
    }
    return { ipv4: [...ipv4], ipv6: [...ipv6] };
}

/** The first and last address of a CIDR as integers (IPv4 in 32 bits, IPv6 in 128). */
function cidrRange(cidr: string): [bigint, bigint] {
    const [address, prefix] = ipaddr.parseCIDR(cidr);
    const bits = address.kind() === "ipv4" ? 32 : 128;
    const start = address.toByteArray().reduce((n, byte) => (n << 8n) | BigInt(byte), 0n);
    const size = 1n << BigInt(bits - prefix);
    const first = start - (start % size);
    return [first, first + size - 1n];
}

/**
 * The address families ("IPv4", "IPv6") whose every address the CIDRs let in, however they are
 * spelled: 0.0.0.0/0, two /1 halves, or ::ffff:0.0.0.0/96 (all of IPv4, mapped).
 */
export function familiesFullyCovered(cidrs: string[]): string[] {
    const { ipv4, ipv6 } = splitCidrsByFamily(cidrs);
    const covered: string[] = [];
    for (const [family, list, bits] of [["IPv4", ipv4, 32], ["IPv6", ipv6, 128]] as const) {
        const ranges = list.map(cidrRange).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        let next = 0n;
        for (const [first, last] of ranges) {
            if (first > next) break;
            if (last + 1n > next) next = last + 1n;
        }
        if (next === 1n << BigInt(bits)) covered.push(family);
    }
    return covered;
}

function checkPort(what: string, port: number): void {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        throw new Error(`firewall: ${what} ${port} is not a TCP port (1-65535)`);
    }
}

// Linux interface names: at most 15 bytes, no '/', no whitespace. Restricting to this set also
// keeps the name safe inside the nft and shell text it is pasted into.
const interfaceNamePattern = /^[A-Za-z0-9_.@-]{1,15}$/;
// The install paths are pasted into shell and systemd text unquoted-safe only if they are plain.
const absolutePathPattern = /^\/[A-Za-z0-9_./-]*$/;

function checkRuleOptions(options: FirewallRuleOptions): void {
    if (!interfaceNamePattern.test(options.publicInterface)) {
        throw new Error(`firewall: "${options.publicInterface}" is not a network interface name`);
    }
    checkPort("registry port", options.registryPort);
    checkPort("SSH port", options.sshPort);
    if (options.metricsPort !== undefined) {
        checkPort("metrics port", options.metricsPort);
        // The metrics rule drops its port before the accepts, so sharing a port would close the other service.
        if (options.metricsPort === options.registryPort || options.metricsPort === options.sshPort) {
            throw new Error(`firewall: metrics port ${options.metricsPort} is also the registry or SSH port`);
        }
    }
    for (const port of options.servicePorts ?? []) {
        checkPort("service port", port);
        if ([options.registryPort, options.sshPort, options.metricsPort].includes(port)) {
            throw new Error(`firewall: service port ${port} is also the registry, SSH or metrics port`);
        }
    }
}

function checkInstallOptions(install: FirewallInstallOptions): void {
    for (const [what, dir] of [["persist directory", install.persistDir], ["systemd unit directory", install.systemdUnitDir]]) {
        if (!absolutePathPattern.test(dir) || dir.split("/").includes("..")) {
            throw new Error(`firewall: ${what} "${dir}" must be a plain absolute path`);
        }
    }
}

function renderSet(name: string, type: "ipv4_addr" | "ipv6_addr", elements: string[]): string {
    const lines = [`\tset ${name} {`, `\t\ttype ${type}`, "\t\tflags interval", "\t\tauto-merge"];
    // nft rejects "elements = { }", so an empty allowlist is simply a set without elements.
    if (elements.length > 0) {
        lines.push(`\t\telements = { ${elements.join(", ")} }`);
    }
    lines.push("\t}");
    return lines.join("\n");
}

/**
 * Renders the nftables ruleset: one `inet` table with an input and a forward chain that drop new
 * connections arriving on the public interface unless they go to the registry port from
 * registryAllowedCidrs or to SSH from sshAllowedCidrs. The metrics port, when given, is dropped
 * by a rule of its own, from every source.
 *
 * The file starts with `table` + `delete table` before the full definition, so `nft -f` replaces
 * the table atomically and loading it any number of times leaves exactly one copy of each rule.
 */
export function renderFirewallRuleset(options: FirewallRuleOptions): string {
    checkRuleOptions(options);
    const registry = splitCidrsByFamily(options.registryAllowedCidrs);
    const ssh = splitCidrsByFamily(options.sshAllowedCidrs);
    const iface = options.publicInterface;
    // The registry's own services share its allowlist; one port keeps the rules as they always were.
    const ports = [options.registryPort, ...(options.servicePorts ?? [])];
    const reg = ports.length === 1 ? String(ports[0]) : `{ ${ports.join(", ")} }`;
    const sshPort = options.sshPort;
    const t = firewallTableName;
    // The catch-all drops would close it too; a rule of its own counts the attempts and keeps it
    // closed whatever accept rule may be added later. After the established/related accept, so a
    // reply to the host's own connection from that local port is not dropped.
    const metrics = options.metricsPort;
    const metricsInput = metrics === undefined ? "" : `\t\ttcp dport ${metrics} counter drop comment "metrics-drop"\n`;
    const metricsForward = metrics === undefined ? ""
        : `\t\tmeta l4proto tcp ct status dnat ct original proto-dst ${metrics} counter drop comment "metrics-drop"\n`;
    return `# Managed by Pulumi (private-registry RegistryFirewall); changes here are overwritten.
# Only restricts: base chains of every table see each packet and a drop anywhere is final, so this
# table works alongside Docker's iptables chains and ufw without touching them, and Docker
# rebuilding its chains on restart leaves it alone. Never "flush ruleset" here: that would wipe
# Docker's NAT rules too.
# Creating the table before deleting it makes the delete succeed on a first load; the whole file
# is one nft transaction, so there is never a moment with no table or with two copies.
table inet ${t}
delete table inet ${t}

table inet ${t} {
${renderSet("registry_v4", "ipv4_addr", registry.ipv4)}

${renderSet("registry_v6", "ipv6_addr", registry.ipv6)}

${renderSet("ssh_v4", "ipv4_addr", ssh.ipv4)}

${renderSet("ssh_v6", "ipv6_addr", ssh.ipv6)}

	# Connections to the host itself (SSH, and the registry port when reached through
	# docker-proxy, e.g. over IPv6 where Docker publishes without DNAT).
	chain input {
		type filter hook input priority filter; policy accept;
		iifname != "${iface}" accept
		# Replies to the host's own outbound traffic, and ICMP errors about known flows.
		ct state established,related accept
		# ICMP errors that are not tied to a tracked flow still matter: destination-unreachable
		# carries "fragmentation needed" and packet-too-big drives IPv6 path-MTU discovery;
		# dropping them blackholes large transfers. Echo requests stay closed.
		icmp type { destination-unreachable, time-exceeded, parameter-problem } accept
		icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept
		# IPv6 cannot work without neighbour discovery (IPv6's ARP) and router adverts; hop limit
		# 255 proves they come from the local link.
		icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 accept
		# MLD keeps multicast-snooping switches delivering neighbour discovery to this host.
		icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done, mld2-listener-report } ip6 saddr fe80::/10 accept
		# DHCPv6 replies answer a multicast solicit, so conntrack cannot match them as replies.
		ip6 saddr fe80::/10 udp sport 547 udp dport 546 accept
${metricsInput}		tcp dport ${reg} ip saddr @registry_v4 counter accept comment "registry-v4"
		tcp dport ${reg} ip6 saddr @registry_v6 counter accept comment "registry-v6"
		tcp dport ${sshPort} ip saddr @ssh_v4 counter accept comment "ssh-v4"
		tcp dport ${sshPort} ip6 saddr @ssh_v6 counter accept comment "ssh-v6"
		counter drop comment "input-drop"
	}

	# Docker-published ports: Docker DNATs them in prerouting, so the packets take this path (not
	# input) with the container's address and port. Match what the client asked for instead:
	# the DNAT-ed connection's original destination port.
	chain forward {
		type filter hook forward priority filter; policy accept;
		iifname != "${iface}" accept
		ct state established,related accept
		icmp type { destination-unreachable, time-exceeded, parameter-problem } accept
		icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept
${metricsForward}		meta l4proto tcp ct status dnat ct original proto-dst ${reg} ip saddr @registry_v4 counter accept comment "registry-v4"
		meta l4proto tcp ct status dnat ct original proto-dst ${reg} ip6 saddr @registry_v6 counter accept comment "registry-v6"
		counter drop comment "forward-drop"
	}
}
`;
}

/** The systemd unit that reloads the saved ruleset at boot. `nftPath` is resolved on the host. */
export function renderFirewallUnit(nftPath: string, install: FirewallInstallOptions = defaultFirewallInstallOptions): string {
    checkInstallOptions(install);
    return `# Managed by Pulumi (private-registry RegistryFirewall).
[Unit]
Description=Private registry firewall (nftables table inet ${firewallTableName})
# Load before the network comes up and before Docker publishes ports, so there is no window at
# boot where the registry port is open to everyone.
DefaultDependencies=no
Wants=network-pre.target
Before=network-pre.target docker.service shutdown.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=${nftPath} -f ${install.persistDir}/firewall.nft

[Install]
WantedBy=multi-user.target
`;
}

const scriptPrologue = `set -eu
# sudo and non-login SSH sessions may not have the sbin directories on PATH.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH`;

/**
 * Renders the POSIX sh script (run as root) that loads the ruleset and installs it for boot.
 *
 * Persistence: the ruleset is saved to <persistDir>/firewall.nft and a dedicated systemd unit
 * (enabled by the same wants/ link `systemctl enable` creates, which also works when systemd is
 * not running, e.g. in a chroot) reloads it at boot, before docker.service. Debian's
 * /etc/nftables.conf is deliberately not used: it starts with "flush ruleset", which would wipe
 * Docker's rules, and owning a separate file keeps removal exact.
 */
export function renderFirewallApplyScript(
    options: FirewallRuleOptions,
    install: FirewallInstallOptions = defaultFirewallInstallOptions,
): string {
    const ruleset = renderFirewallRuleset(options);
    checkInstallOptions(install);
    const unit = renderFirewallUnit("@NFT@", install);
    return `#!/bin/sh
# private-registry firewall: load the nftables rules and install them for boot.
${scriptPrologue}
if ! command -v nft >/dev/null 2>&1; then
  echo "private-registry firewall: nft not found; install nftables first (apt-get install -y nftables)" >&2
  exit 1
fi
NFT=$(command -v nft)
RULES_DIR='${install.persistDir}'
RULES_FILE='${install.persistDir}/firewall.nft'
UNIT_DIR='${install.systemdUnitDir}'
UNIT='${firewallUnitName}'
umask 022
mkdir -p "$RULES_DIR"
TMP=$(mktemp "$RULES_DIR/.firewall.nft.XXXXXX")
trap 'rm -f "$TMP" "$UNIT_DIR/.$UNIT.tmp"' EXIT
cat >"$TMP" <<'PRIVATE_REGISTRY_NFT'
${ruleset}PRIVATE_REGISTRY_NFT
# One transaction: a bad ruleset fails here and leaves the live rules and saved file unchanged.
"$NFT" -f "$TMP"
mv -f "$TMP" "$RULES_FILE"
if command -v systemctl >/dev/null 2>&1; then
  mkdir -p "$UNIT_DIR/multi-user.target.wants"
  sed "s|@NFT@|$NFT|" >"$UNIT_DIR/.$UNIT.tmp" <<'PRIVATE_REGISTRY_UNIT'
${unit}PRIVATE_REGISTRY_UNIT
  mv -f "$UNIT_DIR/.$UNIT.tmp" "$UNIT_DIR/$UNIT"
  ln -sf "$UNIT_DIR/$UNIT" "$UNIT_DIR/multi-user.target.wants/$UNIT"
  if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
else
  echo "private-registry firewall: systemd not found; rules are live and saved in $RULES_FILE but nothing reloads them at boot" >&2
fi
echo "private-registry firewall: table inet ${firewallTableName} loaded for ${options.publicInterface}, saved to $RULES_FILE"
`;
}

/** Renders the POSIX sh script (run as root) that removes the unit, the saved ruleset and the live table. */
export function renderFirewallRemoveScript(install: FirewallInstallOptions = defaultFirewallInstallOptions): string {
    checkInstallOptions(install);
    return `#!/bin/sh
# private-registry firewall: remove the boot unit, the saved rules and the live table.
${scriptPrologue}
RULES_DIR='${install.persistDir}'
UNIT_DIR='${install.systemdUnitDir}'
UNIT='${firewallUnitName}'
rm -f "$UNIT_DIR/multi-user.target.wants/$UNIT" "$UNIT_DIR/$UNIT"
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl daemon-reload
  systemctl reset-failed "$UNIT" >/dev/null 2>&1 || true
fi
rm -f "$RULES_DIR/firewall.nft"
# Other components may keep files here; only remove the directory when it is empty.
rmdir "$RULES_DIR" 2>/dev/null || true
if command -v nft >/dev/null 2>&1; then
  # Create-then-delete succeeds whether or not the table exists; only this table is touched.
  printf 'table inet ${firewallTableName}\\ndelete table inet ${firewallTableName}\\n' | nft -f -
else
  echo "private-registry firewall: nft not found, so no nftables table to remove" >&2
fi
echo "private-registry firewall: removed"
`;
}

/**
 * Wraps a script so it runs as root: directly when already root, otherwise through `sudo -n`
 * (the SSH user needs root or passwordless sudo). The script travels on stdin of `sh -s`, so no
 * quoting of its text is needed.
 */
export function renderAsRoot(script: string, purpose = "firewall"): string {
    return `if [ "$(id -u)" -eq 0 ]; then PRIVATE_REGISTRY_SUDO=; \\
elif sudo -n true 2>/dev/null; then PRIVATE_REGISTRY_SUDO='sudo -n'; \\
else echo "private-registry ${purpose}: needs root or passwordless sudo" >&2; exit 1; fi
$PRIVATE_REGISTRY_SUDO sh -s <<'PRIVATE_REGISTRY_SCRIPT'
${script}PRIVATE_REGISTRY_SCRIPT
`;
}
