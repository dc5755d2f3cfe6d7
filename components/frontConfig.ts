import { registryContainerPort } from "./registryConfig";

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

/** Prefix of the writable registries' server names in the front; the maintenance script addresses them by it. */
export const frontServerNamePrefix = "replica-";

/** Name of the i-th (from 0) writable registry among the front's servers. */
export function frontServerName(index: number): string {
    return `${frontServerNamePrefix}${index + 1}`;
}

/** What {@link renderFrontConfig} needs to know. */
export interface FrontConfigOptions {
    /** The writable registries the front balances across, as host:port: names on the shared Docker network, or other hosts' addresses. */
    readonly backends: readonly string[];
    /** DNS name of the read-only standby on the shared Docker network; empty: no maintenance window, so no standby listener. */
    readonly standbyHost: string;
    /** A name in the server certificate; each registry's certificate is checked against it. */
    readonly verifyHostname: string;
}

/**
 * haproxy.cfg of the front. Normally it passes TCP through to the writable registries (the one,
 * or the replicas, least connections first), so TLS ends there and one certificate serves them
 * all. Each is health-checked over TLS on its own port (`GET /` answers 503 when distribution's
 * health checks fail), which works as well for a replica on another host as on the shared
 * network. A connection a stopped registry refuses is redispatched to another. When no writable
 * registry is up (the maintenance script took them out through the runtime API) new connections
 * go to the backup: a listener of the front itself that ends TLS with the registry's certificate,
 * answers writes with a clear refusal and passes reads to the read-only standby. Docker's DNS
 * (127.0.0.11) is asked again every second, since a restarted or replaced container may come back
 * with another address.
 */
export function renderFrontConfig(options: FrontConfigOptions): string {
    const { intervalSeconds, fall, rise } = frontHealthCheck;
    const refusal = JSON.stringify({ errors: [{ code: "UNSUPPORTED", message: maintenanceRefusalMessage }] });
    const tlsToRegistry = `verify required ca-file ${frontFiles.caCert} verifyhost ${options.verifyHostname}`;
    const healthCheck = [
        "    option httpchk GET /",
        "    http-check expect status 200",
        `    default-server inter ${intervalSeconds}s fall ${fall} rise ${rise} resolvers docker init-addr none`,
    ];
    const withStandby = options.standbyHost !== "";
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
        "    retries 2",
        "    option redispatch 1",
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
        "    balance leastconn",
        ...healthCheck,
        ...options.backends.map((backend, i) =>
            `    server ${frontServerName(i)} ${backend} check check-ssl check-alpn http/1.1 ${tlsToRegistry}`),
        ...(withStandby ? [`    server standby 127.0.0.1:${frontStandbyListenerPort} backup`] : []),
        "",
        ...(withStandby
            ? [
                "frontend standby",
                "    mode http",
                `    bind 127.0.0.1:${frontStandbyListenerPort} ssl crt ${frontFiles.serverPem} alpn h2,http/1.1`,
                `    http-request return status 405 content-type application/json string '${refusal}' unless { method GET HEAD OPTIONS }`,
                "    default_backend standby",
                "",
                "backend standby",
                "    mode http",
                ...healthCheck,
                `    server standby ${options.standbyHost}:${registryContainerPort} ssl ${tlsToRegistry} alpn h2,http/1.1 check check-alpn http/1.1`,
                "",
            ]
            : []),
    ].join("\n");
}
