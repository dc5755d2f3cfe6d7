/**
 * What the stack will listen on before it is up: the port and container name, as the harness
 * resolves config (Pulumi.yaml defaults < Pulumi.<stack>.yaml < --config).
 */
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { tokenRealm } from "../components/tokenAuth";
import { repoRoot } from "./stack";

export interface ExpectedStack {
    port: number;
    containerName: string;
    /** With auth: token, where tokens come from and the registry's service name. */
    token?: { realm: string; service: string };
}

function configValue(key: string, stack: string, overrides: string[]): unknown {
    for (const o of [...overrides].reverse()) {
        const i = o.indexOf("=");
        const k = o.slice(0, i).trim();
        if (k === key || k === `private-registry:${key}`) return YAML.parse(o.slice(i + 1));
    }
    const stackFile = path.join(repoRoot, `Pulumi.${stack}.yaml`);
    if (fs.existsSync(stackFile)) {
        const doc = YAML.parse(fs.readFileSync(stackFile, "utf8")) as { config?: Record<string, unknown> };
        const v = doc?.config?.[`private-registry:${key}`];
        if (v !== undefined) return v;
    }
    const project = YAML.parse(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8")) as { config?: Record<string, { default?: unknown }> };
    return project.config?.[`private-registry:${key}`]?.default;
}

export function expectedStack(stack: string, overrides: string[]): ExpectedStack {
    const port = Number(configValue("port", stack, overrides));
    const host = (configValue("hostnames", stack, overrides) as string[])[0];
    const token = configValue("auth", stack, overrides) === "token"
        ? { realm: tokenRealm(host, Number(configValue("tokenPort", stack, overrides))), service: `${host}:${port}` }
        : undefined;
    return { port, containerName: String(configValue("containerName", stack, overrides)), ...(token ? { token } : {}) };
}

/** The stack's resolved value of one setting (e.g. bcryptCost), for the report. */
export function stackSetting(key: string, stack: string, overrides: string[]): unknown {
    return configValue(key, stack, overrides);
}
