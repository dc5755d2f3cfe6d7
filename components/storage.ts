import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link RegistryStorage}. */
export interface RegistryStorageArgs {
    /** Name of the docker volume that holds the registry's blobs and manifests. Default "registry-data". */
    readonly volumeName?: string;
    /**
     * Protect the volume and retain it on delete: `pulumi destroy` and replacements leave it, and its
     * images, in place. Turn off only for throwaway stacks. Default true.
     */
    readonly protect?: boolean;
}

/** The registry's persistent data volume. */
export class RegistryStorage extends pulumi.ComponentResource {
    /** Name of the data volume. */
    public readonly volumeName: pulumi.Output<string>;

    constructor(name: string, args: RegistryStorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("private-registry:index:RegistryStorage", name, {}, opts);
        const protect = args.protect ?? true;
        const volume = new docker.Volume(`${name}-data`, {
            name: args.volumeName ?? "registry-data",
            labels: [{ label: "private-registry.role", value: "data" }],
        }, { parent: this, protect, retainOnDelete: protect });
        this.volumeName = volume.name;
        this.registerOutputs({ volumeName: this.volumeName });
    }
}
