import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { frontConfigDir, frontContainerPort, frontFiles, renderFrontConfig } from "./frontConfig";
import { componentDependencies } from "./componentDependencies";
import { configUpload } from "./serverFiles";
import { hardenedServiceSettings, serviceConfigVolume } from "./serviceContainer";
import { defaultRegistrySettings } from "./validation";

/** Arguments of {@link RegistryFront}. */
export interface RegistryFrontArgs {
    /** HAProxy image, pinned by digest, e.g. haproxy:3.0-alpine@sha256:…. Required. */
    readonly image: string;
    /** Name of the front container; its init container and config volume are named after it. Required. */
    readonly containerName: string;
    /** Docker network shared with the registries. Required. */
    readonly networkName: pulumi.Input<string>;
    /** The writable registries, as host:port: names on networkName, or the addresses replicas on other hosts publish their port on. Required. */
    readonly backends: string[];
    /** Name of the read-only standby registry on networkName, which serves pulls during maintenance windows. Default: "", none. */
    readonly standbyHost?: string;
    /** A DNS name in the registry's certificate; every registry's certificate is checked against it. Required. */
    readonly verifyHostname: string;
    /** PEM of the registry's certificate: the front ends TLS with it while the standby serves. Required. */
    readonly tlsCertPem: pulumi.Input<string>;
    /** PEM of the registry certificate's private key. Required. */
    readonly tlsKeyPem: pulumi.Input<string>;
    /** PEM of the CA that signed the registry's certificate. Required. */
    readonly caCertPem: pulumi.Input<string>;
    /** Host port the front is published on. Default: 5000. */
    readonly port?: number;
    /** Host address the port is published on. Default: "0.0.0.0". */
    readonly bindAddress?: string;
    /** Numeric user the front runs as; it owns its config files. Default: 1000. */
    readonly uid?: number;
    /** Numeric group the front runs as. Default: 1000. */
    readonly gid?: number;
}

/**
 * The registry's public port: HAProxy passing TCP through to the writable registry or balancing
 * across the replicas, and during a maintenance window serving pulls from the read-only standby
 * (see renderFrontConfig). Its root filesystem is read-only, so, as for the registry, an init
 * container fills its config volume.
 */
export class RegistryFront extends pulumi.ComponentResource {
    /** Name of the front container; the maintenance script drives it through HAProxy's runtime API. */
    public readonly containerName: pulumi.Output<string>;

    constructor(name: string, args: RegistryFrontArgs, opts?: pulumi.ComponentResourceOptions) {
        super("private-registry:index:RegistryFront", name, {}, opts);
        const uid = args.uid ?? 1000;
        const gid = args.gid ?? 1000;

        const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
        const configText = renderFrontConfig({ backends: args.backends, standbyHost: args.standbyHost ?? "", verifyHostname: args.verifyHostname });
        const uploads = pulumi.all([args.tlsCertPem, args.tlsKeyPem, args.caCertPem]).apply(([cert, key, ca]) => [
            configUpload("haproxy.cfg", configText, "0444", uid, gid),
            configUpload("server.pem", `${cert.trimEnd()}\n${key.trimEnd()}\n`, "0400", uid, gid),
            configUpload("ca.crt", ca, "0444", uid, gid),
        ]);
        // New files replace the front, so HAProxy reads them.
        const config = serviceConfigVolume(name, this, { containerName: args.containerName, role: "front-config", imageId: image.imageId, uploads, uid, gid });

        const container = new docker.Container(`${name}-container`, {
            name: args.containerName,
            image: image.imageId,
            entrypoints: ["haproxy"],
            command: ["-W", "-db", "-f", frontFiles.config],
            user: `${uid}:${gid}`,
            ...hardenedServiceSettings,
            networksAdvanced: [{ name: args.networkName }],
            ports: [{
                internal: frontContainerPort,
                external: args.port ?? defaultRegistrySettings.port,
                ip: args.bindAddress ?? defaultRegistrySettings.bindAddress,
                protocol: "tcp",
            }],
            volumes: [{ volumeName: config.volume.name, containerPath: frontConfigDir, readOnly: true }],
            restart: "always",
            memory: 256,
            memorySwap: 256,
            labels: [config.digestLabel],
            mustRun: true,
        }, { parent: this, deleteBeforeReplace: true, dependsOn: [config.init, ...componentDependencies("RegistryFront", opts)] });

        this.containerName = container.name;
        this.registerOutputs({ containerName: this.containerName });
    }
}
