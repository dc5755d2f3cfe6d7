import * as bcrypt from "bcryptjs";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
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
    /** Best-effort removal of whatever is left, for afterAll. Never throws. */
    cleanup(): Promise<void>;
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
        fs.rmSync(this.dir, { recursive: true, force: true });
    }
}
