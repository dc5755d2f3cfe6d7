/**
 * Checks, after every `up`, that the stack's registry can write its data volume: a push to a
 * registry that cannot store blobs fails only after docker's retries (a minute of 500s), so the
 * benchmark stops at once with the reason instead.
 *
 * (Found while building this benchmark: on a fresh, empty data volume the init container's chown
 * was undone when the registry container was created, because Docker copies the image's
 * /var/lib/registry, owner included, onto an empty volume. Fixed in the stack by never leaving the
 * volume empty.)
 */
import { run } from "./exec";

export async function dataVolumeWritable(container: string): Promise<boolean> {
    const probe = "/var/lib/registry/.bench-write-probe";
    const r = await run("docker", ["exec", container, "/bin/sh", "-c", `touch ${probe} && rm -f ${probe}`]);
    return r.code === 0;
}

export async function assertDataVolumeWritable(container: string): Promise<void> {
    if (await dataVolumeWritable(container)) return;
    const owner = await run("docker", ["exec", container, "stat", "-c", "%u:%g %a", "/var/lib/registry"]);
    throw new Error(`${container} cannot write /var/lib/registry (owner and mode: ${owner.stdout.trim() || "unknown"}); pushes would fail with 500. ` +
        "If it is root-owned, Docker's copy-up onto an empty volume has undone the init container's chown.");
}
