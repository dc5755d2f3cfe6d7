import * as bcrypt from "bcryptjs";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    defaultFirewallInstallOptions,
    FirewallInstallOptions,
    FirewallRuleOptions,
    renderAsRoot,
    renderFirewallApplyScript,
    renderFirewallRemoveScript,
} from "../../components/firewallRules";
import { must, run, topo } from "./net";

/** What the suite needs from "the stack": a registry published on the host and the firewall's commands. */
export interface Deployment {
    readonly description: string;
    /** Where the apply command installs the rules for boot. */
    readonly install: FirewallInstallOptions;
    readonly containerName: string;
    readonly registryPort: number;
    /** CA that signed the registry's certificate, when the probes can verify it. */
    caFile?: string;
    /** Registry running, firewall not declared. */
    upWithoutFirewall(): Promise<void>;
    /** Registry running, firewall declared and applied. */
    upWithFirewall(): Promise<void>;
    /** The create command the firewall declared, to run it again by hand. */
    applyCommand(): Promise<string>;
    /** Everything destroyed the way the stack does it. */
    down(): Promise<void>;
    /** Best-effort removal of whatever is left (also by a crashed earlier run). Never throws. */
    cleanup(): Promise<void>;
    /** Removes the deployment's own temp files; last thing in afterAll. */
    dispose(): void;
}

export const firewallOptions: FirewallRuleOptions = {
    publicInterface: topo.publicInterface,
    registryPort: 5000,
    registryAllowedCidrs: [...topo.registryAllowedCidrs],
    sshPort: 22,
    sshAllowedCidrs: [...topo.sshAllowedCidrs],
};

/**
 * Without the local harness: the registry stand-in image run by hand with TLS and htpasswd, and
 * the firewall commands rendered exactly as RegistryFirewall declares them (the unit tests pin
 * that the component's create/delete are these strings), installed under a temp root.
 */
export class DirectDeployment implements Deployment {
    readonly description = "direct (stand-in registry container + rendered firewall commands)";
    readonly containerName = "rfwt-registry";
    readonly registryPort = 5000;
    readonly install: FirewallInstallOptions;
    caFile?: string;
    private readonly dir: string;

    constructor(private readonly image = "registry:2.8.3") {
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "rfwt-"));
        this.install = { persistDir: `${this.dir}/root/etc/private-registry`, systemdUnitDir: `${this.dir}/root/etc/systemd/system` };
    }

    async upWithoutFirewall(): Promise<void> {
        if ((await run("docker", ["inspect", this.containerName])).code === 0) return;
        const certs = path.join(this.dir, "certs");
        fs.mkdirSync(certs, { recursive: true });
        await must("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
            "-subj", "/CN=rfwt-registry", "-addext", `subjectAltName=IP:${topo.hostV4},IP:127.0.0.1,IP:${topo.sideHostV4}`,
            "-keyout", path.join(certs, "server.key"), "-out", path.join(certs, "server.crt")]);
        fs.writeFileSync(path.join(certs, "htpasswd"), `probe:${bcrypt.hashSync("probe-password", 5)}\n`);
        this.caFile = path.join(certs, "server.crt");
        await must("docker", ["run", "-d", "--name", this.containerName, "--restart", "always",
            "-p", `0.0.0.0:${this.registryPort}:5000`, "-v", `${certs}:/certs:ro`,
            "-e", "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/server.crt", "-e", "REGISTRY_HTTP_TLS_KEY=/certs/server.key",
            "-e", "REGISTRY_AUTH=htpasswd", "-e", "REGISTRY_AUTH_HTPASSWD_REALM=registry",
            "-e", "REGISTRY_AUTH_HTPASSWD_PATH=/certs/htpasswd", this.image]);
    }

    async upWithFirewall(): Promise<void> {
        await this.upWithoutFirewall();
        await must("sh", ["-c", await this.applyCommand()]);
    }

    async applyCommand(): Promise<string> {
        return renderAsRoot(renderFirewallApplyScript(firewallOptions, this.install));
    }

    async down(): Promise<void> {
        await must("sh", ["-c", renderAsRoot(renderFirewallRemoveScript(this.install))]);
        await run("docker", ["rm", "-f", this.containerName]);
    }

    async cleanup(): Promise<void> {
        await run("sh", ["-c", renderAsRoot(renderFirewallRemoveScript(this.install))]);
        await run("docker", ["rm", "-f", this.containerName]);
    }

    dispose(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}

const repoRoot = path.resolve(__dirname, "../..");

/**
 * The real thing: index.ts with the dev stack's config, applied by the local harness
 * (tests/local-apply), which runs the firewall's command:local:Command create/delete for real.
 * The stack lives in its own project directory (copies of Pulumi.yaml and Pulumi.dev.yaml), so
 * its state never mixes with a dev deployment or another suite's.
 */
export class HarnessDeployment implements Deployment {
    readonly description = "dev stack through the local apply harness";
    readonly containerName = "rfwt-registry";
    readonly registryPort = 5000;
    /** The component's defaults: the stack installs where a real host boots from. */
    readonly install = defaultFirewallInstallOptions;
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
        };
        const out = await this.harness(["up", ...Object.entries(config).flatMap(([k, v]) => ["--config", `private-registry:${k}=${v}`])]);
        console.log(`local up (firewallEnabled=${firewall}):\n${out.split("\n").filter((l) => /^[+~-]|^Resources/.test(l)).join("\n")}`);
        const outputs = JSON.parse(await this.harness(["output", "--json", "--show-secrets"]));
        this.caFile = path.join(this.projectDir, "ca.crt");
        fs.writeFileSync(this.caFile, outputs.caCertPem);
    }

    upWithoutFirewall(): Promise<void> { return this.up(false); }
    upWithFirewall(): Promise<void> { return this.up(true); }

    /** The create command exactly as the stack declared and the harness ran it. */
    async applyCommand(): Promise<string> {
        const state = JSON.parse(fs.readFileSync(path.join(this.projectDir, ".local-state", "dev.json"), "utf8"));
        const commands = state.resources.filter((r: any) => r.type === "command:local:Command");
        if (commands.length !== 1) throw new Error(`expected one command:local:Command in the stack, found ${commands.length}`);
        return commands[0].inputs.create;
    }

    async down(): Promise<void> {
        await this.harness(["down"]);
    }

    async cleanup(): Promise<void> {
        const state = path.join(this.projectDir, ".local-state", "dev.json");
        if (fs.existsSync(state)) await this.harness(["down"]).catch(() => undefined);
        // Whatever a crashed run left: the rules (same script the component declares), the
        // container and its volumes (all named after the container).
        await run("sh", ["-c", renderAsRoot(renderFirewallRemoveScript(this.install))]);
        await run("docker", ["rm", "-f", this.containerName]);
        await run("docker", ["volume", "rm", `${this.containerName}-data`, `${this.containerName}-config`]);
    }

    /** Removes the stack's project directory; call once, at the very end. */
    dispose(): void {
        fs.rmSync(this.projectDir, { recursive: true, force: true });
    }
}
