import * as pulumi from "@pulumi/pulumi";
import { hostCommand } from "./hostCommand";
import {
    defaultFirewallPersistDir,
    defaultFirewallSystemdUnitDir,
    renderAsRoot,
    renderFirewallApplyScript,
    renderFirewallRemoveScript,
    renderFirewallRuleset,
} from "./firewallRules";

/** SSH connection to the host the firewall commands run on. */
export interface FirewallConnectionArgs {
    /** Address (DNS name or IP) of the host. Required. */
    readonly host: pulumi.Input<string>;
    /** SSH port. Default 22. */
    readonly port?: pulumi.Input<number>;
    /** SSH user; root, or a user with passwordless sudo. Default "root". */
    readonly user?: pulumi.Input<string>;
    /** Contents of the SSH private key (pass it as a secret). Default: none, the SSH agent (SSH_AUTH_SOCK) is used. */
    readonly privateKey?: pulumi.Input<string>;
    /** The host's expected public key ("ssh-ed25519 AAAA…"), checked before anything runs. Default: none, not checked. */
    readonly hostKey?: pulumi.Input<string>;
}

/** Arguments of {@link RegistryFirewall}. */
export interface RegistryFirewallArgs {
    /** The host's public network interface (e.g. eth0); the only interface the rules apply to. Required. */
    readonly publicInterface: pulumi.Input<string>;
    /** TCP port the registry is published on. Default: 5000. */
    readonly registryPort?: pulumi.Input<number>;
    /** IPv4/IPv6 CIDRs allowed to reach the registry port; with none the port is closed on the public interface. Default: []. */
    readonly registryAllowedCidrs?: pulumi.Input<pulumi.Input<string>[]>;
    /** TCP port of the host's SSH daemon. Default: 22. */
    readonly sshPort?: pulumi.Input<number>;
    /** IPv4/IPv6 CIDRs allowed to reach SSH; with none SSH is closed on the public interface. Default: []. */
    readonly sshAllowedCidrs?: pulumi.Input<pulumi.Input<string>[]>;
    /** TCP port the registry's metrics are published on; dropped on the public interface from every source. Unset: no rule of its own (the final drop closes it all the same). */
    readonly metricsPort?: pulumi.Input<number>;
    /** Other TCP ports of the registry's services (the token service), open to registryAllowedCidrs like the registry port. Default: []. */
    readonly servicePorts?: pulumi.Input<number[]>;
    /**
     * SSH connection to the host to firewall; the commands run as root there (directly or through
     * passwordless sudo). Defaults to none: the commands run on the machine running Pulumi.
     */
    readonly connection?: FirewallConnectionArgs;
    /** Directory on the host the ruleset is saved to for reloading at boot. Defaults to /etc/private-registry. */
    readonly persistDir?: pulumi.Input<string>;
    /** Directory on the host the boot-time systemd unit is written to. Defaults to /etc/systemd/system. */
    readonly systemdUnitDir?: pulumi.Input<string>;
}

/**
 * Host firewall for the registry: an nftables table that leaves only the registry port and SSH
 * open on the public interface, applied (and installed for boot) by a command on the host.
 */
export class RegistryFirewall extends pulumi.ComponentResource {
    /** The nftables ruleset loaded on the host. */
    public readonly rulesetText: pulumi.Output<string>;

    constructor(name: string, args: RegistryFirewallArgs, opts?: pulumi.ComponentResourceOptions) {
        super("private-registry:index:RegistryFirewall", name, {}, opts);

        const rules = pulumi
            .all([args.publicInterface, args.registryPort, args.registryAllowedCidrs, args.sshPort, args.sshAllowedCidrs, args.metricsPort, args.servicePorts])
            .apply(([publicInterface, registryPort, registryAllowedCidrs, sshPort, sshAllowedCidrs, metricsPort, servicePorts]) => ({
                publicInterface,
                registryPort: registryPort ?? 5000,
                registryAllowedCidrs: registryAllowedCidrs ?? [],
                sshPort: sshPort ?? 22,
                sshAllowedCidrs: sshAllowedCidrs ?? [],
                metricsPort,
                servicePorts: servicePorts ?? [],
            }));
        const install = pulumi.all([args.persistDir, args.systemdUnitDir]).apply(([persistDir, systemdUnitDir]) => ({
            persistDir: persistDir ?? defaultFirewallPersistDir,
            systemdUnitDir: systemdUnitDir ?? defaultFirewallSystemdUnitDir,
        }));

        this.rulesetText = rules.apply(renderFirewallRuleset);
        const applyCommand = pulumi.all([rules, install]).apply(([r, i]) => renderAsRoot(renderFirewallApplyScript(r, i)));
        const removeCommand = install.apply((i) => renderAsRoot(renderFirewallRemoveScript(i)));

        // The apply command embeds the whole ruleset, so any rule change is an in-place update that
        // re-runs it (it is idempotent). Should the command ever be replaced, it deletes first: the
        // default create-then-delete would run the old remove script after the new rules loaded.
        hostCommand(`${name}-rules`, { create: applyCommand, update: applyCommand, delete: removeCommand }, args.connection, this);

        this.registerOutputs({ rulesetText: this.rulesetText });
    }
}
