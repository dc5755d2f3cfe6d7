/** The docker CLI for the image test, and which base image to build from on this machine. */
import { execFile, execFileSync } from "node:child_process";

/** The classic builder, which the stack's builds use (Docker 20.10's /build API). */
const ENV = { ...process.env, DOCKER_BUILDKIT: "0" };

/** Runs docker and returns its stdout; a failure carries docker's stderr. */
export function docker(...args: string[]): string {
    try {
        return execFileSync("docker", args, { encoding: "utf8", env: ENV, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 16 << 20 });
    } catch (error) {
        const { stderr, status } = error as { stderr?: string; status?: number };
        throw new Error(`docker ${args.join(" ")} failed (exit ${status}): ${stderr ?? ""}`);
    }
}

/** Runs docker without throwing, for commands whose exit code is the result. */
export function dockerStatus(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
        execFile("docker", args, { encoding: "utf8", env: ENV }, (error, stdout, stderr) => {
            const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
            resolve({ code, stdout, stderr });
        });
    });
}

/** The default of `ARG <name>=<default>` in a Dockerfile. */
export function argDefault(dockerfile: string, name: string): string {
    const match = new RegExp(`^ARG ${name}=["']?([^"'\\s]+)["']?\\s*$`, "m").exec(dockerfile);
    if (!match) throw new Error(`the Dockerfile has no ARG ${name}=<default> line`);
    return match[1];
}

/** name:tag of a reference, without its digest (`latest` when it names no tag). */
export function tagOf(reference: string): string {
    const withoutDigest = reference.split("@")[0];
    return /:[^/]+$/.test(withoutDigest) ? withoutDigest : `${withoutDigest}:latest`;
}

/**
 * The build arguments that pick the base image: on a machine with the local stand-in
 * (tests/setup/prepare-machine.sh) its name:tag, since the classic builder would try to pull the
 * digest-pinned default; elsewhere none, so the official image is pulled by digest.
 */
export function baseImageBuildArgs(defaultReference: string): string[] {
    const tag = tagOf(defaultReference);
    let standIn = "";
    try {
        standIn = docker("image", "inspect", "--format", '{{ index .Config.Labels "org.private-registry.stand-in" }}', tag).trim();
    } catch {
        return [];
    }
    return standIn === "true" ? ["--build-arg", `NODE_IMAGE=${tag}`] : [];
}
