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

/** Status → count of the docker daemon's GETs of one path, from access log text (to tell a streamed blob from a redirected one). */
export function dockerGetStatuses(logText: string, requestPath: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const line of logText.split("\n")) {
        const m = /"GET (\S+) HTTP\/[\d.]+" (\d{3}) \d+ "[^"]*" "docker\//.exec(line);
        if (m && m[1] === requestPath) counts[m[2]] = (counts[m[2]] ?? 0) + 1;
    }
    return counts;
}
