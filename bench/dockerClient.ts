/**
 * The real docker client, with a throwaway DOCKER_CONFIG (root's ~/.docker is left alone) and
 * each registry's CA in /etc/docker/certs.d/<host:port>/ca.crt for the run.
 */
import * as fs from "fs";
import * as path from "path";
import { Cleanup } from "./cleanup";
import { run, runOk } from "./exec";
import { RegistryTarget } from "./target";

export const certsDir = "/etc/docker/certs.d";

export class DockerClient {
    private readonly env: NodeJS.ProcessEnv;

    constructor(readonly configDir: string) {
        fs.mkdirSync(configDir, { recursive: true, mode: 0o700 });
        this.env = { ...process.env, DOCKER_CONFIG: configDir };
    }

    /** Puts the target's CA where the daemon looks for it; undone (or the old file put back) by cleanup. */
    trust(t: RegistryTarget, cleanup: Cleanup): void {
        const dir = path.join(certsDir, t.host);
        const file = path.join(dir, "ca.crt");
        const dirExisted = fs.existsSync(dir);
        const previous = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(file, t.caPem);
        cleanup.add(`remove ${file}`, () => {
            if (previous !== undefined) {
                fs.writeFileSync(file, previous);
            } else {
                fs.rmSync(file, { force: true });
                if (!dirExisted) fs.rmSync(dir, { recursive: true, force: true });
            }
        });
    }

    async login(t: RegistryTarget): Promise<void> {
        await runOk("docker", ["login", t.host, "--username", t.username, "--password-stdin"], { env: this.env, input: t.password, timeoutMs: 60_000 });
    }

    /** Wall time of `docker push`, in seconds. */
    async push(ref: string): Promise<number> {
        const r = await runOk("docker", ["push", "-q", ref], { env: this.env, timeoutMs: 600_000 });
        return r.ms / 1000;
    }

    /** Wall time of `docker pull`, in seconds. */
    async pull(ref: string): Promise<number> {
        const r = await runOk("docker", ["pull", "-q", ref], { env: this.env, timeoutMs: 600_000 });
        return r.ms / 1000;
    }

    async tag(source: string, ref: string): Promise<void> {
        await runOk("docker", ["tag", source, ref]);
    }

    /** Removes the image with all its tags, so its layers are gone and the next pull fetches them all. */
    async removeImage(id: string): Promise<void> {
        const r = await run("docker", ["rmi", "-f", id]);
        if (r.code !== 0 && !/No such image/i.test(r.stderr)) throw new Error(`docker rmi -f ${id}: ${r.stderr.trim()}`);
    }

    async imageExists(ref: string): Promise<boolean> {
        return (await run("docker", ["image", "inspect", ref])).code === 0;
    }
}
