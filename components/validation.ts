import * as ipaddr from "ipaddr.js";
import { configDeclarations, StackConfig } from "./configDeclarations";
import { familiesFullyCovered } from "./firewallRules";
import { maxBcryptCost, minBcryptCost } from "./htpasswd";
import { cronScheduleProblem } from "./maintenanceScript";
import { metricsAddressProblem } from "./metrics";

/** Keys about where and how the program deploys (the Docker host, SSH, protection), not about a registry. */
export const stackOnlyConfigKeys = ["dockerHost", "protectData", "sshHost", "sshUser", "sshHostKey", "clientTrustLocal", "clientTrustContainerd",
    // One notification endpoint and a pull-through cache, which PrivateRegistryArgs takes structured.
    "notificationUrl", "notificationTimeout", "notificationThreshold", "notificationBackoff", "notificationIgnoredMediaTypes", "notificationIgnoredActions",
    "proxyRemoteUrl", "proxyUsername", "proxyCaCertPem",
    // S3 storage, which PrivateRegistryArgs takes structured as s3Storage.
    "storageBackend", "s3Endpoint", "s3Region", "s3Bucket", "s3RootDirectory", "s3Redirect", "s3ChunkSizeMb", "s3CaCertPem",
    // The bucket, which the program makes with RegistryBucket.
    "s3CreateBucket", "s3RgwUser", "s3RgwAdminCommand",
    // The replicated form, which ReplicatedRegistryArgs takes.
    "replicas", "redisImage", "redisMaxMemoryMb",
    // Token authentication, which PrivateRegistryArgs takes structured as tokenAuth.
    "auth", "tokenPort", "tokenLifetimeSeconds", "tokenServiceNodeImage",
    // Docker Content Trust, which PrivateRegistryArgs takes structured as notary.
    "contentTrust", "notaryPort", "notaryServerImage", "notarySignerImage", "postgresImage"] as const;

/**
 * Everything a registry needs to know, flat, named as the stack's config keys.
 * `validateRegistrySettings` checks it before any resource is declared.
 */
export type RegistrySettings = Omit<StackConfig, typeof stackOnlyConfigKeys[number]>;

/** The defaults Pulumi.yaml declares, one fresh copy per call (lists are not shared). */
export function defaultStackConfig(): StackConfig {
    return Object.fromEntries(Object.entries(configDeclarations).map(([key, d]) =>
        [key, Array.isArray(d.default) ? [...d.default as string[]] : d.default])) as unknown as StackConfig;
}

/** Defaults of every registry setting, from Pulumi.yaml (the only place they are declared). */
export const defaultRegistrySettings: Readonly<RegistrySettings> = (() => {
    const all: Partial<StackConfig> = defaultStackConfig();
    for (const key of stackOnlyConfigKeys) delete all[key];
    return Object.freeze(all as RegistrySettings);
})();

/** Thrown with every problem found, each naming its key and the fix. */
export class RegistryConfigError extends Error {
    /** Each problem, naming its key and the fix. */
    readonly problems: string[];

    constructor(problems: string[]) {
        super(`Invalid registry configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "RegistryConfigError";
        this.problems = problems;
    }
}

/** The key algorithms RegistryTls can generate. */
export const tlsKeyAlgorithms = ["ECDSA", "RSA"] as const;
/** Levels the registry's logger (logrus) accepts, quietest first. */
export const registryLogLevels = ["error", "warn", "info", "debug"] as const;
/** Lowest GOGC accepted: below it the registry spends its time collecting. */
export const minGoGcPercent = 25;
/** Highest GOGC accepted (GOMEMLIMIT still bounds the heap). */
export const maxGoGcPercent = 10000;
const rsaKeySizes = [2048, 3072, 4096];

const hostnameLabel = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** A DNS name as used in a certificate SAN: dot-separated RFC 1123 labels, 253 characters at most. */
export function isValidHostname(name: string): boolean {
    if (name.length === 0 || name.length > 253 || ipaddr.isValid(name)) return false;
    return name.replace(/\.$/, "").split(".").every((label) => hostnameLabel.test(label));
}

/** A literal IPv4 or IPv6 address (no CIDR suffix, no IPv4 shorthand such as "10.1"). */
export function isValidIpAddress(address: string): boolean {
    return ipaddr.IPv4.isValidFourPartDecimal(address) || (ipaddr.IPv6.isValid(address) && address.includes(":"));
}

/** A CIDR block whose address is its network address, e.g. 10.0.0.0/8 (not 10.0.0.1/8). */
export function cidrProblem(cidr: string): string | undefined {
    let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
    try {
        parsed = ipaddr.parseCIDR(cidr);
    } catch {
        return `"${cidr}" is not a CIDR block (expected e.g. 203.0.113.0/24 or 2001:db8::/32)`;
    }
    const [address, prefix] = parsed;
    if (address.kind() === "ipv4" && !ipaddr.IPv4.isValidFourPartDecimal(cidr.split("/")[0])) {
        return `"${cidr}" must spell the IPv4 address in four parts`;
    }
    const network = address.kind() === "ipv4"
        ? ipaddr.IPv4.networkAddressFromCIDR(cidr)
        : ipaddr.IPv6.networkAddressFromCIDR(cidr);
    if (network.toString() !== address.toString()) {
        return `"${cidr}" has host bits set; did you mean ${network.toString()}/${prefix}?`;
    }
    return undefined;
}

/** True for a CIDR that matches every address of its family (0.0.0.0/0, ::/0). */
export function isAnyAddress(cidr: string): boolean {
    try {
        return ipaddr.parseCIDR(cidr)[1] === 0;
    } catch {
        return false;
    }
}

/** Why a username can't go into htpasswd, or undefined when it can. */
export function usernameProblem(username: string): string | undefined {
    if (username.length === 0) return "is empty";
    if (username.includes(":")) return `"${username}" contains ":", which separates user and hash in htpasswd`;
    if (/\s/.test(username)) return `"${username}" contains whitespace`;
    if (!/^[\x21-\x7e]+$/.test(username)) return `"${username}" has characters outside printable ASCII`;
    return undefined;
}

/** Checks settings; `key` turns a field name into what the user should edit (a config key or an arg). */
export function registrySettingsProblems(s: RegistrySettings, key: (field: string) => string, isProduction: boolean): string[] {
    const problems: string[] = [];
    const report = (field: string, problem: string, fix: string) => problems.push(`${key(field)}: ${problem}. Fix: ${fix}`);

    // The fix for a bad scalar is its default, read from the one place defaults live.
    const setDefault = (field: keyof typeof defaultRegistrySettings) => `pulumi config set ${key(field)} ${String(defaultRegistrySettings[field])}`;
    const listFix = (field: string, example: string) =>
        `pulumi config set --path '${key(field).replace(/^[^:]+:/, "")}[0]' ${example}`;

    if (s.hostnames.length === 0) {
        report("hostnames", "at least one DNS name is needed (the first is the endpoint clients use)", listFix("hostnames", "registry.example.com"));
    }
    s.hostnames.forEach((h, i) => {
        if (!isValidHostname(h)) report(`hostnames[${i}]`, `"${h}" is not a valid DNS name`, "use letters, digits, '-' and '.', e.g. registry.example.com (IP addresses go in ipAddresses)");
    });
    s.ipAddresses.forEach((a, i) => {
        if (!isValidIpAddress(a)) report(`ipAddresses[${i}]`, `"${a}" is not an IPv4 or IPv6 address`, "use a literal address such as 203.0.113.10 (names go in hostnames)");
    });
    for (const field of ["port", "sshPort"] as const) {
        const value = s[field];
        if (!Number.isInteger(value) || value < 1 || value > 65535) {
            report(field, `${value} is outside 1-65535`, setDefault(field));
        }
    }
    if (!isValidIpAddress(s.bindAddress)) {
        report("bindAddress", `"${s.bindAddress}" is not an IP address`, setDefault("bindAddress"));
    }
    if (s.users.length === 0) report("users", "at least one user is needed, or nobody can log in", listFix("users", "admin"));
    const seen = new Set<string>();
    s.users.forEach((u, i) => {
        const problem = usernameProblem(u);
        if (problem) report(`users[${i}]`, problem, "use a name without ':' or whitespace, e.g. ci-bot");
        if (seen.has(u)) report(`users[${i}]`, `"${u}" is listed twice`, "remove the duplicate");
        seen.add(u);
    });
    if (!Number.isInteger(s.bcryptCost) || s.bcryptCost < minBcryptCost || s.bcryptCost > maxBcryptCost) {
        report("bcryptCost", `${s.bcryptCost} is outside ${minBcryptCost}-${maxBcryptCost}`, setDefault("bcryptCost"));
    }
    if (!(tlsKeyAlgorithms as readonly string[]).includes(s.tlsKeyAlgorithm)) {
        report("tlsKeyAlgorithm", `"${s.tlsKeyAlgorithm}" is not one of ${tlsKeyAlgorithms.join(", ")}`, setDefault("tlsKeyAlgorithm"));
    }
    if (s.tlsKeyAlgorithm === "RSA" && !rsaKeySizes.includes(s.tlsRsaBits)) {
        report("tlsRsaBits", `${s.tlsRsaBits} is not one of ${rsaKeySizes.join(", ")}`, setDefault("tlsRsaBits"));
    }
    for (const field of ["certValidityDays", "caValidityDays"] as const) {
        if (!Number.isInteger(s[field]) || s[field] < 1) report(field, `${s[field]} is not a positive number of days`, setDefault(field));
    }
    if (!Number.isInteger(s.certEarlyRenewalDays) || s.certEarlyRenewalDays < 0) {
        report("certEarlyRenewalDays", `${s.certEarlyRenewalDays} is not a number of days`, setDefault("certEarlyRenewalDays"));
    } else if (s.certEarlyRenewalDays >= s.certValidityDays) {
        report("certEarlyRenewalDays", `${s.certEarlyRenewalDays} is not shorter than certValidityDays (${s.certValidityDays}), so every up would renew the certificate`, `make it smaller than ${key("certValidityDays")}, e.g. 30 for 365`);
    }
    if (!Number.isInteger(s.caGeneration) || s.caGeneration < 1) {
        report("caGeneration", `${s.caGeneration} is not a generation (1, 2, 3, ...)`, `pulumi config set ${key("caGeneration")} 1, and raise it by one to rotate the CA`);
    }
    if (s.caValidityDays < s.certValidityDays) {
        report("caValidityDays", `${s.caValidityDays} is shorter than certValidityDays (${s.certValidityDays}); the server certificate would outlive its CA`, setDefault("caValidityDays"));
    }
    const dockerName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
    for (const field of ["containerName", "dataVolumeName"] as const) {
        if (!dockerName.test(s[field])) report(field, `"${s[field]}" is not a valid Docker name`, "use letters, digits, '_', '.', '-', starting with a letter or digit");
    }
    if (!/@sha256:[0-9a-f]{64}$/.test(s.image)) {
        report("image", `"${s.image}" is not pinned by digest`, `use a reference such as registry:2.8.3@sha256:<64 hex digits>`);
    }
    if (s.maintenanceEnabled) {
        if (!/@sha256:[0-9a-f]{64}$/.test(s.frontImage)) {
            report("frontImage", `"${s.frontImage}" is not pinned by digest`, `use a reference such as haproxy:3.0-alpine@sha256:<64 hex digits>`);
        }
        for (const field of ["maintenanceGcSchedule", "maintenanceBackupSchedule"] as const) {
            const problem = s[field].trim() === "" ? undefined : cronScheduleProblem(s[field]);
            if (problem) report(field, problem, `pulumi config set ${key(field)} "${defaultRegistrySettings[field]}", or "" for no schedule`);
        }
        if (!/^\/[A-Za-z0-9._/-]*$/.test(s.maintenanceBackupDir) || s.maintenanceBackupDir.split("/").includes("..")) {
            report("maintenanceBackupDir", `"${s.maintenanceBackupDir}" is not an absolute path of letters, digits, '.', '_', '-' and '/'`, setDefault("maintenanceBackupDir"));
        }
        if (!Number.isInteger(s.maintenanceBackupRetention) || s.maintenanceBackupRetention < 1 || s.maintenanceBackupRetention > 1000) {
            report("maintenanceBackupRetention", `${s.maintenanceBackupRetention} is outside 1-1000`, setDefault("maintenanceBackupRetention"));
        }
    }
    if (!Number.isInteger(s.memoryLimitMb) || s.memoryLimitMb < 64) {
        report("memoryLimitMb", `${s.memoryLimitMb} is below 64 MiB`, setDefault("memoryLimitMb"));
    }
    if (!(registryLogLevels as readonly string[]).includes(s.logLevel)) {
        report("logLevel", `"${s.logLevel}" is not one of ${registryLogLevels.join(", ")}`, setDefault("logLevel"));
    }
    if (!Number.isInteger(s.goGcPercent) || s.goGcPercent < minGoGcPercent || s.goGcPercent > maxGoGcPercent) {
        report("goGcPercent", `${s.goGcPercent} is outside ${minGoGcPercent}-${maxGoGcPercent}`, setDefault("goGcPercent"));
    }
    if (s.metricsBindAddress !== "") {
        const problem = metricsAddressProblem(s.metricsBindAddress);
        if (problem) {
            report("metricsBindAddress", `${problem}; the debug server has no authentication`,
                `pulumi config set ${key("metricsBindAddress")} 127.0.0.1 (Prometheus on the Docker host) or an address of the host on your monitoring network, e.g. 10.0.0.5`);
        }
        if (!Number.isInteger(s.metricsPort) || s.metricsPort < 1 || s.metricsPort > 65535) {
            report("metricsPort", `${s.metricsPort} is outside 1-65535`, setDefault("metricsPort"));
        } else if (s.metricsPort === s.port || (s.firewallEnabled && s.metricsPort === s.sshPort)) {
            const other = s.metricsPort === s.port ? "port" : "sshPort";
            report("metricsPort", `${s.metricsPort} is also ${other}`, `pick a port of its own, e.g. pulumi config set ${key("metricsPort")} ${s.port === 5001 ? 9101 : 5001}`);
        }
    }

    if (isProduction && !s.firewallEnabled) {
        report("firewallEnabled", "the prod stack must run with the firewall on", `pulumi config set ${key("firewallEnabled")} true`);
    }
    if (s.firewallEnabled) {
        if (!/^[A-Za-z0-9_.@-]{1,15}$/.test(s.publicInterface)) {
            report("publicInterface", `"${s.publicInterface}" is not a network interface name`, `${setDefault("publicInterface")} (see 'ip -br link' on the host)`);
        }
        for (const field of ["registryAllowedCidrs", "sshAllowedCidrs"] as const) {
            if (s[field].length === 0) {
                report(field, "is empty, so the firewall would let nobody in", listFix(field, "198.51.100.0/24"));
            }
            s[field].forEach((cidr, i) => {
                const problem = cidrProblem(cidr);
                if (problem) report(`${field}[${i}]`, problem, "use a network address with its prefix length, e.g. 198.51.100.0/24");
            });
        }
        s.sshAllowedCidrs.forEach((cidr, i) => {
            if (isAnyAddress(cidr)) report(`sshAllowedCidrs[${i}]`, `"${cidr}" opens SSH to the whole internet`, "list the addresses of your admins or bastion hosts instead");
        });
        const wellFormed = s.sshAllowedCidrs.filter((cidr) => cidrProblem(cidr) === undefined && !isAnyAddress(cidr));
        for (const family of familiesFullyCovered(wellFormed)) {
            report("sshAllowedCidrs", `together, the entries open SSH to every ${family} address`, "list the addresses of your admins or bastion hosts instead");
        }
    }
    return problems;
}

/** Problems with the SSH target the firewall commands run on (config keys sshHost, sshUser, sshHostKey). */
export function sshTargetProblems(host: string, user: string, key: (field: string) => string, hostKey = "", isProduction = false): string[] {
    const problems: string[] = [];
    if (hostKey !== "" && !/^(ssh-ed25519|ecdsa-sha2-nistp(256|384|521)|ssh-rsa) [A-Za-z0-9+/]+={0,3}$/.test(hostKey.trim())) {
        problems.push(`${key("sshHostKey")}: is not a public host key. Fix: pulumi config set ${key("sshHostKey")} "$(ssh-keyscan -t ed25519 <host> | cut -d' ' -f2-)", after comparing it with ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host`);
    }
    if (host !== "" && hostKey === "" && isProduction) {
        problems.push(`${key("sshHostKey")}: the prod stack must pin the SSH host's key, or the firewall commands would trust whatever answers at ${host}. Fix: pulumi config set ${key("sshHostKey")} "ssh-ed25519 AAAA..." (from ssh-keyscan -t ed25519 ${host}, checked on the host)`);
    }
    if (host !== "" && !isValidHostname(host) && !isValidIpAddress(host)) {
        problems.push(`${key("sshHost")}: "${host}" is neither a DNS name nor an IP address. Fix: pulumi config set ${key("sshHost")} registry.example.com`);
    }
    if (host !== "" && !/^[a-z_][a-z0-9_-]*$/.test(user)) {
        problems.push(`${key("sshUser")}: "${user}" is not a valid user name. Fix: pulumi config set ${key("sshUser")} root`);
    }
    return problems;
}

/** Throws a RegistryConfigError listing every problem, or returns the settings unchanged. */
export function validateRegistrySettings(s: RegistrySettings, key: (field: string) => string, isProduction = false): RegistrySettings {
    const problems = registrySettingsProblems(s, key, isProduction);
    if (problems.length > 0) throw new RegistryConfigError(problems);
    return s;
}
