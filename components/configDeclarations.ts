// Generated from Pulumi.yaml by scripts/generate-settings.ts (npm run generate); do not edit.

/** Every config key of the stack, with the type Pulumi.yaml declares for it. */
export interface StackConfig {
    /** Docker engine that runs the registry, e.g. unix:///var/run/docker.sock or ssh://deploy@registry.example.com. */
    dockerHost: string;
    /** DNS names clients use for the registry. All go into the certificate's SANs; the first is the endpoint. */
    hostnames: string[];
    /** IP addresses clients use for the registry; all go into the certificate's SANs. */
    ipAddresses: string[];
    /** Host port the registry is published on. */
    port: number;
    /** Host address the registry port is published on (0.0.0.0 for all IPv4 addresses). */
    bindAddress: string;
    /** Usernames that get a generated password and an htpasswd entry. */
    users: string[];
    /** bcrypt cost of the htpasswd entries (4-31). The registry bcrypt-checks every request; generated passwords are long and random, so the lowest cost loses nothing. */
    bcryptCost: number;
    /** Key algorithm of the CA and server keys, ECDSA (P-256) or RSA. */
    tlsKeyAlgorithm: string;
    /** RSA key size when tlsKeyAlgorithm is RSA. */
    tlsRsaBits: number;
    /** Validity of the server certificate, in days. */
    certValidityDays: number;
    /** Renew the server certificate this many days before it expires (on the next pulumi up). */
    certEarlyRenewalDays: number;
    /** Validity of the CA certificate, in days. A new CA means every client must install the new ca.crt. */
    caValidityDays: number;
    /** Protect the data volume and retain it on delete, so no destroy or replacement loses images. */
    protectData: boolean;
    /** Name of the registry container. */
    containerName: string;
    /** Name of the docker volume that holds the images. */
    dataVolumeName: string;
    /** Registry image, pinned by digest. */
    image: string;
    /** Memory limit of the registry container, in MiB. It counts the page cache the registry reads blobs through, so it is sized to keep a freshly pushed 1 GiB layer cached. */
    memoryLimitMb: number;
    /** Keep a cache of blob descriptors in the registry's memory. */
    blobDescriptorCache: boolean;
    /** Serve HTTP/2 to clients that offer it. */
    http2: boolean;
    /** Registry log level (error, warn, info, debug). At warn the log keeps one access-log line per request, failed logins and errors; info adds two lines per authorized request. */
    logLevel: string;
    /** GOGC of the registry process (25-10000). The heap is also held under three quarters of memoryLimitMb (GOMEMLIMIT), whatever this is. */
    goGcPercent: number;
    /** Install host firewall rules that leave only the registry port and SSH open. */
    firewallEnabled: boolean;
    /** The host's public network interface the firewall rules apply to. */
    publicInterface: string;
    /** Source CIDRs allowed to reach the registry port through the firewall (required when it is on). */
    registryAllowedCidrs: string[];
    /** Source CIDRs allowed to reach SSH through the firewall (required when it is on; 0.0.0.0/0 and ::/0 are refused). */
    sshAllowedCidrs: string[];
    /** SSH port left open by the firewall. */
    sshPort: number;
    /** Host the firewall commands run on over SSH; empty runs them on the local machine. */
    sshHost: string;
    /** SSH user for the firewall commands (needs root or passwordless sudo). */
    sshUser: string;
    /** Public host key of sshHost as known_hosts shows it (e.g. ssh-ed25519 AAAA...); the firewall commands refuse any other host. Required with sshHost on the prod stack. */
    sshHostKey: string;
}

/** How Pulumi.yaml declares one config key. */
export interface ConfigDeclaration {
    /** The key's type in Pulumi.yaml. */
    readonly type: "string" | "integer" | "boolean" | "array";
    /** The value the key has when a stack does not set it. */
    readonly default: string | number | boolean | readonly string[];
    /** What the key means. */
    readonly description: string;
}

/** Every config key of the stack as Pulumi.yaml declares it: type, default and description. */
export const configDeclarations: { readonly [K in keyof StackConfig]: ConfigDeclaration } = {
    dockerHost: { type: "string", default: "unix:///var/run/docker.sock", description: "Docker engine that runs the registry, e.g. unix:///var/run/docker.sock or ssh://deploy@registry.example.com." },
    hostnames: { type: "array", default: ["localhost"], description: "DNS names clients use for the registry. All go into the certificate's SANs; the first is the endpoint." },
    ipAddresses: { type: "array", default: [], description: "IP addresses clients use for the registry; all go into the certificate's SANs." },
    port: { type: "integer", default: 5000, description: "Host port the registry is published on." },
    bindAddress: { type: "string", default: "0.0.0.0", description: "Host address the registry port is published on (0.0.0.0 for all IPv4 addresses)." },
    users: { type: "array", default: ["admin"], description: "Usernames that get a generated password and an htpasswd entry." },
    bcryptCost: { type: "integer", default: 4, description: "bcrypt cost of the htpasswd entries (4-31). The registry bcrypt-checks every request; generated passwords are long and random, so the lowest cost loses nothing." },
    tlsKeyAlgorithm: { type: "string", default: "ECDSA", description: "Key algorithm of the CA and server keys, ECDSA (P-256) or RSA." },
    tlsRsaBits: { type: "integer", default: 4096, description: "RSA key size when tlsKeyAlgorithm is RSA." },
    certValidityDays: { type: "integer", default: 365, description: "Validity of the server certificate, in days." },
    certEarlyRenewalDays: { type: "integer", default: 30, description: "Renew the server certificate this many days before it expires (on the next pulumi up)." },
    caValidityDays: { type: "integer", default: 3650, description: "Validity of the CA certificate, in days. A new CA means every client must install the new ca.crt." },
    protectData: { type: "boolean", default: true, description: "Protect the data volume and retain it on delete, so no destroy or replacement loses images." },
    containerName: { type: "string", default: "registry", description: "Name of the registry container." },
    dataVolumeName: { type: "string", default: "registry-data", description: "Name of the docker volume that holds the images." },
    image: { type: "string", default: "registry:2.8.3@sha256:a3d8aaa63ed8681a604f1dea0aa03f100d5895b6a58ace528858a7b332415373", description: "Registry image, pinned by digest." },
    memoryLimitMb: { type: "integer", default: 2048, description: "Memory limit of the registry container, in MiB. It counts the page cache the registry reads blobs through, so it is sized to keep a freshly pushed 1 GiB layer cached." },
    blobDescriptorCache: { type: "boolean", default: true, description: "Keep a cache of blob descriptors in the registry's memory." },
    http2: { type: "boolean", default: true, description: "Serve HTTP/2 to clients that offer it." },
    logLevel: { type: "string", default: "warn", description: "Registry log level (error, warn, info, debug). At warn the log keeps one access-log line per request, failed logins and errors; info adds two lines per authorized request." },
    goGcPercent: { type: "integer", default: 400, description: "GOGC of the registry process (25-10000). The heap is also held under three quarters of memoryLimitMb (GOMEMLIMIT), whatever this is." },
    firewallEnabled: { type: "boolean", default: false, description: "Install host firewall rules that leave only the registry port and SSH open." },
    publicInterface: { type: "string", default: "eth0", description: "The host's public network interface the firewall rules apply to." },
    registryAllowedCidrs: { type: "array", default: [], description: "Source CIDRs allowed to reach the registry port through the firewall (required when it is on)." },
    sshAllowedCidrs: { type: "array", default: [], description: "Source CIDRs allowed to reach SSH through the firewall (required when it is on; 0.0.0.0/0 and ::/0 are refused)." },
    sshPort: { type: "integer", default: 22, description: "SSH port left open by the firewall." },
    sshHost: { type: "string", default: "", description: "Host the firewall commands run on over SSH; empty runs them on the local machine." },
    sshUser: { type: "string", default: "root", description: "SSH user for the firewall commands (needs root or passwordless sudo)." },
    sshHostKey: { type: "string", default: "", description: "Public host key of sshHost as known_hosts shows it (e.g. ssh-ed25519 AAAA...); the firewall commands refuse any other host. Required with sshHost on the prod stack." },
};
