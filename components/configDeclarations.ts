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
    /** Generation of the private CA. Raise it by one to rotate the CA (a new key and certificate, and a server certificate signed by them); every client must then trust the new ca.crt. */
    caGeneration: number;
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
    /** Host address the registry's debug server (Prometheus metrics, health, Go profiling; no authentication) is published on, for monitoring; a loopback or private address, never a wildcard. Empty keeps it inside the container. */
    metricsBindAddress: string;
    /** Host port the metrics are published on when metricsBindAddress is set; the firewall keeps it closed on the public interface. */
    metricsPort: number;
    /** Where the registry keeps blobs and manifests, filesystem (the data volume) or s3 (a bucket; set the s3 keys and the secret keys s3AccessKey and s3SecretKey). */
    storageBackend: string;
    /** URL of the S3 endpoint (path-style), e.g. https://s3.example.com or http://10.0.0.5:7480 inside a trusted network; empty uses AWS S3 of s3Region. */
    s3Endpoint: string;
    /** Region of the bucket (us-east-1 for Ceph's default zone group). */
    s3Region: string;
    /** Name of the bucket the registry writes to; it must exist. */
    s3Bucket: string;
    /** Prefix of every object the registry writes, e.g. /registry; empty writes at the bucket's root. */
    s3RootDirectory: string;
    /** Answer blob downloads with a redirect to a presigned S3 URL, so clients fetch from S3 directly (they must reach it); off streams blobs through the registry. */
    s3Redirect: boolean;
    /** Part size of multipart uploads to S3, in MiB (5-5120). */
    s3ChunkSizeMb: number;
    /** PEM of the CA that signed the S3 endpoint's certificate, when it is not a public one. */
    s3CaCertPem: string;
    /** Create the bucket when it is missing, from the machine running Pulumi (it must reach s3Endpoint); an existing bucket is left as it is, and no destroy deletes it. */
    s3CreateBucket: boolean;
    /** User ID of a Ceph RGW user the stack creates with radosgw-admin (unless it exists) and whose keys the registry uses instead of s3AccessKey and s3SecretKey; empty uses those keys. Destroy leaves the user. */
    s3RgwUser: string;
    /** Command that runs radosgw-admin on the Ceph host (over SSH to sshHost when that is set), e.g. "sudo radosgw-admin -c /etc/ceph/ceph.conf"; only with s3RgwUser. */
    s3RgwAdminCommand: string;
    /** Registry replicas on the Docker host behind a load balancer (ReplicatedRegistry), sharing the S3 bucket (storageBackend s3), a Redis blob descriptor cache and one http.secret (1-16); 0 runs the single registry (PrivateRegistry). */
    replicas: number;
    /** Redis image of the replicas' shared blob descriptor cache, pinned by digest. */
    redisImage: string;
    /** Memory the replicas' Redis may use for the cache, in MiB; the least recently used descriptors go first. */
    redisMaxMemoryMb: number;
    /** How clients authenticate, htpasswd (the registry checks every request's password; every user may do everything) or token (a token service checks the password once per login and issues short-lived tokens that grant what the access rules in the object key accessRules allow). */
    auth: string;
    /** Host port the token service is published on (HTTPS, on bindAddress) when auth is token; the firewall opens it to registryAllowedCidrs. */
    tokenPort: number;
    /** Lifetime of the tokens in seconds (60-86400) when auth is token; a removed user's token stays valid at most this long, plus the 60 s the registry allows for clock skew. */
    tokenLifetimeSeconds: number;
    /** Base image the token service is built on (its Dockerfile's NODE_IMAGE), pinned by digest. */
    tokenServiceNodeImage: string;
    /** Run Docker Content Trust (a Notary server and signer on PostgreSQL, guarded by the token service; needs auth token), so clients can sign with DOCKER_CONTENT_TRUST=1 and refuse unsigned tags. */
    contentTrust: boolean;
    /** Host port the Notary server is published on (HTTPS, on bindAddress) when contentTrust is on; the firewall opens it to registryAllowedCidrs. */
    notaryPort: number;
    /** Notary server image of Docker Content Trust (the official notary:server-0.7.0), pinned by digest. */
    notaryServerImage: string;
    /** Notary signer image of Docker Content Trust (the official notary:signer-0.7.0), pinned by digest. */
    notarySignerImage: string;
    /** PostgreSQL image holding the Notary server's and signer's databases (the official postgres:16-alpine), pinned by digest. */
    postgresImage: string;
    /** Run garbage collection and backups with pulls served throughout. The registry port is published by a front (HAProxy, TCP pass-through) that moves new connections to a read-only standby registry while the writable one is stopped for the work, and a maintenance script (gc, backup, restore, list) is installed on the Docker host with cron schedules. Off publishes the registry directly and installs nothing on the host. */
    maintenanceEnabled: boolean;
    /** HAProxy image of the front, pinned by digest. */
    frontImage: string;
    /** When garbage collection runs, as a cron schedule in the Docker host's time zone (five fields, e.g. "0 3 * * 0" for Sundays at 03:00); empty schedules none. */
    maintenanceGcSchedule: string;
    /** Garbage collection also deletes manifests no tag points at (images whose tag was pushed again). Off by default because distribution 2.8 then also deletes the platform manifests of multi-platform images. */
    maintenanceGcDeleteUntagged: boolean;
    /** When a backup of the data volume runs, as a cron schedule in the Docker host's time zone (e.g. "30 2 * * *" for 02:30 daily); empty schedules none. */
    maintenanceBackupSchedule: string;
    /** Absolute directory on the Docker host backups are written to, one archive (and its .sha256) per backup, named after the container and the time. */
    maintenanceBackupDir: string;
    /** Backups kept in maintenanceBackupDir (1-1000); each successful backup removes the older ones. */
    maintenanceBackupRetention: number;
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
    /** The Docker host, reached over SSH, that the host commands (firewall rules, installing the maintenance script) run on; empty runs them on the local machine. */
    sshHost: string;
    /** SSH user for the host commands (the firewall needs root or passwordless sudo; the maintenance script needs a user Docker lets in). */
    sshUser: string;
    /** Public host key of sshHost as known_hosts shows it (e.g. ssh-ed25519 AAAA...); the host commands refuse any other host. Required with sshHost on the prod stack. */
    sshHostKey: string;
    /** Make the machine running Pulumi trust the registry's CA, as Docker's /etc/docker/certs.d/<host>:<port>/ca.crt for every hostname and IP address; destroy removes it. */
    clientTrustLocal: boolean;
    /** With clientTrustLocal, also write containerd's hosts.toml and ca.crt under /etc/containerd/certs.d/<host>:<port>/. */
    clientTrustContainerd: boolean;
    /** URL (https, or http inside a trusted network) the registry POSTs an event to on every push, pull and delete, e.g. a scanner's adapter; empty sends none. Header values go in the secret key notificationHeaders. */
    notificationUrl: string;
    /** How long the registry waits for the notification endpoint to answer, a Go duration. */
    notificationTimeout: string;
    /** Failed deliveries in a row after which the registry backs off from the notification endpoint. */
    notificationThreshold: number;
    /** How long the registry waits before delivering to the notification endpoint again after the threshold, a Go duration. */
    notificationBackoff: string;
    /** Media types whose events are not sent, e.g. application/octet-stream for layer blobs. */
    notificationIgnoredMediaTypes: string[];
    /** Actions whose events are not sent (pull, push, delete). */
    notificationIgnoredActions: string[];
    /** Run the registry as a pull-through cache of this upstream registry (https), e.g. https://registry-1.docker.io; empty runs a normal registry. A cache refuses pushes. The upstream password goes in the secret key proxyPassword. */
    proxyRemoteUrl: string;
    /** User the pull-through cache logs in to the upstream as; empty pulls anonymously. */
    proxyUsername: string;
    /** PEM of the CA that signed the upstream's certificate, when it is not a public one; the cache trusts it besides the system CAs. */
    proxyCaCertPem: string;
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
    caGeneration: { type: "integer", default: 1, description: "Generation of the private CA. Raise it by one to rotate the CA (a new key and certificate, and a server certificate signed by them); every client must then trust the new ca.crt." },
    protectData: { type: "boolean", default: true, description: "Protect the data volume and retain it on delete, so no destroy or replacement loses images." },
    containerName: { type: "string", default: "registry", description: "Name of the registry container." },
    dataVolumeName: { type: "string", default: "registry-data", description: "Name of the docker volume that holds the images." },
    image: { type: "string", default: "registry:2.8.3@sha256:a3d8aaa63ed8681a604f1dea0aa03f100d5895b6a58ace528858a7b332415373", description: "Registry image, pinned by digest." },
    memoryLimitMb: { type: "integer", default: 2048, description: "Memory limit of the registry container, in MiB. It counts the page cache the registry reads blobs through, so it is sized to keep a freshly pushed 1 GiB layer cached." },
    blobDescriptorCache: { type: "boolean", default: true, description: "Keep a cache of blob descriptors in the registry's memory." },
    http2: { type: "boolean", default: true, description: "Serve HTTP/2 to clients that offer it." },
    logLevel: { type: "string", default: "warn", description: "Registry log level (error, warn, info, debug). At warn the log keeps one access-log line per request, failed logins and errors; info adds two lines per authorized request." },
    goGcPercent: { type: "integer", default: 400, description: "GOGC of the registry process (25-10000). The heap is also held under three quarters of memoryLimitMb (GOMEMLIMIT), whatever this is." },
    metricsBindAddress: { type: "string", default: "", description: "Host address the registry's debug server (Prometheus metrics, health, Go profiling; no authentication) is published on, for monitoring; a loopback or private address, never a wildcard. Empty keeps it inside the container." },
    metricsPort: { type: "integer", default: 5001, description: "Host port the metrics are published on when metricsBindAddress is set; the firewall keeps it closed on the public interface." },
    storageBackend: { type: "string", default: "filesystem", description: "Where the registry keeps blobs and manifests, filesystem (the data volume) or s3 (a bucket; set the s3 keys and the secret keys s3AccessKey and s3SecretKey)." },
    s3Endpoint: { type: "string", default: "", description: "URL of the S3 endpoint (path-style), e.g. https://s3.example.com or http://10.0.0.5:7480 inside a trusted network; empty uses AWS S3 of s3Region." },
    s3Region: { type: "string", default: "", description: "Region of the bucket (us-east-1 for Ceph's default zone group)." },
    s3Bucket: { type: "string", default: "", description: "Name of the bucket the registry writes to; it must exist." },
    s3RootDirectory: { type: "string", default: "", description: "Prefix of every object the registry writes, e.g. /registry; empty writes at the bucket's root." },
    s3Redirect: { type: "boolean", default: false, description: "Answer blob downloads with a redirect to a presigned S3 URL, so clients fetch from S3 directly (they must reach it); off streams blobs through the registry." },
    s3ChunkSizeMb: { type: "integer", default: 10, description: "Part size of multipart uploads to S3, in MiB (5-5120)." },
    s3CaCertPem: { type: "string", default: "", description: "PEM of the CA that signed the S3 endpoint's certificate, when it is not a public one." },
    s3CreateBucket: { type: "boolean", default: false, description: "Create the bucket when it is missing, from the machine running Pulumi (it must reach s3Endpoint); an existing bucket is left as it is, and no destroy deletes it." },
    s3RgwUser: { type: "string", default: "", description: "User ID of a Ceph RGW user the stack creates with radosgw-admin (unless it exists) and whose keys the registry uses instead of s3AccessKey and s3SecretKey; empty uses those keys. Destroy leaves the user." },
    s3RgwAdminCommand: { type: "string", default: "radosgw-admin", description: "Command that runs radosgw-admin on the Ceph host (over SSH to sshHost when that is set), e.g. \"sudo radosgw-admin -c /etc/ceph/ceph.conf\"; only with s3RgwUser." },
    replicas: { type: "integer", default: 0, description: "Registry replicas on the Docker host behind a load balancer (ReplicatedRegistry), sharing the S3 bucket (storageBackend s3), a Redis blob descriptor cache and one http.secret (1-16); 0 runs the single registry (PrivateRegistry)." },
    redisImage: { type: "string", default: "redis:7.4-alpine@sha256:ff02b58f971e7d7d156a1267e283fcbbeee91773b6aa36c49dac28ecfe28eadf", description: "Redis image of the replicas' shared blob descriptor cache, pinned by digest." },
    redisMaxMemoryMb: { type: "integer", default: 256, description: "Memory the replicas' Redis may use for the cache, in MiB; the least recently used descriptors go first." },
    auth: { type: "string", default: "htpasswd", description: "How clients authenticate, htpasswd (the registry checks every request's password; every user may do everything) or token (a token service checks the password once per login and issues short-lived tokens that grant what the access rules in the object key accessRules allow)." },
    tokenPort: { type: "integer", default: 5002, description: "Host port the token service is published on (HTTPS, on bindAddress) when auth is token; the firewall opens it to registryAllowedCidrs." },
    tokenLifetimeSeconds: { type: "integer", default: 300, description: "Lifetime of the tokens in seconds (60-86400) when auth is token; a removed user's token stays valid at most this long, plus the 60 s the registry allows for clock skew." },
    tokenServiceNodeImage: { type: "string", default: "node:22-alpine@sha256:8094c002d08262dba12645a3b4a15cd6cd627d30bc782f53229a2ec13ee22a00", description: "Base image the token service is built on (its Dockerfile's NODE_IMAGE), pinned by digest." },
    contentTrust: { type: "boolean", default: false, description: "Run Docker Content Trust (a Notary server and signer on PostgreSQL, guarded by the token service; needs auth token), so clients can sign with DOCKER_CONTENT_TRUST=1 and refuse unsigned tags." },
    notaryPort: { type: "integer", default: 4443, description: "Host port the Notary server is published on (HTTPS, on bindAddress) when contentTrust is on; the firewall opens it to registryAllowedCidrs." },
    notaryServerImage: { type: "string", default: "notary:server-0.7.0@sha256:86bf3f0a2fab194fa1c279672eb0a89a45c8815116b4498961a45acfbb2e48ef", description: "Notary server image of Docker Content Trust (the official notary:server-0.7.0), pinned by digest." },
    notarySignerImage: { type: "string", default: "notary:signer-0.7.0@sha256:f1a42940954660f67b843a5808c5f34d1c754495933757589f7c3c3d0e627129", description: "Notary signer image of Docker Content Trust (the official notary:signer-0.7.0), pinned by digest." },
    postgresImage: { type: "string", default: "postgres:16-alpine@sha256:57c72fd2a128e416c7fcc499958864df5301e940bca0a56f58fddf30ffc07777", description: "PostgreSQL image holding the Notary server's and signer's databases (the official postgres:16-alpine), pinned by digest." },
    maintenanceEnabled: { type: "boolean", default: true, description: "Run garbage collection and backups with pulls served throughout. The registry port is published by a front (HAProxy, TCP pass-through) that moves new connections to a read-only standby registry while the writable one is stopped for the work, and a maintenance script (gc, backup, restore, list) is installed on the Docker host with cron schedules. Off publishes the registry directly and installs nothing on the host." },
    frontImage: { type: "string", default: "haproxy:3.0-alpine@sha256:56b887da77428b7a6621e59e480cdbd330cc805c22d3cedb66ceea76ffdea2c6", description: "HAProxy image of the front, pinned by digest." },
    maintenanceGcSchedule: { type: "string", default: "0 3 * * 0", description: "When garbage collection runs, as a cron schedule in the Docker host's time zone (five fields, e.g. \"0 3 * * 0\" for Sundays at 03:00); empty schedules none." },
    maintenanceGcDeleteUntagged: { type: "boolean", default: false, description: "Garbage collection also deletes manifests no tag points at (images whose tag was pushed again). Off by default because distribution 2.8 then also deletes the platform manifests of multi-platform images." },
    maintenanceBackupSchedule: { type: "string", default: "30 2 * * *", description: "When a backup of the data volume runs, as a cron schedule in the Docker host's time zone (e.g. \"30 2 * * *\" for 02:30 daily); empty schedules none." },
    maintenanceBackupDir: { type: "string", default: "/var/backups/private-registry", description: "Absolute directory on the Docker host backups are written to, one archive (and its .sha256) per backup, named after the container and the time." },
    maintenanceBackupRetention: { type: "integer", default: 7, description: "Backups kept in maintenanceBackupDir (1-1000); each successful backup removes the older ones." },
    firewallEnabled: { type: "boolean", default: false, description: "Install host firewall rules that leave only the registry port and SSH open." },
    publicInterface: { type: "string", default: "eth0", description: "The host's public network interface the firewall rules apply to." },
    registryAllowedCidrs: { type: "array", default: [], description: "Source CIDRs allowed to reach the registry port through the firewall (required when it is on)." },
    sshAllowedCidrs: { type: "array", default: [], description: "Source CIDRs allowed to reach SSH through the firewall (required when it is on; 0.0.0.0/0 and ::/0 are refused)." },
    sshPort: { type: "integer", default: 22, description: "SSH port left open by the firewall." },
    sshHost: { type: "string", default: "", description: "The Docker host, reached over SSH, that the host commands (firewall rules, installing the maintenance script) run on; empty runs them on the local machine." },
    sshUser: { type: "string", default: "root", description: "SSH user for the host commands (the firewall needs root or passwordless sudo; the maintenance script needs a user Docker lets in)." },
    sshHostKey: { type: "string", default: "", description: "Public host key of sshHost as known_hosts shows it (e.g. ssh-ed25519 AAAA...); the host commands refuse any other host. Required with sshHost on the prod stack." },
    clientTrustLocal: { type: "boolean", default: false, description: "Make the machine running Pulumi trust the registry's CA, as Docker's /etc/docker/certs.d/<host>:<port>/ca.crt for every hostname and IP address; destroy removes it." },
    clientTrustContainerd: { type: "boolean", default: false, description: "With clientTrustLocal, also write containerd's hosts.toml and ca.crt under /etc/containerd/certs.d/<host>:<port>/." },
    notificationUrl: { type: "string", default: "", description: "URL (https, or http inside a trusted network) the registry POSTs an event to on every push, pull and delete, e.g. a scanner's adapter; empty sends none. Header values go in the secret key notificationHeaders." },
    notificationTimeout: { type: "string", default: "5s", description: "How long the registry waits for the notification endpoint to answer, a Go duration." },
    notificationThreshold: { type: "integer", default: 5, description: "Failed deliveries in a row after which the registry backs off from the notification endpoint." },
    notificationBackoff: { type: "string", default: "10s", description: "How long the registry waits before delivering to the notification endpoint again after the threshold, a Go duration." },
    notificationIgnoredMediaTypes: { type: "array", default: [], description: "Media types whose events are not sent, e.g. application/octet-stream for layer blobs." },
    notificationIgnoredActions: { type: "array", default: [], description: "Actions whose events are not sent (pull, push, delete)." },
    proxyRemoteUrl: { type: "string", default: "", description: "Run the registry as a pull-through cache of this upstream registry (https), e.g. https://registry-1.docker.io; empty runs a normal registry. A cache refuses pushes. The upstream password goes in the secret key proxyPassword." },
    proxyUsername: { type: "string", default: "", description: "User the pull-through cache logs in to the upstream as; empty pulls anonymously." },
    proxyCaCertPem: { type: "string", default: "", description: "PEM of the CA that signed the upstream's certificate, when it is not a public one; the cache trusts it besides the system CAs." },
};
