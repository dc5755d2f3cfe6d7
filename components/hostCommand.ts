import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { FirewallConnectionArgs } from "./firewall";

/** What a host command runs: an idempotent script for create and update, one for delete. */
export interface HostCommandScripts {
    readonly create: pulumi.Input<string>;
    readonly update: pulumi.Input<string>;
    readonly delete: pulumi.Input<string>;
    readonly triggers?: pulumi.Input<unknown>[];
}

/**
 * A command on a host: over SSH when a connection is given, else on the machine running Pulumi.
 * Replacement deletes first, so the old delete script never runs after the new create.
 */
export function hostCommand(name: string, scripts: HostCommandScripts, connection: FirewallConnectionArgs | undefined, parent: pulumi.Resource): pulumi.CustomResource {
    const opts: pulumi.CustomResourceOptions = { parent, deleteBeforeReplace: true };
    return connection !== undefined
        ? new command.remote.Command(name, { ...scripts, connection }, opts)
        : new command.local.Command(name, scripts, opts);
}
