import * as pulumi from "@pulumi/pulumi";
import { FirewallConnectionArgs } from "./firewall";
import { metricsTarget, renderPrometheusScrapeConfig } from "./metrics";
import { RegistryNotificationEndpointArgs } from "./notifications";
import { registryOptionProblems, RegistryPullThroughCacheArgs } from "./pullThroughCache";
import { objectStorageMaintenanceProblems, RegistryS3StorageArgs } from "./s3Storage";
import { registryContainerPort } from "./registryConfig";
import { registryFoundation, registryFrontAndMaintenance, registryNetwork } from "./registryParts";
import { RegistryServer } from "./server";
import { RegistryStorage } from "./storage";
import { notaryArgsField, RegistryNotaryArgs, registryNotaryProblems } from "./notaryConfig";
import { registryTokenAuthProblems, RegistryTokenAuthArgs, tokenAuthArgsField, tokenAuthDefaults } from "./tokenAuth";
import { defaultRegistrySettings, RegistryConfigError, RegistrySettings, validateRegistrySettings } from "./validation";

/** Arguments of {@link PrivateRegistry}; each setting is described once, in Pulumi.yaml. */
export interface PrivateRegistryArgs {
    /** DNS names clients use for the registry. All go into the certificate's SANs; the first is the endpoint. Required. */
    readonly hostnames: string[];
    /** IP addresses clients use for the registry; all go into the certificate's SANs. Default: []. */
    readonly ipAddresses?: string[];
    /** Host port the registry is published on. Default: 5000. */
    readonly port?: number;
    /** Host address the registry port is published on (0.0.0.0 for all IPv4 addresses). Default: "0.0.0.0". */
    readonly bindAddress?: string;
    /** Usernames that get a generated password and an htpasswd entry. Required. */
    readonly users: string[];
    /** bcrypt cost of the htpasswd entries (4-31). The registry bcrypt-checks every request; generated passwords are long and random, so the lowest cost loses nothing. Default: 4. */
    readonly bcryptCost?: number;
    /** Key algorithm of the CA and server keys, ECDSA (P-256) or RSA. Default: "ECDSA". */
    readonly tlsKeyAlgorithm?: string;
    /** RSA key size when tlsKeyAlgorithm is RSA. Default: 4096. */
    readonly tlsRsaBits?: number;
    /** Validity of the server certificate, in days. Default: 365. */
    readonly certValidityDays?: number;
    /** Renew the server certificate this many days before it expires (on the next pulumi up). Default: 30. */
    readonly certEarlyRenewalDays?: number;
    /** Validity of the CA certificate, in days. A new CA means every client must install the new ca.crt. Default: 3650. */
    readonly caValidityDays?: number;
    /** Generation of the private CA. Raise it by one to rotate the CA (a new key and certificate, and a server certificate signed by them); every client must then trust the new ca.crt. Default: 1. */
    readonly caGeneration?: number;
    /** Name of the registry container. Default: "registry". */
    readonly containerName?: string;
    /** Name of the docker volume that holds the images. Default: "registry-data". */
    readonly dataVolumeName?: string;
    /** Protect the data volume and retain it on delete, so no destroy or replacement loses images. Default: true. */
    readonly protectData?: boolean;
    /** Registry image, pinned by digest. Default: "registry:2.8.3@sha256:a3d8aaa63ed8681a604f1dea0aa03f100d5895b6a58ace528858a7b332415373". */
    readonly image?: string;
    /** Memory limit of the registry container, in MiB. It counts the page cache the registry reads blobs through, so it is sized to keep a freshly pushed 1 GiB layer cached. Default: 2048. */
    readonly memoryLimitMb?: number;
    /** Keep a cache of blob descriptors in the registry's memory. Default: true. */
    readonly blobDescriptorCache?: boolean;
    /** Serve HTTP/2 to clients that offer it. Default: true. */
    readonly http2?: boolean;
    /** Registry log level (error, warn, info, debug). At warn the log keeps one access-log line per request, failed logins and errors; info adds two lines per authorized request. Default: "warn". */
    readonly logLevel?: string;
    /** GOGC of the registry process (25-10000). The heap is also held under three quarters of memoryLimitMb (GOMEMLIMIT), whatever this is. Default: 400. */
    readonly goGcPercent?: number;
    /** Host address the registry's debug server (Prometheus metrics, health, Go profiling; no authentication) is published on, for monitoring; a loopback or private address, never a wildcard. Empty keeps it inside the container. Default: "". */
    readonly metricsBindAddress?: string;
    /** Host port the metrics are published on when metricsBindAddress is set; the firewall keeps it closed on the public interface. Default: 5001. */
    readonly metricsPort?: number;
    /** Run garbage collection and backups with pulls served throughout. The registry port is published by a front (HAProxy, TCP pass-through) that moves new connections to a read-only standby registry while the writable one is stopped for the work, and a maintenance script (gc, backup, restore, list) is installed on the Docker host with cron schedules. Off publishes the registry directly and installs nothing on the host. Default: true. */
    readonly maintenanceEnabled?: boolean;
    /** HAProxy image of the front, pinned by digest. Default: "haproxy:3.0-alpine@sha256:56b887da77428b7a6621e59e480cdbd330cc805c22d3cedb66ceea76ffdea2c6". */
    readonly frontImage?: string;
    /** When garbage collection runs, as a cron schedule in the Docker host's time zone (five fields, e.g. "0 3 * * 0" for Sundays at 03:00); empty schedules none. Default: "0 3 * * 0". */
    readonly maintenanceGcSchedule?: string;
    /** Garbage collection also deletes manifests no tag points at (images whose tag was pushed again). Off by default because distribution 2.8 then also deletes the platform manifests of multi-platform images. Default: false. */
    readonly maintenanceGcDeleteUntagged?: boolean;
    /** When a backup of the data volume runs, as a cron schedule in the Docker host's time zone (e.g. "30 2 * * *" for 02:30 daily); empty schedules none. Default: "30 2 * * *". */
    readonly maintenanceBackupSchedule?: string;
    /** Absolute directory on the Docker host backups are written to, one archive (and its .sha256) per backup, named after the container and the time. Default: "/var/backups/private-registry". */
    readonly maintenanceBackupDir?: string;
    /** Backups kept in maintenanceBackupDir (1-1000); each successful backup removes the older ones. Default: 7. */
    readonly maintenanceBackupRetention?: number;
    /** Install host firewall rules that leave only the registry port and SSH open. Default: false. */
    readonly firewallEnabled?: boolean;
    /** The host's public network interface the firewall rules apply to. Default: "eth0". */
    readonly publicInterface?: string;
    /** Source CIDRs allowed to reach the registry port through the firewall (required when it is on). Default: []. */
    readonly registryAllowedCidrs?: string[];
    /** Source CIDRs allowed to reach SSH through the firewall (required when it is on; 0.0.0.0/0 and ::/0 are refused). Default: []. */
    readonly sshAllowedCidrs?: string[];
    /** SSH port left open by the firewall. Default: 22. */
    readonly sshPort?: number;
    /** SSH connection to the Docker host that the host commands (firewall rules, the maintenance script) run over; without one they run on the machine running Pulumi. Default: none. */
    readonly hostConnection?: FirewallConnectionArgs;
    /**
     * SSH connection the firewall commands run over, when hostConnection is not set. Default: none.
     * @deprecated Use hostConnection, which the maintenance script's install uses too.
     */
    readonly firewallConnection?: FirewallConnectionArgs;
    /** Endpoints the registry sends an event to on every push, pull and delete, e.g. a scanner's adapter. Default: []. */
    readonly notificationEndpoints?: RegistryNotificationEndpointArgs[];
    /** Run the registry as a pull-through cache of an upstream registry; a cache refuses pushes. Default: none. */
    readonly pullThroughCache?: RegistryPullThroughCacheArgs;
    /** Keep blobs and manifests in an S3 bucket instead of the data volume (set maintenanceBackupSchedule to "": backups copy the volume). Default: none, the data volume. */
    readonly s3Storage?: RegistryS3StorageArgs;
    /** Token authentication with per-repository access rules instead of htpasswd: a token service (its own container and port) issues short-lived signed tokens. Default: none, htpasswd. */
    readonly tokenAuth?: RegistryTokenAuthArgs;
    /** Docker Content Trust: a Notary server and signer on PostgreSQL, guarded by the token service (requires tokenAuth). Default: none. */
    readonly notary?: RegistryNotaryArgs;
}

/** Fills in defaults; the result is what validation checks and the children get. */
export function privateRegistrySettings(args: PrivateRegistryArgs): RegistrySettings {
    const { firewallConnection: _connection, hostConnection: _hostConnection, s3Storage: _s3, protectData: _protect, notificationEndpoints: _endpoints, pullThroughCache: _cache,
        tokenAuth: _tokenAuth, notary: _notary, ...rest } = args;
    const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
    return { ...defaultRegistrySettings, ...defined };
}

/** A private registry on one Docker host: TLS, credentials, data volume, container and firewall. */
export class PrivateRegistry extends pulumi.ComponentResource {
    /** host:port clients log in to and push to. */
    public readonly endpoint: pulumi.Output<string>;
    /** PEM of the CA certificate clients must trust. */
    public readonly caCertPem: pulumi.Output<string>;
    /** Each username mapped to its password (secret). */
    public readonly credentials: pulumi.Output<Record<string, string>>;
    /** Name of the data volume. */
    public readonly dataVolume: pulumi.Output<string>;
    /** Name of the registry container. */
    public readonly containerName: pulumi.Output<string>;
    /** host:port Prometheus scrapes the registry's metrics at (plain HTTP, /metrics); empty when metricsBindAddress is empty. */
    public readonly metricsEndpoint: pulumi.Output<string>;
    /** A Prometheus scrape_configs block for the metrics (YAML); empty when metricsBindAddress is empty. */
    public readonly prometheusScrapeConfig: pulumi.Output<string>;
    /** The maintenance script installed on the Docker host (gc, backup, restore, list); empty when maintenanceEnabled is off. */
    public readonly maintenanceScript: pulumi.Output<string>;
    /** The URL clients fetch tokens from; empty without tokenAuth. */
    public readonly tokenRealm: pulumi.Output<string>;
    /** host:port of the Notary server (DOCKER_CONTENT_TRUST_SERVER=https://<this>); empty without notary. */
    public readonly notaryEndpoint: pulumi.Output<string>;

    constructor(name: string, args: PrivateRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        // Before anything is registered, so bad input creates nothing.
        const s = validateRegistrySettings(privateRegistrySettings(args), (field) => `PrivateRegistryArgs.${field}`);
        const optionProblems = [
            ...registryOptionProblems("PrivateRegistryArgs", args.notificationEndpoints, args.pullThroughCache, s, args.s3Storage),
            ...(args.s3Storage ? objectStorageMaintenanceProblems(s.maintenanceEnabled, s.maintenanceBackupSchedule, (f) => `PrivateRegistryArgs.${f}`) : []),
        ];
        optionProblems.push(...registryTokenAuthProblems(args.tokenAuth, s, (f) => `PrivateRegistryArgs.${tokenAuthArgsField(f)}`));
        optionProblems.push(...registryNotaryProblems(args.notary, args.tokenAuth && (args.tokenAuth.hostPort ?? tokenAuthDefaults.hostPort), s,
            (f) => `PrivateRegistryArgs.${notaryArgsField(f)}`));
        if (optionProblems.length > 0) throw new RegistryConfigError(optionProblems);
        super("private-registry:index:PrivateRegistry", name, {}, opts);

        const base = registryFoundation(name, s, args, this);
        const storage = new RegistryStorage(`${name}-storage`, { volumeName: s.dataVolumeName, protect: args.protectData ?? true }, { parent: this });
        const serverArgs = { ...base.serverArgs, dataVolumeName: storage.volumeName };

        let server: RegistryServer;
        let maintenanceScript: pulumi.Output<string> = pulumi.output("");
        if (s.maintenanceEnabled) {
            // The registries share a network of their own with the front, which alone publishes the port.
            const network = registryNetwork(name, s.containerName, this);
            const primaryHost = `${s.containerName}-primary`;
            server = new RegistryServer(`${name}-server`, {
                ...serverArgs, networkName: network.name, networkAlias: primaryHost, publishPort: false,
            }, base.afterFirewall);
            maintenanceScript = registryFrontAndMaintenance(name, s, base, network, {
                backends: [`${primaryHost}:${registryContainerPort}`],
                containers: [server.containerName],
                configVolume: server.configVolumeName,
                dataVolume: storage.volumeName,
            }, args, this).maintenanceScript;
        } else {
            server = new RegistryServer(`${name}-server`, serverArgs, base.afterFirewall);
        }

        this.endpoint = pulumi.output(`${s.hostnames[0]}:${s.port}`);
        this.caCertPem = base.tls.caCertPem;
        this.credentials = base.credentials.passwords;
        this.dataVolume = storage.volumeName;
        this.containerName = server.containerName;
        this.maintenanceScript = maintenanceScript;
        this.tokenRealm = base.tokenService ? base.tokenService.realm : pulumi.output("");
        this.notaryEndpoint = base.contentTrust ? base.contentTrust.endpoint : pulumi.output("");
        const publishMetrics = s.metricsBindAddress !== "";
        const metricsEndpoint = publishMetrics ? metricsTarget(s.metricsBindAddress, s.metricsPort) : "";
        this.metricsEndpoint = pulumi.output(metricsEndpoint);
        this.prometheusScrapeConfig = pulumi.output(publishMetrics
            ? renderPrometheusScrapeConfig({
                jobName: `private-registry-${s.containerName}`,
                targets: [metricsEndpoint],
                labels: { registry: `${s.hostnames[0]}:${s.port}` },
            })
            : "");
        this.registerOutputs({
            metricsEndpoint: this.metricsEndpoint,
            prometheusScrapeConfig: this.prometheusScrapeConfig,
            endpoint: this.endpoint,
            caCertPem: this.caCertPem,
            credentials: this.credentials,
            dataVolume: this.dataVolume,
            containerName: this.containerName,
            maintenanceScript: this.maintenanceScript,
            tokenRealm: this.tokenRealm,
            notaryEndpoint: this.notaryEndpoint,
        });
    }
}
