import * as pulumi from "@pulumi/pulumi";
import { hostCommand } from "./hostCommand";
import { FirewallConnectionArgs } from "./firewall";
import { maintenanceScriptName, renderMaintenanceInstallScript, renderMaintenanceRemoveScript } from "./maintenanceScript";
import { defaultRegistrySettings } from "./validation";

/** Arguments of {@link RegistryMaintenance}. */
export interface RegistryMaintenanceArgs {
    /** The writable registry container; with replicas, the first, and the script is named after it. Required. */
    readonly primaryContainer: pulumi.Input<string>;
    /** The other writable replicas behind the front, in the order of its servers. Default: []. */
    readonly replicaContainers?: pulumi.Input<string>[];
    /** The Redis container caching the registries' blob descriptors; the window empties it. Default: none. */
    readonly cacheContainer?: pulumi.Input<string>;
    /** The read-only standby container (created stopped). Required. */
    readonly standbyContainer: pulumi.Input<string>;
    /** The front container that publishes the registry port. Required. */
    readonly frontContainer: pulumi.Input<string>;
    /** The data volume; none when the registries keep their data in S3. Default: none. */
    readonly dataVolume?: pulumi.Input<string>;
    /** The writable registry's config volume. Required. */
    readonly configVolume: pulumi.Input<string>;
    /** Registry image reference, for one-off containers. Required. */
    readonly image: string;
    /** Numeric user:group the registry runs as. Default: "1000:1000". */
    readonly registryUser?: string;
    /** Cron schedule of garbage collection; empty schedules none. Default: "0 3 * * 0". */
    readonly gcSchedule?: string;
    /** Garbage collection also deletes untagged manifests. Default: false. */
    readonly gcDeleteUntagged?: boolean;
    /** Cron schedule of backups; empty schedules none. Default: "30 2 * * *". */
    readonly backupSchedule?: string;
    /** Directory on the Docker host backups are written to. Default: "/var/backups/private-registry". */
    readonly backupDir?: string;
    /** Backups kept. Default: 7. */
    readonly backupRetention?: number;
    /** Docker network a one-off gc joins to reach S3, when the registry keeps its data there; backup and restore then refuse. Default: none, the data volume. */
    readonly objectStorageNetwork?: pulumi.Input<string>;
    /** SSH connection to the Docker host; without one the commands run on the machine running Pulumi. Default: none. */
    readonly connection?: FirewallConnectionArgs;
}

/**
 * Installs the maintenance script (gc, backup, restore, list) on the Docker host and its cron
 * schedules, as the user the command runs as; destroy takes the schedules out and leaves the
 * script, which is what restores the backups.
 */
export class RegistryMaintenance extends pulumi.ComponentResource {
    /** Name of the installed script (on PATH for root: /usr/local/sbin; otherwise ~/.local/bin). */
    public readonly scriptName: pulumi.Output<string>;

    constructor(name: string, args: RegistryMaintenanceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("private-registry:index:RegistryMaintenance", name, {}, opts);
        const d = defaultRegistrySettings;
        const scriptOptions = pulumi.all([args.primaryContainer, args.standbyContainer, args.frontContainer, args.dataVolume ?? "", args.configVolume,
            args.objectStorageNetwork, pulumi.all(args.replicaContainers ?? []), args.cacheContainer])
            .apply(([primaryContainer, standbyContainer, frontContainer, dataVolume, configVolume, objectStorageNetwork, replicaContainers, cacheContainer]) => ({
                primaryContainer, standbyContainer, frontContainer, dataVolume, configVolume, objectStorageNetwork, replicaContainers, cacheContainer,
                image: args.image,
                registryUser: args.registryUser ?? "1000:1000",
                backupDir: args.backupDir ?? d.maintenanceBackupDir,
                backupRetention: args.backupRetention ?? d.maintenanceBackupRetention,
                gcDeleteUntagged: args.gcDeleteUntagged ?? d.maintenanceGcDeleteUntagged,
            }));
        const schedules = { gc: args.gcSchedule ?? d.maintenanceGcSchedule, backup: args.backupSchedule ?? d.maintenanceBackupSchedule };
        const install = scriptOptions.apply((o) => renderMaintenanceInstallScript(o, schedules));
        const remove = pulumi.output(args.primaryContainer).apply(renderMaintenanceRemoveScript);

        // The install is idempotent and embeds the whole script, so a change re-runs it in place.
        hostCommand(`${name}-install`, { create: install, update: install, delete: remove }, args.connection, this);

        this.scriptName = pulumi.output(args.primaryContainer).apply(maintenanceScriptName);
        this.registerOutputs({ scriptName: this.scriptName });
    }
}
