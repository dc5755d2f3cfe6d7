import * as crypto from "crypto";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { initConfigMount, renderConfigDirInitScript, UploadSpec } from "./serverFiles";

/** What every long-running container of the stack shares: read-only root, no capabilities, no privilege gain, bounded logs. */
export const hardenedServiceSettings = {
    readOnly: true,
    capabilities: { drops: ["ALL"] },
    securityOpts: ["no-new-privileges:true"],
    logDriver: "json-file",
    logOpts: { "max-size": "10m", "max-file": "3" },
};

/**
 * Timing of the services' healthchecks. Each probe is a process Docker starts in the container,
 * about 0.15 s of the host's CPU, so probes are Docker's default 30 s apart. Docker 25+ probes
 * every startInterval during the start period, so a fresh container is healthy within seconds;
 * older engines ignore startInterval and the first probe comes after 30 s.
 */
export const healthcheckTiming = { interval: "30s", timeout: "3s", retries: 3, startPeriod: "10s", startInterval: "1s" };

/** A service's config volume, the init container that fills it, and the label that replaces the service when its files change. */
export interface ServiceConfigVolume {
    /** The volume, mounted read-only by the service. */
    readonly volume: docker.Volume;
    /** The init container; the service starts after it. */
    readonly init: docker.Container;
    /** Label carrying the files' digest (secret, as the files may be). */
    readonly digestLabel: { label: string; value: pulumi.Output<string> };
}

/**
 * The config volume `<containerName>-config` of a service whose root filesystem is read-only:
 * Docker refuses uploads into such a container, so a short-lived init container of the same image
 * receives the files and hands them to the service's user.
 */
export function serviceConfigVolume(name: string, parent: pulumi.Resource, o: {
    containerName: string; role: string; imageId: pulumi.Input<string>; uploads: pulumi.Output<UploadSpec[]>; uid: number; gid: number;
}): ServiceConfigVolume {
    const volume = new docker.Volume(`${name}-config`, {
        name: `${o.containerName}-config`,
        labels: [{ label: "private-registry.role", value: o.role }],
    }, { parent });
    const digest = pulumi.secret(o.uploads.apply((files) => crypto.createHash("sha256").update(JSON.stringify(files)).digest("hex")));
    const digestLabel = { label: "private-registry.files-sha256", value: digest };
    const init = new docker.Container(`${name}-init`, {
        name: `${o.containerName}-init`,
        image: o.imageId,
        entrypoints: ["/bin/sh", "-c"],
        command: [renderConfigDirInitScript(o.uid, o.gid)],
        uploads: pulumi.secret(o.uploads),
        volumes: [{ volumeName: volume.name, containerPath: initConfigMount }],
        networkMode: "none",
        capabilities: { drops: ["ALL"], adds: ["CHOWN", "FOWNER"] },
        securityOpts: ["no-new-privileges:true"],
        user: "0:0",
        labels: [digestLabel],
        restart: "no",
        mustRun: false,
        attach: true,
    }, { parent, deleteBeforeReplace: true });
    return { volume, init, digestLabel };
}
