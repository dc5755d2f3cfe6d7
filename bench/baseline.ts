/**
 * The baseline: a registry started exactly as the seed guide does, with the same image as the
 * stack: a self-signed certificate from `openssl req`, an htpasswd file from `htpasswd -Bbn`
 * (apache2-utils, bcrypt cost 5 by default) and
 *   docker run -d -p <port>:5000 --restart=always --name … -v auth:/auth -v certs:/certs -e REGISTRY_… image
 * The only departure: the port is published on 127.0.0.1, since the benchmark's traffic stays on
 * loopback (the data path through docker-proxy is the same as for a 0.0.0.0 publish).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { Cleanup } from "./cleanup";
import { nowMs, run, runOk } from "./exec";
import { RegistryTarget, waitForAuthenticated200 } from "./target";

export interface BaselineOptions {
    readonly image: string;
    readonly port: number;
    readonly workDir: string;
    readonly containerName: string;
}

export interface Baseline extends RegistryTarget {
    /** From `docker run` to the first authenticated 200 from /v2/, in milliseconds. */
    readonly startToFirst200Ms: number;
    /** bcrypt cost in the htpasswd entry `htpasswd -Bbn` wrote. */
    readonly bcryptCost: number;
}

function randomPassword(length: number): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let out = "";
    while (out.length < length) {
        const b = crypto.randomBytes(1)[0];
        if (b < 248) out += alphabet[b % 62];
    }
    return out;
}

export async function startBaseline(opts: BaselineOptions, cleanup: Cleanup): Promise<Baseline> {
    const dir = path.join(opts.workDir, "baseline");
    const certs = path.join(dir, "certs");
    const auth = path.join(dir, "auth");
    fs.mkdirSync(certs, { recursive: true });
    fs.mkdirSync(auth, { recursive: true });

    await runOk("openssl", [
        "req", "-newkey", "rsa:4096", "-nodes", "-sha256", "-keyout", path.join(certs, "domain.key"),
        "-subj", "/CN=localhost", "-addext", "subjectAltName = DNS:localhost,IP:127.0.0.1",
        "-x509", "-days", "365", "-out", path.join(certs, "domain.crt"),
    ]);
    const username = "bench";
    const password = randomPassword(32);
    const htpasswd = (await runOk("htpasswd", ["-Bbn", username, password])).stdout.trim();
    fs.writeFileSync(path.join(auth, "htpasswd"), htpasswd + "\n");
    const cost = Number(/^[^:]+:\$2[aby]\$(\d\d)\$/.exec(htpasswd)?.[1] ?? NaN);

    const stale = await run("docker", ["container", "inspect", opts.containerName]);
    if (stale.code === 0) throw new Error(`a container named ${opts.containerName} already exists; remove it (docker rm -f -v ${opts.containerName}) and run again`);

    cleanup.add(`remove baseline container ${opts.containerName}`, async () => {
        // -v: also the anonymous volume the image declares for /var/lib/registry.
        const r = await run("docker", ["rm", "-f", "-v", opts.containerName]);
        if (r.code !== 0 && !/No such container/i.test(r.stderr)) throw new Error(r.stderr.trim());
    });
    const started = nowMs();
    await runOk("docker", [
        "run", "-d",
        "-p", `127.0.0.1:${opts.port}:5000`,
        "--restart=always",
        "--name", opts.containerName,
        "--label", "private-registry.bench=baseline",
        "-v", `${auth}:/auth`,
        "-e", "REGISTRY_AUTH=htpasswd",
        "-e", "REGISTRY_AUTH_HTPASSWD_REALM=Registry Realm",
        "-e", "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd",
        "-v", `${certs}:/certs`,
        "-e", "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/domain.crt",
        "-e", "REGISTRY_HTTP_TLS_KEY=/certs/domain.key",
        opts.image,
    ]);
    const target: RegistryTarget = {
        label: "baseline",
        host: `127.0.0.1:${opts.port}`,
        username,
        password,
        caPem: fs.readFileSync(path.join(certs, "domain.crt"), "utf8"),
        container: opts.containerName,
    };
    await waitForAuthenticated200(target, 60_000);
    return { ...target, startToFirst200Ms: nowMs() - started, bcryptCost: cost };
}
