import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    defaultFirewallInstallOptions,
    FirewallRuleOptions,
    renderAsRoot,
    renderFirewallRemoveScript,
} from "../../components/firewallRules";
import { must, run, topo } from "./net";

export const firewallOptions: FirewallRuleOptions = {
    publicInterface: topo.publicInterface,
    registryPort: 5000,
    registryAllowedCidrs: [...topo.registryAllowedCidrs],
    sshPort: 22,
    sshAllowedCidrs: [...topo.sshAllowedCidrs],
    // The token service's: the stack runs with token authentication.
    servicePorts: [5002],
};

const repoRoot = path.resolve(__dirname, "../..");

/**
 * The real thing: index.ts with the dev stack's config, applied by the local harness
 * (tests/local-apply), which runs the firewall's command:local:Command create/delete for real.
 * The stack lives in its own project directory (copies of Pulumi.yaml and Pulumi.dev.yaml), so
 * its state never mixes with a dev deployment or another suite's.
 */
/** Removes the Docker objects a stack with this containerName makes (a crashed run's leftovers). Never throws. */
export async function removeStackDockerObjects(containerName: string): Promise<void> {
    // The registry, its standby, its front and its token service, each with its init container and config volume.
    const names = ["", "-standby", "-front", "-token"].map((suffix) => `${containerName}${suffix}`);
    await run("docker", ["rm", "-f", ...names.flatMap((n) => [n, `${n}-init`])]);
    await run("docker", ["volume", "rm", `${containerName}-data`, ...names.map((n) => `${n}-config`)]);
    await run("docker", ["network", "rm", `${containerName}-net`]);
}

export class HarnessDeployment {
    readonly description = "dev stack through the local apply harness";
    readonly containerName = "rfwt-registry";
    readonly registryPort = 5000;
    /** The token service's port: token authentication is on, so the firewall must open this one too. */
    readonly tokenPort = firewallOptions.servicePorts![0];
    /** The component's defaults: the stack installs where a real host boots from. */
    readonly install = defaultFirewallInstallOptions;
    /** CA of the registry's certificate (a stack output), so the probes verify TLS. */
    caFile?: string;
    private readonly projectDir: string;

    constructor() {
        this.projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "rfwt-stack-"));
        for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml"]) fs.copyFileSync(path.join(repoRoot, f), path.join(this.projectDir, f));
    }

    private async harness(args: string[]): Promise<string> {
        return must("npm", ["run", "-s", "local", "--", ...args, "--stack", "dev", "--project-dir", this.projectDir,
            "--program", path.join(repoRoot, "index.ts")], { timeoutMs: 300_000 });
    }

    private async up(firewall: boolean): Promise<void> {
        const config: Record<string, string> = {
            containerName: this.containerName,
            dataVolumeName: `${this.containerName}-data`,
            port: String(this.registryPort),
            // The certificate names the test interfaces' addresses, so the probes verify TLS.
            ipAddresses: JSON.stringify(["127.0.0.1", topo.hostV4, topo.sideHostV4]),
            firewallEnabled: String(firewall),
            publicInterface: firewallOptions.publicInterface,
            registryAllowedCidrs: JSON.stringify(firewallOptions.registryAllowedCidrs),
            sshAllowedCidrs: JSON.stringify(firewallOptions.sshAllowedCidrs),
            auth: "token",
            tokenPort: String(this.tokenPort),
            accessRules: JSON.stringify({ rules: [{ users: ["admin"], repositories: ["**"], actions: ["*"] }] }),
        };
        const out = await this.harness(["up", ...Object.entries(config).flatMap(([k, v]) => ["--config", `private-registry:${k}=${v}`])]);
        console.log(`local up (firewallEnabled=${firewall}):\n${out.split("\n").filter((l) => /^[+~-]|^Resources/.test(l)).join("\n")}`);
        const outputs = JSON.parse(await this.harness(["output", "--json", "--show-secrets"])) as { caCertPem: string };
        this.caFile = path.join(this.projectDir, "ca.crt");
        fs.writeFileSync(this.caFile, outputs.caCertPem);
    }

    /** Registry running, firewall not declared. */
    upWithoutFirewall(): Promise<void> { return this.up(false); }
    /** Registry running, firewall declared and applied. */
    upWithFirewall(): Promise<void> { return this.up(true); }

    /** The create command exactly as the stack declared and the harness ran it. */
    async applyCommand(): Promise<string> {
        const state = JSON.parse(await fs.promises.readFile(path.join(this.projectDir, ".local-state", "dev.json"), "utf8")) as {
            resources: { type: string; name: string; inputs: { create: string } }[];
        };
        const commands = state.resources.filter((r) => r.type === "command:local:Command" && r.name.endsWith("-firewall-rules"));
        if (commands.length !== 1) throw new Error(`expected one firewall command:local:Command in the stack, found ${commands.length}`);
        return commands[0].inputs.create;
    }

    /** Everything destroyed the way the stack does it. */
    async down(): Promise<void> {
        await this.harness(["down"]);
    }

    /** Best-effort removal of whatever is left (also by a crashed earlier run). Never throws. */
    async cleanup(): Promise<void> {
        const state = path.join(this.projectDir, ".local-state", "dev.json");
        if (fs.existsSync(state)) await this.harness(["down"]).catch(() => undefined);
        // Whatever a crashed run left: the rules (same script the component declares), the
        // container and its volumes (all named after the container).
        await run("sh", ["-c", renderAsRoot(renderFirewallRemoveScript(this.install))]);
        await removeStackDockerObjects(this.containerName);
    }

    /** Removes the stack's project directory; call once, at the very end. */
    dispose(): void {
        fs.rmSync(this.projectDir, { recursive: true, force: true });
    }
}
