/**
 * Container health check: `node dist/healthcheck.js <settings.yaml>` (or TOKEN_SERVICE_CONFIG).
 * GETs https://<loopback>:<port>/healthz and exits 0 on 200, 1 otherwise (no curl or wget with TLS
 * needed in the image).
 *
 * The probe trusts the certificates of the settings' tlsCert file as the only anchors (partial
 * chain), so it still verifies that the server presents that certificate, signed with its key, and
 * within its validity dates. The name is not checked: the probe dials loopback, which the
 * certificate need not name.
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";
import { loadSettings, Settings } from "./config";

export const HEALTH_TIMEOUT_MS = 2000;

/**
 * Where to reach a server bound to `host`: 127.0.0.1 for a wildcard address (`::` accepts IPv4
 * too, and ::1 may be missing in a container), else the address itself.
 */
export function probeHost(host: string): string {
    return ["0.0.0.0", "::", "[::]", ""].includes(host) ? "127.0.0.1" : host;
}

export interface HealthResult {
    healthy: boolean;
    detail: string;
}

/** One GET of /healthz with the service's own certificate as trust anchor; never rejects. */
export function probeHealth(settings: Settings, timeoutMs = HEALTH_TIMEOUT_MS): Promise<HealthResult> {
    return new Promise((resolve) => {
        let ca: string;
        try {
            ca = readFileSync(settings.tlsCert, "utf8");
        } catch (error) {
            resolve({ healthy: false, detail: `cannot read tlsCert: ${(error as Error).message}` });
            return;
        }
        const req = request(
            {
                host: probeHost(settings.host),
                port: settings.port,
                path: "/healthz",
                method: "GET",
                agent: false,
                ca,
                allowPartialTrustChain: true,
                checkServerIdentity: () => undefined,
                minVersion: "TLSv1.2",
                signal: AbortSignal.timeout(timeoutMs),
            },
            (res) => {
                res.resume();
                const healthy = res.statusCode === 200;
                resolve({ healthy, detail: `GET /healthz: ${res.statusCode ?? "no status"}` });
            },
        );
        req.on("error", (error: Error) => {
            const detail = error.name === "AbortError" || error.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : error.message;
            resolve({ healthy: false, detail });
        });
        req.end();
    });
}

/** The exit code of the health check for these arguments and environment. */
export async function runHealthcheck(argv: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = HEALTH_TIMEOUT_MS): Promise<{ code: number; message: string }> {
    const path = argv[0] ?? env.TOKEN_SERVICE_CONFIG;
    if (path === undefined) return { code: 1, message: "usage: healthcheck.js <settings.yaml> (or set TOKEN_SERVICE_CONFIG)" };
    let settings: Settings;
    try {
        settings = loadSettings(path);
    } catch (error) {
        return { code: 1, message: (error as Error).message };
    }
    const result = await probeHealth(settings, timeoutMs);
    return { code: result.healthy ? 0 : 1, message: result.detail };
}

if (require.main === module) {
    void runHealthcheck(process.argv.slice(2), process.env).then(({ code, message }) => {
        (code === 0 ? process.stdout : process.stderr).write(`${message}\n`);
        process.exit(code);
    });
}
