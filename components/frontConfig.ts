import { registryContainerPort, registryDebugPort } from "./registryConfig";

/** Where the front's config volume is mounted in the HAProxy container. */
export const frontConfigDir = "/usr/local/etc/haproxy";

/** Paths of the files HAProxy reads, inside the front container. */
export const frontFiles = {
    /** haproxy.cfg. */
    config: `${frontConfigDir}/haproxy.cfg`,
    /** The server certificate followed by its key: the standby listener ends TLS with it. */
    serverPem: `${frontConfigDir}/server.pem`,
    /** The CA the standby registry's certificate is checked against. */
    caCert: `${frontConfigDir}/ca.crt`,
} as const;

/** Port the front listens on inside its container (published on the registry's host port). */
export const frontContainerPort = 5000;

/** Loopback port of the front's own TLS listener that serves the maintenance window. */
export const frontStandbyListenerPort = 5443;

/** Loopback port of HAProxy's runtime API inside the front container. */
export const frontRuntimeApiPort = 9999;

/** Health-check timing of the front; the maintenance script waits on these. */
export const frontHealthCheck = {
    /** Seconds between checks of each registry. */
    intervalSeconds: 1,
    /** Failed checks before a registry is taken out of rotation. */
    fall: 2,
    /** Passed checks before it is put back. */
    rise: 2,
} as const;

/**
 * The message a push gets during a maintenance window. Docker prints `unsupported: <message>` for
 * a 405 answer with this JSON body; the read-only registry's own answer is an unparsable plain text.
 */
export const maintenanceRefusalMessage =
    "the registry is read-only during a maintenance window (garbage collection or backup); pulls are served, push again when it ends";

/** What {@link renderFrontConfig} needs to know. */
export interface FrontConfigOptions {
    /** DNS name of the writable registry on the shared Docker network. */
    readonly primaryHost: string;
    /** DNS name of the read-only standby registry on the shared Docker network. */
    readonly standbyHost: string;
    /** A name in the server certificate; the standby's certificate is checked against it. */
    readonly verifyHostname: string;
}

/**
 * haproxy.cfg of the front. Normally it passes TCP through to the writable registry, so TLS ends
 * there and the front costs little. When the registry's health fails (the maintenance script
 * created its marker file) new connections go to the backup: a listener of the front itself that
 * ends TLS with the registry's certificate, answers writes with a clear refusal and passes reads
 * to the read-only standby over TLS. Docker's DNS (127.0.0.11) is asked again every second, since
 * a restarted or replaced container may come back with another address.
 */
export function renderFrontConfig(options: FrontConfigOptions): string {
    const { intervalSeconds, fall, rise } = frontHealthCheck;
    const refusal = JSON.stringify({ errors: [{ code: "UNSUPPORTED", message: maintenanceRefusalMessage }] });
    const healthCheck = [
        "    option httpchk GET /debug/health",
        "    http-check expect status 200",
        `    default-server inter ${intervalSeconds}s fall ${fall} rise ${rise} resolvers docker init-addr none`,
    ];
    return [
        "global",
        "    log stdout format raw local0 notice",
        // Inside the front's own network namespace only: the maintenance script reaches it through docker exec.
        `    stats socket ipv4@127.0.0.1:${frontRuntimeApiPort} level admin`,
        "    maxconn 4096",
        "",
        "defaults",
        "    log global",
        "    timeout connect 5s",
        // Layers are streamed for minutes; a connection only idles between requests.
        "    timeout client 5m",
        "    timeout server 5m",
        "",
        "resolvers docker",
        "    nameserver docker 127.0.0.11:53",
        "    hold valid 1s",
        "    hold other 1s",
        "    hold refused 1s",
        "    hold nx 1s",
        "    hold timeout 1s",
        "    hold obsolete 1s",
        "",
        "frontend registry",
        "    mode tcp",
        `    bind :${frontContainerPort}`,
        "    default_backend registry",
        "",
        "backend registry",
        "    mode tcp",
        ...healthCheck,
        `    server primary ${options.primaryHost}:${registryContainerPort} check port ${registryDebugPort}`,
        `    server standby 127.0.0.1:${frontStandbyListenerPort} backup`,
        "",
        "frontend standby",
        "    mode http",
        `    bind 127.0.0.1:${frontStandbyListenerPort} ssl crt ${frontFiles.serverPem} alpn h2,http/1.1`,
        `    http-request return status 405 content-type application/json string '${refusal}' unless { method GET HEAD OPTIONS }`,
        "    default_backend standby",
        "",
        "backend standby",
        "    mode http",
        ...healthCheck,
        `    server standby ${options.standbyHost}:${registryContainerPort} ssl verify required ca-file ${frontFiles.caCert} ` +
            `verifyhost ${options.verifyHostname} alpn h2,http/1.1 check port ${registryDebugPort} no-check-ssl`,
        "",
    ].join("\n");
}
