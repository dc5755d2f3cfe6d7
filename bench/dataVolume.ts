/**
 * Checks that the stack's registry can write its data volume, and works around it when not.
 *
 * Found while building this benchmark: on a fresh (empty) data volume the stack's registry
 * cannot store anything (push → 500, "mkdir /var/lib/registry/docker: permission denied").
 * The init container chowns the volume to the registry's user, but the volume is still empty
 * when the registry container is created, so Docker copies the image's /var/lib/registry into it
 * (nothing) together with that directory's owner (root), undoing the chown. The fix belongs in
 * the stack (components/); until then the benchmark hands the volume to the registry's user with
 * a one-off container, says so, and records it in the results.
 */
import { run, runOk } from "./exec";

export async function dataVolumeWritable(container: string): Promise<boolean> {
    const probe = "/var/lib/registry/.bench-write-probe";
    const r = await run("docker", ["exec", container, "/bin/sh", "-c", `touch ${probe} && rm -f ${probe}`]);
    return r.code === 0;
}

/** Returns a description of the workaround when one was needed, undefined when the volume was fine. */
export async function ensureDataVolumeWritable(container: string, image: string): Promise<string | undefined> {
    if (await dataVolumeWritable(container)) return undefined;
    const inspect = JSON.parse((await runOk("docker", ["inspect", container])).stdout) as {
        Config: { User: string };
        Mounts: { Type: string; Name?: string; Destination: string }[];
    }[];
    const user = inspect[0].Config.User || "0:0";
    const volume = inspect[0].Mounts.find((m) => m.Destination === "/var/lib/registry" && m.Type === "volume")?.Name;
    if (!volume) throw new Error(`${container}: no volume at /var/lib/registry`);
    await runOk("docker", ["run", "--rm", "--network", "none", "-v", `${volume}:/data`, "--entrypoint", "/bin/sh", image, "-c", `chown ${user} /data`]);
    if (!(await dataVolumeWritable(container))) throw new Error(`${container}: /var/lib/registry is still not writable after chown ${user}`);
    return `stack defect worked around: ${container} could not write its data volume ${volume} (root-owned after Docker copied the image's /var/lib/registry ownership into the empty volume, undoing the init container's chown); the benchmark ran chown ${user} on it with a one-off container`;
}
