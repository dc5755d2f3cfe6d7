import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { RegistryFirewall } from "../../components/firewall";
import {
    renderAsRoot,
    renderFirewallApplyScript,
    renderFirewallRemoveScript,
    renderFirewallRuleset,
} from "../../components/firewallRules";
import { Registration, recordRegistrations } from "./support/registrations";

const registrations: Registration[] = [];

beforeAll(async () => {
    await recordRegistrations(registrations);
});

function resolve<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((done) => output.apply((v) => { done(v); return v; }));
}

async function declare(name: string, connection?: command.types.input.remote.ConnectionArgs) {
    const firewall = new RegistryFirewall(name, {
        publicInterface: "eth0",
        registryAllowedCidrs: ["198.51.100.0/24", "2001:db8::/32"],
        sshAllowedCidrs: ["198.51.100.10/32"],
        connection,
    });
    const ruleset = await resolve(firewall.rulesetText);
    const urn = await resolve(firewall.urn);
    // Children register asynchronously after their inputs resolve.
    await new Promise((done) => setTimeout(done, 50));
    return { firewall, ruleset, urn, children: registrations.filter((r) => r.parent === urn) };
}

const expectedOptions = {
    publicInterface: "eth0",
    registryPort: 5000,
    registryAllowedCidrs: ["198.51.100.0/24", "2001:db8::/32"],
    sshPort: 22,
    sshAllowedCidrs: ["198.51.100.10/32"],
};

describe("RegistryFirewall", () => {
    it("runs the rules locally when there is no connection", async () => {
        const { ruleset, urn, children } = await declare("local-fw");
        expect(urn).toMatch(/::private-registry:index:RegistryFirewall::local-fw$/);
        expect(ruleset).toBe(renderFirewallRuleset(expectedOptions));
        expect(children.map((c) => [c.type, c.name])).toEqual([["command:local:Command", "local-fw-rules"]]);

        const cmd = children[0];
        const apply = renderAsRoot(renderFirewallApplyScript(expectedOptions));
        expect(cmd.inputs.create).toBe(apply);
        // Re-runs the (idempotent) apply script when the rules change, instead of replacing.
        expect(cmd.inputs.update).toBe(apply);
        expect(cmd.inputs.delete).toBe(renderAsRoot(renderFirewallRemoveScript()));
        expect(cmd.inputs.connection).toBeUndefined();
        expect(cmd.deleteBeforeReplace).toBe(true);
    });

    it("runs the same rules over SSH when given a connection", async () => {
        const { children } = await declare("remote-fw", { host: "203.0.113.10", user: "deploy", port: 22 });
        expect(children.map((c) => [c.type, c.name])).toEqual([["command:remote:Command", "remote-fw-rules"]]);
        const cmd = children[0];
        // remote.Command marks the connection secret; the mock sees the wrapped value.
        const connection = cmd.inputs.connection[pulumi.runtime.specialSigKey] ? cmd.inputs.connection.value : cmd.inputs.connection;
        expect(connection).toMatchObject({ host: "203.0.113.10", user: "deploy", port: 22 });
        expect(cmd.inputs.create).toBe(renderAsRoot(renderFirewallApplyScript(expectedOptions)));
        expect(cmd.inputs.delete).toBe(renderAsRoot(renderFirewallRemoveScript()));
    });

    it("passes ports, interface and install directories through", async () => {
        const firewall = new RegistryFirewall("custom-fw", {
            publicInterface: pulumi.output("ens3"),
            registryPort: 8443,
            registryAllowedCidrs: [pulumi.output("10.0.0.0/8")],
            sshPort: 2222,
            persistDir: "/opt/registry/firewall",
            systemdUnitDir: "/run/systemd/system",
        });
        const urn = await resolve(firewall.urn);
        await resolve(firewall.rulesetText);
        await new Promise((done) => setTimeout(done, 50));
        const [cmd] = registrations.filter((r) => r.parent === urn);
        const install = { persistDir: "/opt/registry/firewall", systemdUnitDir: "/run/systemd/system" };
        const opts = { publicInterface: "ens3", registryPort: 8443, registryAllowedCidrs: ["10.0.0.0/8"], sshPort: 2222, sshAllowedCidrs: [] };
        expect(cmd.inputs.create).toBe(renderAsRoot(renderFirewallApplyScript(opts, install)));
        expect(cmd.inputs.delete).toBe(renderAsRoot(renderFirewallRemoveScript(install)));
    });
});
