/**
 * Checks of the host firewall: that production stacks have one, and that what its command installs
 * keeps SSH closed to the internet. The command embeds the nftables ruleset that
 * components/firewallRules.ts renders; the SSH allowlists are its sets ssh_v4 and ssh_v6.
 */
import * as ipaddr from "ipaddr.js";
import { componentTypes, isCommandType, isProductionStack } from "./resources";

/** Names of the ruleset's sets that the SSH accept rules match sources against. */
export const sshSetNames = { ipv4: "ssh_v4", ipv6: "ssh_v6" } as const;

/** Elements of the nftables set `name` in a ruleset text; undefined when the set isn't there. */
export function nftSetElements(ruleset: string, name: string): string[] | undefined {
    // A set's body holds at most one nested brace pair: `elements = { … }`.
    const set = new RegExp(`\\bset\\s+${name}\\s*\\{((?:[^{}]|\\{[^{}]*\\})*)\\}`).exec(ruleset);
    if (!set) return undefined;
    const elements = /\belements\s*=\s*\{([^{}]*)\}/.exec(set[1]);
    return elements ? elements[1].split(",").map((e) => e.trim()).filter((e) => e !== "") : [];
}

type Family = "ipv4" | "ipv6";
const familyBits: Record<Family, number> = { ipv4: 32, ipv6: 128 };

function addressValue(address: ipaddr.IPv4 | ipaddr.IPv6): bigint {
    return address.toByteArray().reduce((value, byte) => (value << 8n) | BigInt(byte), 0n);
}

/** The address interval an nft set element matches (a CIDR, an address or a range a-b), in `family`. */
function elementInterval(element: string, family: Family): [bigint, bigint] {
    const bits = familyBits[family];
    const parse = (text: string) => {
        // The kernel sees IPv4-mapped IPv6 sources as IPv4 packets.
        const address = ipaddr.process(text);
        if (address.kind() !== family) throw new Error(`"${element}" is not an ${family} element`);
        return address;
    };
    const range = /^([^-\s]+)\s*-\s*([^-\s]+)$/.exec(element);
    if (range) return [addressValue(parse(range[1])), addressValue(parse(range[2]))];
    const [text, prefixText] = element.split("/");
    const address = parse(text);
    let prefix = prefixText === undefined ? bits : Number(prefixText);
    // ::ffff:a.b.c.d/n covers the IPv4 block a.b.c.d/(n-96).
    if (family === "ipv4" && text.includes(":") && prefixText !== undefined) prefix -= 96;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) throw new Error(`"${element}" has no valid prefix length`);
    const size = 1n << BigInt(bits - prefix);
    const start = addressValue(address) & ~(size - 1n);
    return [start, start + size - 1n];
}

/** True when the elements together match every address of the family (as nft's auto-merge would make them one 0.0.0.0/0). */
export function coversWholeFamily(elements: string[], family: Family): boolean {
    const intervals = elements.map((e) => elementInterval(e, family)).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    let next = 0n;
    for (const [start, end] of intervals) {
        if (start > next) return false;
        if (end + 1n > next) next = end + 1n;
    }
    return next === 1n << BigInt(familyBits[family]);
}

/** Policy 5 (sources): the SSH allowlists in a RegistryFirewall command's ruleset match neither 0.0.0.0/0 nor ::/0. */
export function checkSshNotOpenToWorld(props: Record<string, unknown>): string | undefined {
    const scripts = [props.create, props.update].filter((s): s is string => typeof s === "string");
    if (scripts.length === 0) return undefined;
    for (const script of scripts) {
        for (const family of ["ipv4", "ipv6"] as const) {
            const elements = nftSetElements(script, sshSetNames[family]);
            if (elements === undefined) {
                return `The firewall command installs no nftables set ${sshSetNames[family]}, so this policy cannot see who may reach SSH. `
                    + "Declare the firewall with RegistryFirewall (components/firewall.ts) unmodified.";
            }
            let open: boolean;
            try {
                open = coversWholeFamily(elements, family);
            } catch (err) {
                return `The firewall's SSH allowlist ${sshSetNames[family]} has an element this policy cannot read (${(err as Error).message}); list CIDRs only.`;
            }
            if (open) {
                return `The firewall lets every ${family === "ipv4" ? "IPv4 (0.0.0.0/0)" : "IPv6 (::/0)"} address reach SSH. `
                    + "List only your admins' or bastion hosts' addresses in sshAllowedCidrs (PrivateRegistryArgs.sshAllowedCidrs).";
            }
        }
    }
    return undefined;
}

/** A resource in the stack, as a stack policy sees it; parent is the parent's URN. */
export interface StackResource {
    readonly type: string;
    readonly urn: string;
    readonly parent?: string;
}

export interface StackProblem {
    readonly message: string;
    readonly urn?: string;
}

/**
 * Policy 5 (presence): in production stacks, every registry server has a RegistryFirewall command
 * beside it: within the same PrivateRegistry, or anywhere in the stack for a RegistryServer used
 * on its own.
 */
export function missingFirewallProblems(resources: readonly StackResource[], stack: string): StackProblem[] {
    if (!isProductionStack(stack)) return [];
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const ancestors = (resource: StackResource): StackResource[] => {
        const found: StackResource[] = [];
        let parent = resource.parent === undefined ? undefined : byUrn.get(resource.parent);
        while (parent !== undefined && !found.includes(parent)) {
            found.push(parent);
            parent = parent.parent === undefined ? undefined : byUrn.get(parent.parent);
        }
        return found;
    };
    const firewallCommands = resources
        .filter((r) => isCommandType(r.type))
        .map(ancestors)
        .filter((chain) => chain.some((a) => a.type === componentTypes.firewall));
    const problems: StackProblem[] = [];
    for (const server of resources.filter((r) => r.type === componentTypes.server)) {
        const registry = ancestors(server).find((a) => a.type === componentTypes.privateRegistry);
        const covered = registry
            ? firewallCommands.some((chain) => chain.includes(registry))
            : firewallCommands.length > 0;
        // One problem per registry, however many servers (a writable one and its standby) it runs.
        if (!covered && !problems.some((p) => p.urn === (registry ?? server).urn)) {
            problems.push({
                urn: (registry ?? server).urn,
                message: `Stack "${stack}" runs a registry without its host firewall, so the registry port and SSH are open to every address. `
                    + "Set PrivateRegistryArgs.firewallEnabled to true (config key `firewallEnabled`) with registryAllowedCidrs and sshAllowedCidrs.",
            });
        }
    }
    return problems;
}
