import { firewallTableName } from "../../components/firewallRules";
import { must, run } from "./net";

export interface NftRule {
    chain: string;
    comment?: string;
    text: string;
    packets: number;
}

/** The parts of `nft -j` output read here (libnftables-json(5)). */
interface NftJson {
    nftables: {
        rule?: {
            chain: string;
            comment?: string;
            expr: { counter?: { packets: number }; match?: { left?: { meta?: { key?: string } }; right: unknown } }[];
        };
    }[];
}

async function tableJson(): Promise<NftJson> {
    return JSON.parse(await must("nft", ["-j", "list", "table", "inet", firewallTableName])) as NftJson;
}

/** Whether `table inet private_registry` is loaded. */
export async function tableExists(): Promise<boolean> {
    return (await run("nft", ["list", "table", "inet", firewallTableName])).code === 0;
}

/** The table as nft prints it, counters zeroed so two listings compare on rules alone. */
export async function tableText(): Promise<string> {
    const text = await must("nft", ["list", "table", "inet", firewallTableName]);
    return text.replace(/counter packets \d+ bytes \d+/g, "counter");
}

/** Every rule of the table with its counter, from nft's JSON output. */
export async function tableRules(): Promise<NftRule[]> {
    const json = await tableJson();
    const rules: NftRule[] = [];
    for (const item of json.nftables) {
        if (!item.rule) continue;
        const counter = item.rule.expr.find((e) => e.counter)?.counter;
        rules.push({
            chain: item.rule.chain,
            comment: item.rule.comment,
            text: JSON.stringify(item.rule.expr),
            packets: counter ? counter.packets : 0,
        });
    }
    return rules;
}

/** The interface names the table's rules match on. */
export async function matchedInterfaces(): Promise<string[]> {
    const json = await tableJson();
    const names = new Set<string>();
    for (const item of json.nftables) {
        for (const e of item.rule?.expr ?? []) {
            if (e.match?.left?.meta?.key === "iifname" || e.match?.left?.meta?.key === "oifname") names.add(String(e.match.right));
        }
    }
    return [...names];
}

/** Packets counted by the rule with this comment in this chain. */
export async function counter(chain: string, comment: string): Promise<number> {
    const rule = (await tableRules()).find((r) => r.chain === chain && r.comment === comment);
    if (!rule) throw new Error(`no rule "${comment}" in chain ${chain}`);
    return rule.packets;
}

/** How many tables named private_registry exist (in any family). */
export async function tableCount(): Promise<number> {
    const tables = await must("nft", ["list", "tables"]);
    return tables.split("\n").filter((l) => l.trim().endsWith(` ${firewallTableName}`)).length;
}
