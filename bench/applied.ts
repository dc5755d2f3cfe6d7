/**
 * The settings a registry container is really running with, read from its files (not from the
 * stack's config, whose defaults may change while a benchmark runs): the bcrypt cost of each
 * htpasswd entry, the blob descriptor cache, HTTP/2 and the log level, and the Go runtime's GOGC
 * and GOMEMLIMIT from the container's environment. Only those fields are kept; the files' secrets
 * are never stored or printed.
 */
import YAML from "yaml";
import { tokenServiceConfigDir } from "../components/tokenService";
import { runOk } from "./exec";

export interface AppliedSettings {
    bcryptCosts: number[];
    blobDescriptorCache: boolean;
    http2: boolean;
    logLevel: string;
    /** GOGC and GOMEMLIMIT as the container sets them; "unset" where it doesn't (Go's defaults). */
    goGc: string;
    goMemLimit: string;
}

export function bcryptCosts(htpasswd: string): number[] {
    return htpasswd.split("\n").map((l) => /^[^:]+:\$2[aby]\$(\d\d)\$/.exec(l)?.[1]).filter((c): c is string => c !== undefined).map(Number);
}

/** The stack's registry: config in /etc/distribution (see components/registryConfig.ts). */
export async function stackAppliedSettings(container: string, htpasswdFrom?: { container: string; path: string }): Promise<AppliedSettings> {
    // With token authentication the token service checks the passwords, from its own copy.
    const from = htpasswdFrom ?? { container, path: "/etc/distribution/htpasswd" };
    const htpasswd = (await runOk("docker", ["exec", from.container, "cat", from.path])).stdout;
    const config = YAML.parse((await runOk("docker", ["exec", container, "cat", "/etc/distribution/config.yml"])).stdout) as {
        storage?: { cache?: { blobdescriptor?: string } };
        http?: { http2?: { disabled?: boolean } };
        log?: { level?: string };
    };
    const env = JSON.parse((await runOk("docker", ["inspect", "--format", "{{json .Config.Env}}", container])).stdout) as string[] | null;
    const envValue = (name: string) => (env ?? []).find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1) ?? "unset";
    return {
        bcryptCosts: bcryptCosts(htpasswd),
        blobDescriptorCache: config.storage?.cache?.blobdescriptor === "inmemory",
        http2: config.http?.http2?.disabled !== true,
        // distribution's default level is info.
        logLevel: config.log?.level ?? "info",
        goGc: envValue("GOGC"),
        goMemLimit: envValue("GOMEMLIMIT"),
    };
}

/** The token service container of a stack whose registry is `registryContainer`. */
export function tokenServiceContainer(registryContainer: string): string {
    return `${registryContainer}-token`;
}

/** Where the token service of that stack keeps the htpasswd file it checks logins against. */
export function tokenServiceHtpasswd(registryContainer: string): { container: string; path: string } {
    return { container: tokenServiceContainer(registryContainer), path: `${tokenServiceConfigDir}/htpasswd` };
}
