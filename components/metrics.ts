import * as ipaddr from "ipaddr.js";
import * as YAML from "yaml";

/**
 * Address ranges a monitoring address may be in: loopback, RFC 1918 private, carrier-grade NAT
 * (100.64.0.0/10, e.g. a VPN's overlay) and IPv6 unique local (fc00::/7). Everything else is
 * either every interface at once or routable from the internet.
 */
export const monitoringAddressRanges = ["loopback", "private", "carrierGradeNat", "uniqueLocal"] as const;

/**
 * Why `address` cannot be the host address the registry's metrics are published on, or undefined
 * when it can. The debug server has no authentication and serves more than metrics (health, and
 * Go's /debug/pprof and /debug/vars), so it may only be published where the operator's monitoring
 * network reaches it and the internet does not.
 */
export function metricsAddressProblem(address: string): string | undefined {
    return privateBindAddressProblem(address, "the unauthenticated debug server", "metrics, health, Go profiling");
}

/**
 * Why `address` cannot be the host address a port of `service` is published on, or undefined when
 * it is a loopback or private address ({@link monitoringAddressRanges}): for services that must
 * not be reachable from the internet, such as the debug server or Redis.
 */
export function privateBindAddressProblem(address: string, service: string, serves?: string): string | undefined {
    const text = address.trim();
    if (!ipaddr.IPv4.isValidFourPartDecimal(text) && !(text.includes(":") && ipaddr.IPv6.isValid(text) && !text.includes("%"))) {
        return `"${address}" is not an IPv4 or IPv6 address`;
    }
    // ipaddr.process turns an IPv4-mapped IPv6 address into the IPv4 address it carries.
    const range = ipaddr.process(text).range();
    if (range === "unspecified") {
        return `"${address}" publishes ${service}${serves ? ` (${serves})` : ""} on every interface, the public one included`;
    }
    if (!(monitoringAddressRanges as readonly string[]).includes(range)) {
        const kind = range === "unicast" ? "public" : range;
        return `"${address}" is a ${kind} address, not a loopback or private one, so ${service} could be reached from outside`;
    }
    return undefined;
}

/** True when {@link metricsAddressProblem} finds nothing wrong with the address. */
export function isMonitoringAddress(address: string): boolean {
    return metricsAddressProblem(address) === undefined;
}

/** `host:port` as Prometheus targets write it: IPv6 addresses in brackets. */
export function metricsTarget(address: string, port: number): string {
    return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}

/** What {@link renderPrometheusScrapeConfig} needs to know. */
export interface PrometheusScrapeOptions {
    /** Prometheus job name; unique in the Prometheus config it goes into. */
    readonly jobName: string;
    /** `host:port` targets serving /metrics over plain HTTP. */
    readonly targets: string[];
    /** Labels added to every series scraped from the targets. Default: none. */
    readonly labels?: Record<string, string>;
}

/**
 * A Prometheus `scrape_configs:` block for the registry's debug server: plain HTTP (the debug
 * server has no TLS), path /metrics. It is a valid prometheus.yml on its own; to add it to an
 * existing one, append its list entry under that file's `scrape_configs:`.
 */
export function renderPrometheusScrapeConfig(options: PrometheusScrapeOptions): string {
    if (options.jobName.trim() === "") throw new Error("prometheus scrape config: the job name is empty");
    if (options.targets.length === 0) throw new Error("prometheus scrape config: no targets");
    const staticConfig: Record<string, unknown> = { targets: [...options.targets] };
    if (options.labels && Object.keys(options.labels).length > 0) staticConfig.labels = { ...options.labels };
    const job = { job_name: options.jobName, scheme: "http", metrics_path: "/metrics", static_configs: [staticConfig] };
    return YAML.stringify({ scrape_configs: [job] });
}
