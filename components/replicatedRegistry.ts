import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { privateBindAddressProblem } from "./metrics";
import { PrivateRegistryArgs, privateRegistrySettings } from "./privateRegistry";
import { registryOptionProblems } from "./pullThroughCache";
import { RegistryRedis, redisDefaults } from "./redis";
import { registryContainerPort } from "./registryConfig";
import { registryFoundation, registryFrontAndMaintenance, registryNetwork } from "./registryParts";
import { objectStorageMaintenanceProblems } from "./s3Storage";
import { notaryArgsField, registryNotaryProblems } from "./notaryConfig";
import { registryTokenAuthProblems, tokenAuthArgsField, tokenAuthDefaults } from "./tokenAuth";
import { RegistryServer } from "./server";
import { defaultStackConfig, isValidHostname, isValidIpAddress, RegistryConfigError, validateRegistrySettings } from "./validation";

/** A Docker host of its own for one replica; the load balancer reaches it over the network. */
export interface RegistryReplicaHostArgs {
    /** Docker engine of the host, e.g. ssh://deploy@10.0.0.12; the replica is created through a docker provider of its own. Required. */
    readonly dockerHost: string;
    /** Address of the host the load balancer reaches the replica at; the replica's port is published on it alone. Required. */
    readonly address: string;
    /** Host port the replica is published on. Default: 5000. */
    readonly port?: number;
}

/** Arguments of {@link ReplicatedRegistry}: those of PrivateRegistry (s3Storage is required), and where the replicas run. */
export interface ReplicatedRegistryArgs extends PrivateRegistryArgs {
    /** Replicas on the Docker host of this component's provider, beside the load balancer (0-16). Required. */
    readonly replicas: number;
    /** One more replica on each of these Docker hosts (maintenanceEnabled must then be off: the maintenance script runs on the load balancer's host). Default: []. */
    readonly replicaHosts?: RegistryReplicaHostArgs[];
    /** Redis image of the replicas' shared blob descriptor cache, pinned by digest. Default: "redis:7.4-alpine@sha256:ff02b58f971e7d7d156a1267e283fcbbeee91773b6aa36c49dac28ecfe28eadf". */
    readonly redisImage?: string;
    /** Memory Redis may use for the cache, in MiB; the least recently used descriptors go first. Default: 256. */
    readonly redisMaxMemoryMb?: number;
    /** Private address of the load balancer's host that Redis is published on, for replicas on other hosts; never a wildcard or public address. Default: "", published nowhere. */
    readonly redisBindAddress?: string;
}

/** Most replicas on the load balancer's host. */
export const maxLocalReplicas = 16;

/** Problems of where the replicas and Redis run (the shared settings are checked as for PrivateRegistry), each naming its key and the fix. */
export function replicatedRegistryProblems(args: ReplicatedRegistryArgs, key: (field: string) => string = (f) => `ReplicatedRegistryArgs.${f}`): string[] {
    const problems: string[] = [];
    const replicas = args.replicas;
    const hosts = args.replicaHosts ?? [];
    if (!Number.isInteger(replicas) || replicas < 0 || replicas > maxLocalReplicas) {
        problems.push(`${key("replicas")}: ${replicas} is not a whole number of 0-${maxLocalReplicas}. Fix: give the replicas on the load balancer's host, e.g. 2`);
    } else if (replicas + hosts.length === 0) {
        problems.push(`${key("replicas")}: is 0 and replicaHosts is empty, so nothing would serve. Fix: set replicas to 1 or more, or list replicaHosts`);
    }
    if (args.pullThroughCache) {
        problems.push(`${key("pullThroughCache")}: a pull-through cache is not replicated here. Fix: leave it out, or run the cache with PrivateRegistry`);
    }
    if ((args.metricsBindAddress ?? "") !== "") {
        problems.push(`${key("metricsBindAddress")}: the replicas' debug servers are not published in the replicated form yet (they would share one host port). Fix: set it to ""`);
    }
    for (const [i, host] of hosts.entries()) {
        const at = key(`replicaHosts[${i}]`);
        if (!/^(unix|ssh|tcp):\/\/\S+$/.test(host.dockerHost)) {
            problems.push(`${at}.dockerHost: "${host.dockerHost}" is not a Docker host URL. Fix: give e.g. ssh://deploy@10.0.0.12`);
        }
        if (!isValidIpAddress(host.address) && !isValidHostname(host.address)) {
            problems.push(`${at}.address: "${host.address}" is not an IP address or DNS name. Fix: give the host's private address the load balancer reaches`);
        } else if (isValidIpAddress(host.address)) {
            const problem = privateBindAddressProblem(host.address, "the replica's port");
            if (problem) problems.push(`${at}.address: ${problem}. Fix: give the host's private address`);
        }
        const port = host.port ?? registryContainerPort;
        if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`${at}.port: ${port} is not a port (1-65535). Fix: use 5000`);
    }
    if (hosts.length > 0) {
        if (args.maintenanceEnabled ?? true) {
            problems.push(`${key("maintenanceEnabled")}: replicas on other hosts can't be stopped by the maintenance script on the load balancer's host, so garbage collection could run while they accept writes. Fix: set maintenanceEnabled to false`);
        }
        const redisAddress = args.redisBindAddress ?? "";
        if (redisAddress === "") {
            problems.push(`${key("redisBindAddress")}: is empty, so replicas on other hosts can't reach Redis. Fix: give a private address of the load balancer's host`);
        }
    }
    if ((args.redisBindAddress ?? "") !== "") {
        const problem = privateBindAddressProblem(args.redisBindAddress!, "Redis");
        if (problem) problems.push(`${key("redisBindAddress")}: ${problem}. Fix: give a loopback or private address, or "" to publish nothing`);
    }
    return problems;
}

/**
 * The registry scaled out: replicas sharing one S3 bucket, one Redis blob descriptor cache and
 * one http.secret (so an upload may move between them), behind the front as a load balancer that
 * health-checks each and passes TLS through, with the endpoint, CA, credentials and firewall of
 * PrivateRegistry. With maintenanceEnabled, garbage collection stops every replica for its window
 * while a read-only standby serves pulls, and empties the cache after it.
 */
export class ReplicatedRegistry extends pulumi.ComponentResource {
    /** host:port clients log in to and push to. */
    public readonly endpoint: pulumi.Output<string>;
    /** PEM of the CA certificate clients must trust. */
    public readonly caCertPem: pulumi.Output<string>;
    /** Each username mapped to its password (secret). */
    public readonly credentials: pulumi.Output<Record<string, string>>;
    /** Names of the replica containers, those on the load balancer's host first. */
    public readonly replicaContainers: pulumi.Output<string[]>;
    /** Name of the load balancer container. */
    public readonly frontContainer: pulumi.Output<string>;
    /** Name of the Redis container. */
    public readonly redisContainer: pulumi.Output<string>;
    /** The maintenance script installed on the load balancer's host (gc, list); empty when maintenanceEnabled is off. */
    public readonly maintenanceScript: pulumi.Output<string>;
    /** The URL clients fetch tokens from; empty without tokenAuth. */
    public readonly tokenRealm: pulumi.Output<string>;
    /** host:port of the Notary server; empty without notary. */
    public readonly notaryEndpoint: pulumi.Output<string>;

    constructor(name: string, args: ReplicatedRegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        const s = validateRegistrySettings(privateRegistrySettings(args), (field) => `ReplicatedRegistryArgs.${field}`);
        const problems = [
            ...(args.s3Storage ? [] : ["ReplicatedRegistryArgs.s3Storage: is missing; replicas share one bucket (each has no local data). Fix: give s3Storage (e.g. RegistryBucket's s3Storage output), or use PrivateRegistry for one registry on a volume"]),
            ...replicatedRegistryProblems(args),
            ...registryOptionProblems("ReplicatedRegistryArgs", args.notificationEndpoints, undefined, s, args.s3Storage),
            ...objectStorageMaintenanceProblems(s.maintenanceEnabled, s.maintenanceBackupSchedule, (f) => `ReplicatedRegistryArgs.${f}`),
            ...registryTokenAuthProblems(args.tokenAuth, s, (f) => `ReplicatedRegistryArgs.${tokenAuthArgsField(f)}`),
            ...registryNotaryProblems(args.notary, args.tokenAuth && (args.tokenAuth.hostPort ?? tokenAuthDefaults.hostPort), s, (f) => `ReplicatedRegistryArgs.${notaryArgsField(f)}`),
        ];
        if (problems.length > 0) throw new RegistryConfigError(problems);
        super("private-registry:index:ReplicatedRegistry", name, {}, opts);

        const base = registryFoundation(name, s, args, this);
        const network = registryNetwork(name, s.containerName, this);
        const stackDefaults = defaultStackConfig();
        const redis = new RegistryRedis(`${name}-redis`, {
            image: args.redisImage ?? stackDefaults.redisImage,
            containerName: `${s.containerName}-redis`,
            networkName: network.name,
            maxMemoryMb: args.redisMaxMemoryMb ?? stackDefaults.redisMaxMemoryMb,
            hostBindAddress: args.redisBindAddress,
        }, { parent: this });
        // One secret for all: an upload started on one replica goes on on another.
        const httpSecret = new random.RandomPassword(`${name}-http-secret`, { length: 64, special: false }, { parent: this });
        const replicaArgs = { ...base.serverArgs, httpSecret: httpSecret.result, redisCache: { address: redis.address, password: redis.password } };

        const localCount = args.replicas;
        const local = Array.from({ length: localCount }, (_, i) => new RegistryServer(`${name}-replica-${i + 1}`, {
            ...replicaArgs, containerName: `${s.containerName}-${i + 1}`, networkName: network.name, publishPort: false,
        }, { ...base.afterFirewall, dependsOn: [redis] }));
        const redisPort = redisDefaults.hostPort;
        const remote = (args.replicaHosts ?? []).map((host, j) => {
            const i = localCount + j;
            const provider = new docker.Provider(`${name}-host-${i + 1}`, { host: host.dockerHost }, { parent: this });
            return new RegistryServer(`${name}-replica-${i + 1}`, {
                ...replicaArgs,
                redisCache: { address: `${args.redisBindAddress}:${redisPort}`, password: redis.password },
                containerName: `${s.containerName}-${i + 1}`,
                port: host.port ?? registryContainerPort,
                bindAddress: host.address,
            }, { parent: this, provider, dependsOn: [redis] });
        });

        const fronted = registryFrontAndMaintenance(name, s, base, network, {
            backends: [
                ...local.map((_, i) => `${s.containerName}-${i + 1}:${registryContainerPort}`),
                ...(args.replicaHosts ?? []).map((host) => `${host.address}:${host.port ?? registryContainerPort}`),
            ],
            containers: local.map((r) => r.containerName),
            configVolume: (local[0] ?? remote[0]).configVolumeName,
            cacheContainer: redis.containerName,
        }, args, this);

        this.endpoint = pulumi.output(`${s.hostnames[0]}:${s.port}`);
        this.caCertPem = base.tls.caCertPem;
        this.credentials = base.credentials.passwords;
        this.replicaContainers = pulumi.all([...local, ...remote].map((r) => r.containerName));
        this.frontContainer = fronted.frontContainer;
        this.maintenanceScript = fronted.maintenanceScript;
        this.redisContainer = redis.containerName;
        this.tokenRealm = base.tokenService ? base.tokenService.realm : pulumi.output("");
        this.notaryEndpoint = base.contentTrust ? base.contentTrust.endpoint : pulumi.output("");
        this.registerOutputs({
            tokenRealm: this.tokenRealm,
            notaryEndpoint: this.notaryEndpoint,
            endpoint: this.endpoint,
            caCertPem: this.caCertPem,
            credentials: this.credentials,
            replicaContainers: this.replicaContainers,
            frontContainer: this.frontContainer,
            redisContainer: this.redisContainer,
            maintenanceScript: this.maintenanceScript,
        });
    }
}
