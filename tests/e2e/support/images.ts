import * as fs from "fs";
import * as path from "path";
import { runOk } from "./shell";

/**
 * Builds `tag` from `from` with one layer per file of random bytes (random, so gzip can't shrink
 * them and every build is new), in a context under `workDir`, with the docker client's `env`.
 */
export function buildRandomImage(tag: string, files: Record<string, number>, workDir: string, env: NodeJS.ProcessEnv, from = "scratch"): void {
    const context = fs.mkdtempSync(path.join(workDir, "build-"));
    const lines = [`FROM ${from}`];
    for (const [name, bytes] of Object.entries(files)) {
        runOk(`head -c ${bytes} /dev/urandom > ${context}/${name}`);
        lines.push(`COPY ${name} /${name}`);
    }
    fs.writeFileSync(path.join(context, "Dockerfile"), lines.join("\n") + "\n");
    runOk(`docker build -q -t ${tag} ${context}`, { env, timeoutMs: 300_000 });
}
