/** What the registries' access logs say about how the docker client talked to them. */
import { run } from "./exec";

/** Requests from the docker daemon ("docker/…" user agent) by HTTP version, from the access log. */
export async function dockerClientHttpVersions(container: string): Promise<Record<string, number>> {
    const r = await run("docker", ["logs", container]);
    const counts: Record<string, number> = {};
    for (const line of `${r.stdout}\n${r.stderr}`.split("\n")) {
        const m = /"[A-Z]+ \S+ (HTTP\/[\d.]+)" \d+ \d+ "[^"]*" "docker\//.exec(line);
        if (m) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
    }
    return counts;
}
