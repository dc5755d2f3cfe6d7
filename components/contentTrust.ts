import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import { componentDependencies } from "./componentDependencies";
import {
    notaryConfigDir, notaryDatabases, notaryDatabaseUrl, notaryDefaults, notaryFiles, notaryServerContainerPort, notarySignerContainerPort,
    postgresContainerPort, postgresServerArgs, RegistryNotaryArgs, renderNotaryDatabaseInitSql, renderNotaryServerConfig, renderNotarySignerConfig,
    renderPostgresHba, renderSignerStartScript, signerPassphraseFile,
} from "./notaryConfig";
import { configUpload } from "./serverFiles";
import { hardenedServiceSettings, serviceConfigVolume } from "./serviceContainer";
import { tokenIssuer } from "./tokenAuth";

/** Arguments of {@link RegistryContentTrust}. */
export interface RegistryContentTrustArgs {
    /** Names the containers, volumes and network: <containerName>-notary-server, -notary-signer, -notary-db. Required. */
    readonly containerName: string;
    /** Hostname clients reach Notary by (a SAN of tlsCertPem). Required. */
    readonly hostname: string;
    /** Prefixes of the registry's GUNs, each "host:port/" as clients name the registry. Required. */
    readonly gunPrefixes: string[];
    /** Notary's service name in tokens (the token service must issue tokens for it). Required. */
    readonly service: string;
    /** The token service's realm. Required. */
    readonly tokenRealm: pulumi.Input<string>;
    /** PEM of the token signing certificate. Required. */
    readonly tokenSigningCertPem: pulumi.Input<string>;
    /** PEM of the HTTPS certificate clients see (the registry's serves: its CA is the one clients trust). Required. */
    readonly tlsCertPem: pulumi.Input<string>;
    /** PEM of its key. Required. */
    readonly tlsKeyPem: pulumi.Input<string>;
    /** Host address Notary is published on. Default: "0.0.0.0". */
    readonly bindAddress?: string;
    /** Protect the database volume and retain it on delete: it holds the signer's keys. Default: true. */
    readonly protectData?: boolean;
    /** Images, port, signer alias, log level and caching. Default: {}. */
    readonly options?: RegistryNotaryArgs;
}

/** The official notary images' notary user, and the alpine postgres image's postgres user. */
const notaryUid = 1000;
const postgresUid = 70;
/** Where the database's config volume is mounted: the official entrypoint runs its .sql files on a fresh data directory. */
const postgresConfigDir = "/docker-entrypoint-initdb.d";
const postgresDataDir = "/var/lib/postgresql/data";

/**
 * Docker Content Trust for the registry: notary-server (published, guarded by the token service),
 * notary-signer (keys encrypted under a generated passphrase) and PostgreSQL, on a network of
 * their own. Server and signer authenticate each other with certificates of an internal CA, and
 * both log in to PostgreSQL with certificates of it too; the database is never published.
 */
export class RegistryContentTrust extends pulumi.ComponentResource {
    /** host:port of the Notary server (DOCKER_CONTENT_TRUST_SERVER is https:// and this). */
    public readonly endpoint: pulumi.Output<string>;
    /** Name of the notary-server container. */
    public readonly serverContainer: pulumi.Output<string>;

    constructor(name: string, args: RegistryContentTrustArgs, opts?: pulumi.ComponentResourceOptions) {
        super("private-registry:index:RegistryContentTrust", name, {}, opts);
        const o = { ...notaryDefaults, ...Object.fromEntries(Object.entries(args.options ?? {}).filter(([, v]) => v !== undefined)) };
        const names = { server: `${args.containerName}-notary-server`, signer: `${args.containerName}-notary-signer`, db: `${args.containerName}-notary-db` };
        const protect = args.protectData ?? true;

        const network = new docker.Network(`${name}-network`, {
            name: `${args.containerName}-notary-net`,
            labels: [{ label: "private-registry.role", value: "notary-network" }],
        }, { parent: this });

        // An internal CA: it signs only what the three services show each other, and never leaves the stack.
        const caKey = new tls.PrivateKey(`${name}-ca-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
        const caCert = new tls.SelfSignedCert(`${name}-ca-cert`, {
            privateKeyPem: caKey.privateKeyPem,
            isCaCertificate: true,
            subject: { commonName: "private-registry notary internal CA", organization: "private-registry" },
            validityPeriodHours: 10 * 365 * 24,
            allowedUses: ["cert_signing", "digital_signature"],
        }, { parent: this });
        const issue = (part: string, commonName: string, dnsNames: string[], uses: string[]) => {
            const key = new tls.PrivateKey(`${name}-${part}-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this });
            const cert = new tls.LocallySignedCert(`${name}-${part}-cert`, {
                certRequestPem: new tls.CertRequest(`${name}-${part}-csr`, { privateKeyPem: key.privateKeyPem, subject: { commonName }, dnsNames }, { parent: this }).certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: caCert.certPem,
                validityPeriodHours: 365 * 24,
                earlyRenewalHours: 30 * 24,
                allowedUses: ["digital_signature", ...uses],
            }, { parent: this });
            return { certPem: cert.certPem, keyPem: pulumi.secret(key.privateKeyPem) };
        };
        const signerTls = issue("signer-tls", names.signer, [names.signer], ["server_auth"]);
        const serverClient = issue("server-client", names.server, [], ["client_auth"]);
        const dbTls = issue("db-tls", names.db, [names.db], ["server_auth"]);
        const [serverDb, signerDb] = notaryDatabases.map((d) => ({ ...d, ...issue(`db-${d.role.replace(/_/g, "-")}`, d.role, [], ["client_auth"]) }));

        const dbUrl = (role: string, database: string) => notaryDatabaseUrl({
            host: names.db, port: postgresContainerPort, database, role,
            rootCertFile: `${notaryConfigDir}/${notaryFiles.ca}`,
            clientCertFile: `${notaryConfigDir}/${notaryFiles.dbClientCert}`,
            clientKeyFile: `${notaryConfigDir}/${notaryFiles.dbClientKey}`,
        });
        const file = (dir: string) => (f: string) => `${dir}/${f}`;
        const inNotary = file(notaryConfigDir);

        // The database: certificate logins only, each service to its own database.
        const dbImage = new docker.RemoteImage(`${name}-db-image`, { name: o.postgresImage, keepLocally: true }, { parent: this });
        const superuserPassword = new random.RandomPassword(`${name}-db-superuser-password`, { length: 40, special: false }, { parent: this });
        const dbFiles = pulumi.all([caCert.certPem, dbTls.certPem, dbTls.keyPem, superuserPassword.result]).apply(([ca, cert, key, password]) => [
            configUpload("notary.sql", renderNotaryDatabaseInitSql(), "0400", postgresUid, postgresUid),
            configUpload("pg_hba.conf", renderPostgresHba(), "0400", postgresUid, postgresUid),
            configUpload("ca.crt", ca, "0444", postgresUid, postgresUid),
            configUpload("server.crt", cert, "0444", postgresUid, postgresUid),
            configUpload("server.key", key, "0400", postgresUid, postgresUid),
            configUpload("superuser-password", password, "0400", postgresUid, postgresUid),
        ]);
        const dbConfig = serviceConfigVolume(`${name}-db`, this, { containerName: names.db, role: "notary-db-config", imageId: dbImage.imageId, uploads: dbFiles, uid: postgresUid, gid: postgresUid });
        // The signer's keys live here: nothing may lose it.
        const dbData = new docker.Volume(`${name}-db-data`, {
            name: `${names.db}-data`,
            labels: [{ label: "private-registry.role", value: "notary-db-data" }],
        }, { parent: this, protect, retainOnDelete: protect });
        const inDb = file(postgresConfigDir);
        const db = new docker.Container(`${name}-db-container`, {
            name: names.db,
            image: dbImage.imageId,
            command: ["postgres", ...postgresServerArgs({ certFile: inDb("server.crt"), keyFile: inDb("server.key"), caFile: inDb("ca.crt"), hbaFile: inDb("pg_hba.conf") })],
            envs: ["POSTGRES_USER=postgres", `POSTGRES_PASSWORD_FILE=${inDb("superuser-password")}`, `PGDATA=${postgresDataDir}/pgdata`],
            user: `${postgresUid}:${postgresUid}`,
            ...hardenedServiceSettings,
            networksAdvanced: [{ name: network.name, aliases: [names.db] }],
            volumes: [
                { volumeName: dbConfig.volume.name, containerPath: postgresConfigDir, readOnly: true },
                { volumeName: dbData.name, containerPath: postgresDataDir },
            ],
            tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m", "/var/run/postgresql": "rw,noexec,nosuid,size=1m" },
            restart: "always",
            labels: [dbConfig.digestLabel],
            mustRun: true,
        }, { parent: this, deleteBeforeReplace: true, dependsOn: [dbConfig.init, ...componentDependencies("RegistryContentTrust", opts)] });

        // The signer: its keys' passphrase is generated, kept in state, and reaches only its process.
        const signerImage = new docker.RemoteImage(`${name}-signer-image`, { name: o.signerImage, keepLocally: true }, { parent: this });
        const passphrase = new random.RandomPassword(`${name}-signer-passphrase`, { length: 48, special: false }, { parent: this });
        const signerFiles = pulumi.all([caCert.certPem, signerTls.certPem, signerTls.keyPem, signerDb.certPem, signerDb.keyPem, passphrase.result])
            .apply(([ca, cert, key, dbCert, dbKey, secret]) => [
                [notaryFiles.signerConfig, renderNotarySignerConfig({
                    tlsCertFile: inNotary(notaryFiles.signerCert), tlsKeyFile: inNotary(notaryFiles.signerKey), clientCaFile: inNotary(notaryFiles.ca),
                    dbUrl: dbUrl(signerDb.role, signerDb.database), defaultAlias: o.signerAlias, logLevel: o.logLevel,
                }), "0400"],
                [notaryFiles.signerStart, renderSignerStartScript([o.signerAlias]), "0500"],
                [signerPassphraseFile(o.signerAlias), secret, "0400"],
                [notaryFiles.ca, ca, "0444"],
                [notaryFiles.signerCert, cert, "0444"],
                [notaryFiles.signerKey, key, "0400"],
                [notaryFiles.dbClientCert, dbCert, "0444"],
                // lib/pq refuses a key others may read.
                [notaryFiles.dbClientKey, dbKey, "0400"],
            ].map(([f, content, mode]) => configUpload(f, content, mode, notaryUid, notaryUid)));
        const signerConfig = serviceConfigVolume(`${name}-signer`, this, { containerName: names.signer, role: "notary-signer-config", imageId: signerImage.imageId, uploads: signerFiles, uid: notaryUid, gid: notaryUid });
        const signer = new docker.Container(`${name}-signer-container`, {
            name: names.signer,
            image: signerImage.imageId,
            entrypoints: ["/bin/sh", inNotary(notaryFiles.signerStart)],
            user: `${notaryUid}:${notaryUid}`,
            ...hardenedServiceSettings,
            networksAdvanced: [{ name: network.name, aliases: [names.signer] }],
            volumes: [{ volumeName: signerConfig.volume.name, containerPath: notaryConfigDir, readOnly: true }],
            tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
            restart: "always",
            labels: [signerConfig.digestLabel],
            mustRun: true,
        }, { parent: this, deleteBeforeReplace: true, dependsOn: [signerConfig.init, db] });

        // The server: published, guarded by the token service, signing through the signer.
        const serverImage = new docker.RemoteImage(`${name}-server-image`, { name: o.serverImage, keepLocally: true }, { parent: this });
        const serverFiles = pulumi.all([caCert.certPem, args.tlsCertPem, args.tlsKeyPem, serverClient.certPem, serverClient.keyPem, serverDb.certPem, serverDb.keyPem,
            pulumi.all([args.tokenRealm, args.tokenSigningCertPem])])
            .apply(([ca, cert, key, clientCert, clientKey, dbCert, dbKey, [realm, signingCert]]) => [
                [notaryFiles.serverConfig, renderNotaryServerConfig({
                    signerHost: names.signer, signerPort: notarySignerContainerPort,
                    tlsCertFile: inNotary(notaryFiles.serverCert), tlsKeyFile: inNotary(notaryFiles.serverKey),
                    signerCaFile: inNotary(notaryFiles.ca), signerClientCertFile: inNotary(notaryFiles.serverClientCert), signerClientKeyFile: inNotary(notaryFiles.serverClientKey),
                    dbUrl: dbUrl(serverDb.role, serverDb.database),
                    auth: { realm, service: args.service, issuer: tokenIssuer, rootCertBundle: inNotary(notaryFiles.tokenSigningCert) },
                    gunPrefixes: args.gunPrefixes,
                    logLevel: o.logLevel,
                    currentMetadataMaxAgeSeconds: o.currentMetadataMaxAgeSeconds,
                    consistentMetadataMaxAgeSeconds: o.consistentMetadataMaxAgeSeconds,
                }), "0400"],
                [notaryFiles.ca, ca, "0444"],
                [notaryFiles.serverCert, cert, "0444"],
                [notaryFiles.serverKey, key, "0400"],
                [notaryFiles.serverClientCert, clientCert, "0444"],
                [notaryFiles.serverClientKey, clientKey, "0400"],
                [notaryFiles.dbClientCert, dbCert, "0444"],
                [notaryFiles.dbClientKey, dbKey, "0400"],
                [notaryFiles.tokenSigningCert, signingCert, "0444"],
            ].map(([f, content, mode]) => configUpload(f, content, mode, notaryUid, notaryUid)));
        const serverConfig = serviceConfigVolume(`${name}-server`, this, { containerName: names.server, role: "notary-server-config", imageId: serverImage.imageId, uploads: serverFiles, uid: notaryUid, gid: notaryUid });
        const server = new docker.Container(`${name}-server-container`, {
            name: names.server,
            image: serverImage.imageId,
            entrypoints: ["notary-server"],
            command: [`-config=${inNotary(notaryFiles.serverConfig)}`],
            user: `${notaryUid}:${notaryUid}`,
            ...hardenedServiceSettings,
            networksAdvanced: [{ name: network.name, aliases: [names.server] }],
            ports: [{ internal: notaryServerContainerPort, external: o.hostPort, ip: args.bindAddress ?? "0.0.0.0", protocol: "tcp" }],
            volumes: [{ volumeName: serverConfig.volume.name, containerPath: notaryConfigDir, readOnly: true }],
            tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
            restart: "always",
            labels: [serverConfig.digestLabel],
            mustRun: true,
        }, { parent: this, deleteBeforeReplace: true, dependsOn: [serverConfig.init, signer, db] });

        this.endpoint = pulumi.output(`${args.hostname}:${o.hostPort}`);
        this.serverContainer = server.name;
        this.registerOutputs({ endpoint: this.endpoint, serverContainer: this.serverContainer });
    }
}
