/**
 * Checks of the registry's own resources, as pure functions of a resource's inputs (and options).
 * Each returns a message naming what to change, or undefined when the resource complies or the
 * check cannot decide (an input not known yet, e.g. during the preview of a new stack).
 */
import * as ipaddr from "ipaddr.js";
import * as YAML from "yaml";
import { isProductionStack, registryDebugPort } from "./resources";

type Props = Record<string, unknown>;

function isRecord(value: unknown): value is Record<string, unknown> {
    return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): value is string {
    return typeof value === "string" && value.trim() !== "";
}

const digestPinned = /@sha256:[0-9a-f]{64}$/;

/** Policy 1: the RemoteImage under a RegistryServer names its image by digest. */
export function checkImagePinned(props: Props): string | undefined {
    const name = props.name;
    if (name === undefined) return undefined;
    if (typeof name === "string" && digestPinned.test(name)) return undefined;
    return `The registry image ${JSON.stringify(name)} is not pinned by digest, so a re-pushed tag could swap the registry's code. `
        + "Set PrivateRegistryArgs.image (config key `image`) to name:tag@sha256:<64 hex digits>, "
        + "e.g. registry:2.8.3@sha256:a3d8aaa63ed8681a604f1dea0aa03f100d5895b6a58ace528858a7b332415373 "
        + "(`docker buildx imagetools inspect <name:tag>` prints the digest).";
}

/** Where the registry's config.yml is among a container's uploads (the init container's). */
type ConfigLookup =
    | { kind: "text"; text: string }
    | { kind: "undecided" }
    | { kind: "problem"; message: string };

function uploadedConfig(uploads: unknown): ConfigLookup {
    if (!Array.isArray(uploads)) return { kind: "undecided" };
    const entry = (uploads as unknown[]).find((u) => isRecord(u) && typeof u.file === "string" && /(^|\/)config\.yml$/.test(u.file));
    if (!isRecord(entry)) return { kind: "undecided" };
    const file = entry.file as string;
    if (typeof entry.content === "string") return { kind: "text", text: entry.content };
    if (typeof entry.contentBase64 === "string") return { kind: "text", text: Buffer.from(entry.contentBase64, "base64").toString("utf8") };
    if (entry.source !== undefined) {
        return {
            kind: "problem",
            message: `The registry's ${file} is uploaded from a file on the machine running Pulumi (source), which this policy cannot read. `
                + "Upload it as content, as RegistryServer does.",
        };
    }
    return { kind: "undecided" };
}

/** Parsed config.yml, or a message when it isn't a YAML mapping. */
function parseConfig(text: string): Record<string, unknown> | string {
    try {
        const parsed: unknown = YAML.parse(text);
        if (isRecord(parsed)) return parsed;
    } catch {
        // reported below
    }
    return "The registry's config.yml is not a YAML mapping, so its TLS and authentication settings cannot be checked. Render it with RegistryServer (components/registryConfig.ts).";
}

/** Distribution lets REGISTRY_<SECTION>_<KEY> variables override config.yml; `prefix` selects a section. */
function overridingEnvs(props: Props, prefix: string): string[] {
    const envs = Array.isArray(props.envs) ? props.envs : [];
    return envs.filter((e): e is string => typeof e === "string" && e.toUpperCase().startsWith(prefix))
        .map((e) => e.split("=")[0]);
}

/** The rendered config.yml's TLS settings: minimum TLS 1.2 or 1.3, certificate and key set. */
export function tlsConfigProblem(configYaml: string): string | undefined {
    const config = parseConfig(configYaml);
    if (typeof config === "string") return config;
    const tls = isRecord(config.http) ? config.http.tls : undefined;
    if (!isRecord(tls)) {
        return "The registry's config.yml has no http.tls section, so it serves plain HTTP and passwords cross the network readable. "
            + "Set http.tls.certificate, http.tls.key and http.tls.minimumtls: tls1.2 (RegistryServer renders them).";
    }
    const minimum = tls.minimumtls;
    if (minimum !== "tls1.2" && minimum !== "tls1.3") {
        return `The registry's config.yml has http.tls.minimumtls ${minimum === undefined ? "unset" : JSON.stringify(minimum)}; `
            + "set it to tls1.2 or tls1.3 so clients cannot negotiate TLS 1.0/1.1.";
    }
    const missing = ["certificate", "key"].filter((k) => !isNonEmptyString(tls[k]));
    if (missing.length > 0) {
        return `The registry's config.yml lacks ${missing.map((k) => `http.tls.${k}`).join(" and ")}; `
            + "set both to the server certificate and key files (RegistryServer uploads them as server.crt and server.key).";
    }
    return undefined;
}

/** The rendered config.yml's authentication: auth.htpasswd with a path, or auth.token completely set. */
export function authConfigProblem(configYaml: string): string | undefined {
    const config = parseConfig(configYaml);
    if (typeof config === "string") return config;
    const auth = config.auth;
    const fix = "Configure auth.htpasswd with realm and path (RegistryServer does, with PrivateRegistryArgs.users) "
        + "or auth.token with realm, service, issuer and rootcertbundle.";
    if (!isRecord(auth) || Object.keys(auth).length === 0) {
        return `The registry's config.yml has no auth section, so anyone who reaches the port can push and pull. ${fix}`;
    }
    const others = Object.keys(auth).filter((k) => k !== "htpasswd" && k !== "token");
    if (others.length > 0) {
        return `The registry's config.yml authenticates with auth.${others.join(", auth.")}, which does not check credentials. ${fix}`;
    }
    if (isRecord(auth.htpasswd) && isNonEmptyString(auth.htpasswd.path)) return undefined;
    if (isRecord(auth.token)) {
        const token = auth.token;
        const missing = ["realm", "service", "issuer", "rootcertbundle"].filter((k) => !isNonEmptyString(token[k]));
        if (missing.length === 0) return undefined;
        return `The registry's config.yml sets auth.token without ${missing.map((k) => `auth.token.${k}`).join(", ")}. ${fix}`;
    }
    return `The registry's config.yml sets auth.htpasswd without a path. ${fix}`;
}

function checkUploadedConfig(props: Props, check: (yaml: string) => string | undefined): string | undefined {
    const config = uploadedConfig(props.uploads);
    switch (config.kind) {
        case "text": return check(config.text);
        case "problem": return config.message;
        case "undecided": return undefined;
    }
}

/** Policy 2: a container under a RegistryServer: the config.yml it uploads requires TLS 1.2+ with a certificate, and no env var overrides that. */
export function checkRegistryTls(props: Props): string | undefined {
    const envs = overridingEnvs(props, "REGISTRY_HTTP_TLS");
    if (envs.length > 0) {
        return `The registry container sets ${envs.join(", ")}, which override the TLS settings of config.yml; remove them and keep TLS in config.yml.`;
    }
    return checkUploadedConfig(props, tlsConfigProblem);
}

/** Policy 3: a container under a RegistryServer: the config.yml it uploads configures authentication, and no env var overrides that. */
export function checkRegistryAuth(props: Props): string | undefined {
    const envs = overridingEnvs(props, "REGISTRY_AUTH");
    if (envs.length > 0) {
        return `The registry container sets ${envs.join(", ")}, which override the authentication of config.yml; remove them and keep auth in config.yml.`;
    }
    return checkUploadedConfig(props, authConfigProblem);
}

/** Policy 4: the data volume under a RegistryStorage is protected in production stacks. */
export function checkDataVolumeProtected(opts: { protect?: boolean }, stack: string): string | undefined {
    if (!isProductionStack(stack) || opts.protect === true) return undefined;
    return `The registry's data volume is not protected in stack "${stack}", so \`pulumi destroy\` or a replacement would delete every pushed image. `
        + "Set PrivateRegistryArgs.protectData to true (config key `protectData`, the default).";
}

/** The address's ipaddr.js range ("loopback", "private", "unicast", …), or undefined if it isn't one. */
function addressRange(address: string): string | undefined {
    const text = address.trim().replace(/^\[(.*)\]$/, "$1");
    if (!ipaddr.IPv4.isValidFourPartDecimal(text) && !(text.includes(":") && ipaddr.IPv6.isValid(text))) return undefined;
    return ipaddr.process(text).range();
}

/** Loopback addresses only: 127.0.0.0/8 and ::1 (also as IPv4-mapped or in brackets). */
export function isLoopbackAddress(address: string): boolean {
    return addressRange(address) === "loopback";
}

/**
 * Addresses a monitoring network may use and the internet cannot reach: loopback, RFC 1918,
 * carrier-grade NAT (100.64.0.0/10) and IPv6 unique local (fc00::/7); the components' own
 * validation of `metricsBindAddress` accepts the same ranges.
 */
export function isMonitoringAddress(address: string): boolean {
    return ["loopback", "private", "carrierGradeNat", "uniqueLocal"].includes(addressRange(address) ?? "");
}

/** Policy 6: a container under a RegistryServer publishes the debug/metrics port on a loopback or private address at most. */
export function checkDebugPortNotPublic(props: Props): string | undefined {
    if (!Array.isArray(props.ports)) return undefined;
    for (const port of props.ports) {
        if (!isRecord(port) || Number(port.internal) !== registryDebugPort) continue;
        // Without an ip the provider publishes on 0.0.0.0.
        const ip = port.ip === undefined || port.ip === "" ? "0.0.0.0" : typeof port.ip === "string" ? port.ip : JSON.stringify(port.ip);
        if (isMonitoringAddress(ip)) continue;
        return `The registry container publishes its debug port ${registryDebugPort} (health and Prometheus metrics, unauthenticated) on ${ip}, a public or wildcard address. `
            + `Remove that ports entry, or bind it to a loopback or private monitoring address (config key \`metricsBindAddress\`, e.g. 10.0.0.5).`;
    }
    return undefined;
}
