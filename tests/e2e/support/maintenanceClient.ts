import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

/** Where a pull loop reaches the registry, and as whom. */
export interface PullTarget {
    /** host:port of the registry. */
    readonly endpoint: string;
    /** The CA file curl verifies the registry with. */
    readonly caFile: string;
    /** Basic-auth user and password. */
    readonly user: string;
    readonly password: string;
    /** Environment of the docker client (DOCKER_CONFIG with the login). */
    readonly dockerEnv: NodeJS.ProcessEnv;
}

/** What a pull loop counted. */
export interface PullCount {
    ok: number;
    failed: number;
    failures: string[];
}

/**
 * Pulls one image in a loop until stopped, in two processes: curl fetching the manifest and every
 * blob it names, each time on a new connection, and the docker client pulling the image afresh.
 */
export class PullLoop {
    private readonly stopFile: string;
    private readonly children: ChildProcess[] = [];
    private readonly results: Promise<PullCount>[] = [];

    constructor(private readonly target: PullTarget, private readonly image: string, workDir: string, name: string) {
        this.stopFile = path.join(workDir, `${name}.stop`);
    }

    start(): void {
        fs.rmSync(this.stopFile, { force: true });
        const { endpoint, caFile, user, password, dockerEnv } = this.target;
        const tag = this.image.slice(this.image.lastIndexOf(":") + 1);
        const repoPath = this.image.slice(endpoint.length + 1, this.image.lastIndexOf(":"));
        const fetch = `curl -sf --max-time 20 --cacert ${caFile} -u ${user}:${password}`;
        const curlPull = `m=$(${fetch} -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' https://${endpoint}/v2/${repoPath}/manifests/${tag}) || exit 1
            for d in $(printf '%s' "$m" | grep -o 'sha256:[0-9a-f]\\{64\\}'); do ${fetch} -o /dev/null https://${endpoint}/v2/${repoPath}/blobs/$d || exit 1; done`;
        const dockerPull = `docker rmi -f ${this.image} >/dev/null 2>&1; docker pull -q ${this.image} >/dev/null`;
        for (const pull of [curlPull, dockerPull]) {
            const loop = `ok=0; failed=0
                while [ ! -e ${this.stopFile} ]; do
                  if err=$( ( ${pull} ) 2>&1 ); then ok=$((ok + 1)); else failed=$((failed + 1)); echo "FAIL $(date +%T.%N) $err"; fi
                done
                echo "RESULT $ok $failed"`;
            const child = spawn("bash", ["-c", loop], { env: { ...process.env, ...dockerEnv }, stdio: ["ignore", "pipe", "inherit"] });
            this.children.push(child);
            this.results.push(new Promise((resolve) => {
                let out = "";
                child.stdout.on("data", (d: Buffer) => { out += d.toString(); });
                child.on("close", () => {
                    const [, ok, failed] = /RESULT (\d+) (\d+)/.exec(out) ?? ["", "0", "-1"];
                    resolve({ ok: Number(ok), failed: Number(failed), failures: out.split("\n").filter((l) => l.startsWith("FAIL")) });
                });
            }));
        }
    }

    async stop(): Promise<PullCount> {
        fs.writeFileSync(this.stopFile, "");
        const all = await Promise.all(this.results);
        return { ok: all.reduce((n, r) => n + r.ok, 0), failed: all.reduce((n, r) => n + r.failed, 0), failures: all.flatMap((r) => r.failures) };
    }

    kill(): void {
        for (const child of this.children) child.kill();
    }
}

/** Runs the installed maintenance script; `onWindow` runs once the script says the read-only window is open. */
export function runMaintenance(script: string, args: string, onWindow?: () => void): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
        const child = spawn(script, args.split(" "), { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let called = false;
        const collect = (d: Buffer) => {
            out += d.toString();
            if (!called && onWindow && out.includes("read-only window")) {
                called = true;
                onWindow();
            }
        };
        child.stdout.on("data", collect);
        child.stderr.on("data", collect);
        child.on("close", (code) => resolve({ code: code ?? -1, out }));
    });
}
