import * as pulumi from "@pulumi/pulumi";
import { hostCommand } from "./hostCommand";
import * as ipaddr from "ipaddr.js";
import { FirewallConnectionArgs } from "./firewall";
import { renderAsRoot } from "./firewallRules";
import { isValidHostname } from "./validation";

/** Where Docker looks for a registry's CA: <dir>/<host>:<port>/ca.crt. */
export const defaultDockerCertsDir = "/etc/docker/certs.d";

/** containerd's registry host directory (its config_path): <dir>/<host>:<port>/hosts.toml. */
export const defaultContainerdCertsDir = "/etc/containerd/certs.d";

/**
 * Why an endpoint can't name a certs.d directory, or undefined when it can. Strict on purpose: the
 * endpoint becomes a path component, so only a DNS name, a four-part IPv4 address or a bracketed
 * IPv6 address, then ":" and a port 1-65535, pass; nothing that could hold "/" or "..".
 */
export function clientTrustEndpointProblem(endpoint: string): string | undefined {
    const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):([1-9][0-9]{0,4})$/.exec(endpoint);
    if (!match) return `"${endpoint}" is not host:port (e.g. registry.example.com:5000 or [2001:db8::1]:5000)`;
    const [, ipv6, host, port] = match;
    if (Number(port) > 65535) return `"${endpoint}" has a port outside 1-65535`;
    if (ipv6 !== undefined) {
        return ipaddr.IPv6.isValid(ipv6) ? undefined : `"${endpoint}" has an invalid IPv6 address in brackets`;
    }
    if (/^[0-9]+(\.[0-9]+)+$/.test(host)) {
        return ipaddr.IPv4.isValidFourPartDecimal(host) ? undefined : `"${endpoint}" has an invalid IPv4 address`;
    }
    // A trailing dot would name a directory clients never look in.
    return isValidHostname(host) && !host.endsWith(".") ? undefined : `"${endpoint}" has an invalid DNS name`;
}

/** Why a certs.d root can't be used, or undefined: absolute, plain characters, no "." or ".." segment. */
export function clientTrustDirProblem(dir: string): string | undefined {
    if (!/^\/[A-Za-z0-9._/-]*$/.test(dir)) return `"${dir}" is not an absolute path of letters, digits, '.', '_', '-' and '/'`;
    if (dir.split("/").some((segment) => segment === "." || segment === "..")) return `"${dir}" contains a "." or ".." segment`;
    return undefined;
}

/** One PEM certificate or more, and nothing else (so it can't end the here-document it travels in). */
export function isCertificatePem(pem: string): boolean {
    return /^(-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?)+$/.test(pem.trim() + "\n");
}

/** The endpoints clients may name a registry by: each hostname and IP address with the port (IPv6 in brackets). */
export function registryEndpoints(hostnames: string[], ipAddresses: string[], port: number): string[] {
    return [...new Set([...hostnames, ...ipAddresses.map((a) => (a.includes(":") ? `[${a}]` : a))].map((host) => `${host}:${port}`))];
}

/** Problems with the program's client trust keys (clientTrustLocal, clientTrustContainerd). */
export function clientTrustConfigProblems(local: boolean, containerd: boolean, key: (field: string) => string): string[] {
    return containerd && !local
        ? [`${key("clientTrustContainerd")}: is true but ${key("clientTrustLocal")} is false, so nothing would be installed. Fix: pulumi config set ${key("clientTrustLocal")} true`]
        : [];
}

/** What a client trust script installs on one host, already resolved. */
export interface ClientTrustOptions {
    /** Registry endpoints (host:port), one directory each. */
    readonly endpoints: string[];
    /** Install <dockerCertsDir>/<endpoint>/ca.crt. */
    readonly docker: boolean;
    /** Docker's certs.d root. */
    readonly dockerCertsDir: string;
    /** Install <containerdCertsDir>/<endpoint>/{hosts.toml,ca.crt}. */
    readonly containerd: boolean;
    /** containerd's certs.d root. */
    readonly containerdCertsDir: string;
}

/** Problems with a list of endpoints, each a sentence. */
export function clientTrustEndpointsProblems(endpoints: string[]): string[] {
    if (endpoints.length === 0) return ["endpoints: at least one host:port is needed"];
    return endpoints.flatMap((endpoint) => {
        const problem = clientTrustEndpointProblem(endpoint);
        return problem ? [`endpoints: ${problem}`] : [];
    });
}

/** Problems with what to install where (everything but the endpoints), each a sentence. */
export function clientTrustTargetProblems(options: Omit<ClientTrustOptions, "endpoints">): string[] {
    const problems: string[] = [];
    for (const field of ["dockerCertsDir", "containerdCertsDir"] as const) {
        const problem = clientTrustDirProblem(options[field]);
        if (problem) problems.push(`${field}: ${problem}`);
    }
    if (!options.docker && !options.containerd) problems.push("docker: is false and so is containerd, so nothing would be installed");
    return problems;
}

/** Every problem with the options, each a sentence; empty when the scripts can be rendered. */
export function clientTrustProblems(options: ClientTrustOptions): string[] {
    return [...clientTrustEndpointsProblems(options.endpoints), ...clientTrustTargetProblems(options)];
}

function checked(options: ClientTrustOptions): ClientTrustOptions {
    const problems = clientTrustProblems(options);
    if (problems.length > 0) throw new Error(`RegistryClientTrust: ${problems.join("; ")}`);
    return { ...options, endpoints: [...new Set(options.endpoints)] };
}

/** The files the install script writes for one endpoint (absolute paths). */
export function clientTrustPaths(options: ClientTrustOptions, endpoint: string): string[] {
    return [
        ...(options.docker ? [`${options.dockerCertsDir}/${endpoint}/ca.crt`] : []),
        ...(options.containerd ? [`${options.containerdCertsDir}/${endpoint}/hosts.toml`, `${options.containerdCertsDir}/${endpoint}/ca.crt`] : []),
    ];
}

/** containerd's hosts.toml for a registry served over HTTPS at the endpoint, trusting the CA at caPath. */
export function renderContainerdHostsToml(endpoint: string, caPath: string): string {
    const problem = clientTrustEndpointProblem(endpoint);
    if (problem) throw new Error(`RegistryClientTrust: ${problem}`);
    return `# Written by private-registry's RegistryClientTrust; removed on destroy.
server = "https://${endpoint}"

[host."https://${endpoint}"]
  capabilities = ["pull", "resolve", "push"]
  ca = "${caPath}"
`;
}

const prologue = `set -eu
# sudo and non-login SSH sessions may not have the sbin directories on PATH.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022`;

/**
 * Renders the POSIX sh script (run as root) that installs the CA for every endpoint: directories
 * 0755, files 0644, each written to a temporary file and renamed, so a client never reads half a
 * certificate and a re-run (a new CA) replaces the files in place.
 */
export function renderClientTrustInstallScript(options: ClientTrustOptions, caCertPem: string): string {
    const o = checked(options);
    if (!isCertificatePem(caCertPem)) throw new Error("RegistryClientTrust: caCertPem is not a PEM certificate");
    const pem = caCertPem.trim().replace(/\r/g, "") + "\n";
    const steps = o.endpoints.flatMap((endpoint) => [
        ...(o.docker ? [`install_file '${o.dockerCertsDir}/${endpoint}' ca.crt "$CA"`] : []),
        ...(o.containerd ? [
            `install_file '${o.containerdCertsDir}/${endpoint}' ca.crt "$CA"`,
            `install_file '${o.containerdCertsDir}/${endpoint}' hosts.toml "$(cat <<'PRIVATE_REGISTRY_HOSTS_TOML'
${renderContainerdHostsToml(endpoint, `${o.containerdCertsDir}/${endpoint}/ca.crt`)}PRIVATE_REGISTRY_HOSTS_TOML
)"`,
        ] : []),
    ]);
    return `#!/bin/sh
# private-registry client trust: install the registry's CA for Docker${o.containerd ? " and containerd" : ""}.
${prologue}
CA=$(cat <<'PRIVATE_REGISTRY_CA'
${pem}PRIVATE_REGISTRY_CA
)
# install_file DIR NAME CONTENT: DIR 0755, DIR/NAME 0644, replaced atomically.
install_file() {
  mkdir -p "$1"
  chmod 0755 "$1"
  tmp=$(mktemp "$1/.$2.XXXXXX")
  printf '%s\\n' "$3" >"$tmp"
  chmod 0644 "$tmp"
  mv -f "$tmp" "$1/$2"
  echo "private-registry client trust: wrote $1/$2"
}
${steps.join("\n")}
`;
}

/**
 * Renders the POSIX sh script (run as root) that removes what the install script wrote; an
 * endpoint's directory goes too when nothing else (a client certificate of the operator's) is left.
 */
export function renderClientTrustRemoveScript(options: ClientTrustOptions): string {
    const o = checked(options);
    const steps = o.endpoints.flatMap((endpoint) => [
        ...(o.docker ? [`remove_files '${o.dockerCertsDir}/${endpoint}' ca.crt`] : []),
        ...(o.containerd ? [`remove_files '${o.containerdCertsDir}/${endpoint}' hosts.toml ca.crt`] : []),
    ]);
    return `#!/bin/sh
# private-registry client trust: remove the registry's CA.
${prologue}
# remove_files DIR NAME...: the files, then DIR if it is empty.
remove_files() {
  dir=$1
  shift
  for name in "$@"; do rm -f "$dir/$name"; done
  rmdir "$dir" 2>/dev/null || true
  echo "private-registry client trust: removed $* from $dir"
}
${steps.join("\n")}
`;
}

/** Wraps a script so it runs as root, as the firewall's commands do ({@link renderAsRoot}). */
export function renderClientTrustAsRoot(script: string): string {
    return renderAsRoot(script, "client trust");
}

/** One client host of {@link RegistryClientTrust}. */
export interface RegistryTrustClientArgs {
    /** SSH connection to the client host; the commands run as root there (directly or through passwordless sudo). Default: none, they run on the machine running Pulumi. */
    readonly connection?: FirewallConnectionArgs;
    /** Install the CA for Docker, as <dockerCertsDir>/<host>:<port>/ca.crt. Default: true. */
    readonly docker?: boolean;
    /** Directory Docker reads registry CAs from. Default: "/etc/docker/certs.d". */
    readonly dockerCertsDir?: string;
    /** Also install for containerd: hosts.toml and ca.crt under <containerdCertsDir>/<host>:<port>/. Default: false. */
    readonly containerd?: boolean;
    /** containerd's registry host directory (config_path in its CRI config; ctr --hosts-dir). Default: "/etc/containerd/certs.d". */
    readonly containerdCertsDir?: string;
}

/** Arguments of {@link RegistryClientTrust}. */
export interface RegistryClientTrustArgs {
    /** The registry's endpoints as clients name them (host:port, e.g. a PrivateRegistry's endpoint); one certs.d directory each. Required. */
    readonly endpoints: pulumi.Input<pulumi.Input<string>[]>;
    /** PEM of the CA certificate to trust (a PrivateRegistry's caCertPem). Required. */
    readonly caCertPem: pulumi.Input<string>;
    /** The client hosts to install it on. Required. */
    readonly clients: RegistryTrustClientArgs[];
}

/** Resolved options of one client, before the endpoints are known. */
function clientOptions(client: RegistryTrustClientArgs, endpoints: string[]): ClientTrustOptions {
    return {
        endpoints,
        docker: client.docker ?? true,
        dockerCertsDir: client.dockerCertsDir ?? defaultDockerCertsDir,
        containerd: client.containerd ?? false,
        containerdCertsDir: client.containerdCertsDir ?? defaultContainerdCertsDir,
    };
}

/**
 * Makes client hosts trust the registry's CA: Docker's certs.d (and optionally containerd's
 * hosts.toml) for each endpoint, written by a command on each host, locally or over SSH, and
 * removed again on destroy. A new CA re-runs the install in place.
 */
export class RegistryClientTrust extends pulumi.ComponentResource {
    /** The endpoints the CA is installed for, without duplicates. */
    public readonly endpoints: pulumi.Output<string[]>;

    constructor(name: string, args: RegistryClientTrustArgs, opts?: pulumi.ComponentResourceOptions) {
        // Known values are checked before anything is registered, so bad input creates nothing.
        const listed: readonly pulumi.Input<string>[] | undefined = Array.isArray(args.endpoints) ? args.endpoints : undefined;
        const known = (listed ?? []).filter((e): e is string => typeof e === "string");
        const problems = [
            ...(listed?.length === 0 || known.length > 0 ? clientTrustEndpointsProblems(known) : []),
            ...(args.clients.length === 0 ? ["clients: at least one client host is needed"] : []),
            ...args.clients.flatMap((client, i) => clientTrustTargetProblems(clientOptions(client, [])).map((p) => `clients[${i}].${p}`)),
        ];
        if (problems.length > 0) throw new Error(`RegistryClientTrust ${name}: ${problems.join("; ")}`);
        super("private-registry:index:RegistryClientTrust", name, {}, opts);

        this.endpoints = pulumi.output(args.endpoints).apply((list) => [...new Set(list)]);
        args.clients.forEach((client, i) => {
            const options = this.endpoints.apply((endpoints) => clientOptions(client, endpoints));
            const install = pulumi.all([options, args.caCertPem]).apply(([o, pem]) => renderClientTrustAsRoot(renderClientTrustInstallScript(o, pem)));
            const remove = options.apply((o) => renderClientTrustAsRoot(renderClientTrustRemoveScript(o)));
            // A new CA re-runs the (idempotent) install in place. What the remove script would delete
            // (endpoints, roots, docker/containerd) is a trigger: it replaces, and deleting first runs
            // the old remove script before the new install, not after it.
            hostCommand(`${name}-client-${i}`, { create: install, update: install, delete: remove, triggers: [remove] }, client.connection, this);
        });

        this.registerOutputs({ endpoints: this.endpoints });
    }
}
