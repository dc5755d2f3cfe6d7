/**
 * Docker Content Trust: the files of a Notary server, its signer and their PostgreSQL database,
 * as notary 0.7.0 reads them. Pure: the component only writes what these render.
 *
 * Config keys are those of notary 0.7.0's cmd/notary-server/config.go,
 * cmd/notary-signer/config.go and utils/configuration.go (paths are taken relative to the config
 * file, so absolute paths are rendered).
 */
import { configDeclarations } from "./configDeclarations";

/** Docker Content Trust for the registry: a Notary server and signer, on PostgreSQL. */
export interface RegistryNotaryArgs {
    /** notary-server image, pinned by digest. Default: "notary:server-0.7.0@sha256:86bf3f0a2fab194fa1c279672eb0a89a45c8815116b4498961a45acfbb2e48ef". */
    readonly serverImage?: string;
    /** notary-signer image, pinned by digest. Default: "notary:signer-0.7.0@sha256:f1a42940954660f67b843a5808c5f34d1c754495933757589f7c3c3d0e627129". */
    readonly signerImage?: string;
    /** PostgreSQL image of the server's and signer's databases, pinned by digest. Default: "postgres:16-alpine@sha256:57c72fd2a128e416c7fcc499958864df5301e940bca0a56f58fddf30ffc07777". */
    readonly postgresImage?: string;
    /** Host port the Notary server is published on (HTTPS), on the registry's bindAddress. Default: 4443. */
    readonly hostPort?: number;
    /** Passphrase alias the signer encrypts new keys under (lower-case letters, digits, _; it names the passphrase's variable NOTARY_SIGNER_<ALIAS>). Default: "timestamp_1". */
    readonly signerAlias?: string;
    /** Log level of the server and the signer: debug, info, warn, error. Default: "warn". */
    readonly logLevel?: string;
    /** max-age (s) clients may cache current metadata (root.json, timestamp.json ...) for; 0 disables caching. Default: 300. */
    readonly currentMetadataMaxAgeSeconds?: number;
    /** max-age (s) of content-addressed metadata (<role>.<sha256>.json), which never changes. Default: 2592000. */
    readonly consistentMetadataMaxAgeSeconds?: number;
}

/** Defaults of RegistryNotaryArgs (the cache ages are notary 0.7.0's own, const.go). */
export const notaryDefaults = {
    /** notary-server image. */
    serverImage: configDeclarations.notaryServerImage.default as string,
    /** notary-signer image. */
    signerImage: configDeclarations.notarySignerImage.default as string,
    /** PostgreSQL image. */
    postgresImage: configDeclarations.postgresImage.default as string,
    /** Notary's host port. */
    hostPort: configDeclarations.notaryPort.default as number,
    /** The signer's passphrase alias. */
    signerAlias: "timestamp_1",
    /** Log level of server and signer. */
    logLevel: "warn",
    /** max-age of current metadata, s. */
    currentMetadataMaxAgeSeconds: 300,
    /** max-age of content-addressed metadata, s. */
    consistentMetadataMaxAgeSeconds: 30 * 24 * 3600,
} as const;

/** Ports inside the containers (the official images' EXPOSE). */
export const notaryServerContainerPort = 4443;
/** The signer's gRPC port on Notary's network. */
export const notarySignerContainerPort = 7899;
/** PostgreSQL's port on Notary's network. */
export const postgresContainerPort = 5432;
/** notary-server refuses a cache max-age beyond one year (notary.CacheMaxAgeLimit). */
export const maxNotaryCacheMaxAgeSeconds = 31536000;
/** Levels notary's logger (logrus) accepts. */
export const notaryLogLevels = ["debug", "info", "warn", "error"] as const;

/** Where the config volume is mounted in the server and signer containers. */
export const notaryConfigDir = "/etc/notary";
/** The files of the server's and signer's config volumes. */
export const notaryFiles = {
    /** notary-server's config. */
    serverConfig: "server-config.json",
    /** notary-signer's config. */
    signerConfig: "signer-config.json",
    /** The signer's start script (reads the passphrases from files, then execs notary-signer). */
    signerStart: "start-signer.sh",
    /** CA of every certificate below (server/signer mutual TLS, PostgreSQL). */
    ca: "ca.crt",
    /** Notary server's HTTPS certificate (clients) and key. */
    serverCert: "server.crt",
    /** Its key. */
    serverKey: "server.key",
    /** Notary server's client certificate for the signer (mutual TLS). */
    serverClientCert: "server-client.crt",
    /** Its key. */
    serverClientKey: "server-client.key",
    /** Signer's gRPC certificate and key. */
    signerCert: "signer.crt",
    /** Its key. */
    signerKey: "signer.key",
    /** Client certificates for PostgreSQL (CN = the database role: cert authentication). */
    dbClientCert: "db-client.crt",
    /** Its key. */
    dbClientKey: "db-client.key",
    /** Public key certificate the server verifies tokens with. */
    tokenSigningCert: "token-signing.crt",
} as const;

/** Passphrase file of an alias, in the signer's config volume. */
export function signerPassphraseFile(alias: string): string {
    return `passphrase-${alias}`;
}

const aliasPattern = /^[a-z][a-z0-9_]{0,49}$/;

/**
 * Why a signer passphrase alias cannot be used, or undefined. The signer stores the alias with each
 * key (private_keys.passphrase_alias, varchar(50)) and reads its passphrase from
 * NOTARY_SIGNER_<ALIAS>, so it must make a variable name; DEFAULT_ALIAS is the signer's own setting.
 */
export function signerAliasProblem(alias: string): string | undefined {
    if (!aliasPattern.test(alias)) return "use 1-50 lower-case letters, digits and _, starting with a letter, e.g. timestamp_1";
    if (alias === "default_alias") return "NOTARY_SIGNER_DEFAULT_ALIAS is the signer's default alias setting";
    return undefined;
}

/**
 * The variable notary-signer reads an alias's passphrase from: passphraseRetriever in
 * cmd/notary-signer/config.go asks a fresh viper with env prefix NOTARY_SIGNER for the upper-cased
 * alias, and nothing else (no file, no config key).
 */
export function signerPassphraseEnvVar(alias: string): string {
    return `NOTARY_SIGNER_${alias.toUpperCase().replace(/\./g, "_")}`;
}

/**
 * The signer's start script: it exports each alias's passphrase from its file in the config
 * volume, then replaces itself with notary-signer. The passphrases so reach the signer's process
 * environment only, never the container's configuration (`docker inspect`).
 */
export function renderSignerStartScript(aliases: readonly string[], configDir = notaryConfigDir): string {
    const lines = ["#!/bin/sh", "# Written by private-registry: notary-signer reads passphrases from its environment only.", "set -eu"];
    for (const alias of aliases) {
        const problem = signerAliasProblem(alias);
        if (problem) throw new Error(`signer alias "${alias}": ${problem}`);
        const variable = signerPassphraseEnvVar(alias);
        lines.push(`${variable}="$(cat '${configDir}/${signerPassphraseFile(alias)}')"`, `export ${variable}`);
    }
    lines.push(`exec notary-signer -config='${configDir}/${notaryFiles.signerConfig}'`, "");
    return lines.join("\n");
}

/** A TLS connection to PostgreSQL, authenticated by a client certificate. */
export interface PostgresConnection {
    /** Host name of the database (a SAN of its certificate: sslmode=verify-full). */
    readonly host: string;
    /** Its port. */
    readonly port: number;
    /** The database. */
    readonly database: string;
    /** The role, also the CN of the client certificate. */
    readonly role: string;
    /** The CA the database's certificate is checked against (a path in the connecting container, as the two below). */
    readonly rootCertFile: string;
    /** The client certificate. */
    readonly clientCertFile: string;
    /** Its key (mode 0600 or stricter: lib/pq refuses others). */
    readonly clientKeyFile: string;
}

/**
 * lib/pq's URL for storage.db_url. TLS with verify-full and a client certificate (pg_hba `cert`),
 * no password: the official notary images link lib/pq of 2015, which speaks neither SCRAM-SHA-256
 * (PostgreSQL 16's only default) nor anything but md5, and upstream's own PostgreSQL set-up
 * (notarysql/, fixtures/server-config.postgres.json) authenticates the same way. It also leaves
 * no database password to keep secret. lib/pq refuses a client key readable by group or others.
 */
export function notaryDatabaseUrl(c: PostgresConnection): string {
    const query = new URLSearchParams({ sslmode: "verify-full", sslrootcert: c.rootCertFile, sslcert: c.clientCertFile, sslkey: c.clientKeyFile });
    return `postgres://${encodeURIComponent(c.role)}@${c.host}:${c.port}/${encodeURIComponent(c.database)}?${query.toString().replace(/%2F/g, "/")}`;
}

/** What notary-server's config says. */
export interface NotaryServerConfigOptions {
    /** Listen address in the container. Default: ":4443". */
    readonly httpAddr?: string;
    /** The signer as the server dials it (a SAN of the signer's certificate). */
    readonly signerHost: string;
    /** The signer's port. Default: 7899. */
    readonly signerPort?: number;
    /** HTTPS certificate clients see (paths are in the container, as all below). */
    readonly tlsCertFile: string;
    /** Its key. */
    readonly tlsKeyFile: string;
    /** The CA the signer's certificate must chain to. */
    readonly signerCaFile: string;
    /** The server's client certificate for the signer. */
    readonly signerClientCertFile: string;
    /** Its key. */
    readonly signerClientKeyFile: string;
    /** The database URL ({@link notaryDatabaseUrl}). */
    readonly dbUrl: string;
    /** The token service. */
    readonly auth: NotaryTokenAuth;
    /** GUN prefixes the server accepts (the registry's `host:port/`); others get 400. Default: all. */
    readonly gunPrefixes?: readonly string[];
    /** Log level. Default: "warn". */
    readonly logLevel?: string;
    /** max-age of current metadata, s. Default: 300. */
    readonly currentMetadataMaxAgeSeconds?: number;
    /** max-age of content-addressed metadata, s. Default: 2592000. */
    readonly consistentMetadataMaxAgeSeconds?: number;
}

/** What notary-server checks tokens against. */
export interface NotaryTokenAuth {
    /** The token service's realm URL. */
    readonly realm: string;
    /** Notary's service name (the tokens' audience). */
    readonly service: string;
    /** The tokens' issuer. */
    readonly issuer: string;
    /** The signing certificate's path in the container. */
    readonly rootCertBundle: string;
}

/** notary-server's config JSON. */
export function renderNotaryServerConfig(o: NotaryServerConfigOptions): string {
    return `${JSON.stringify({
        server: { http_addr: o.httpAddr ?? `:${notaryServerContainerPort}`, tls_cert_file: o.tlsCertFile, tls_key_file: o.tlsKeyFile },
        trust_service: {
            // remote: signing keys in notary-signer ("local" keeps ED25519 keys in the server's memory).
            type: "remote",
            hostname: o.signerHost,
            port: String(o.signerPort ?? notarySignerContainerPort),
            // grpcTLS (config.go): the CA the signer's certificate must chain to (exclusively), and the client certificate it checks.
            tls_ca_file: o.signerCaFile,
            tls_client_cert: o.signerClientCertFile,
            tls_client_key: o.signerClientKeyFile,
            key_algorithm: "ecdsa",
        },
        storage: { backend: "postgres", db_url: o.dbUrl },
        // Only "token" makes an access controller (server/server.go Run); anything else serves everyone.
        auth: { type: "token", options: { realm: o.auth.realm, service: o.auth.service, issuer: o.auth.issuer, rootcertbundle: o.auth.rootCertBundle } },
        ...(o.gunPrefixes && o.gunPrefixes.length > 0 ? { repositories: { gun_prefixes: [...o.gunPrefixes] } } : {}),
        logging: { level: o.logLevel ?? notaryDefaults.logLevel },
        caching: {
            max_age: {
                current_metadata: o.currentMetadataMaxAgeSeconds ?? notaryDefaults.currentMetadataMaxAgeSeconds,
                consistent_metadata: o.consistentMetadataMaxAgeSeconds ?? notaryDefaults.consistentMetadataMaxAgeSeconds,
            },
        },
    }, null, 2)}\n`;
}

/** What notary-signer's config says. */
export interface NotarySignerConfigOptions {
    /** gRPC listen address in the container. Default: ":7899". */
    readonly grpcAddr?: string;
    /** The signer's certificate (paths are in the container, as all below). */
    readonly tlsCertFile: string;
    /** Its key. */
    readonly tlsKeyFile: string;
    /** CA client certificates must chain to: setting it makes the signer require one (utils.ParseServerTLS). */
    readonly clientCaFile: string;
    /** The database URL ({@link notaryDatabaseUrl}). */
    readonly dbUrl: string;
    /** Alias new keys are encrypted under. */
    readonly defaultAlias: string;
    /** Log level. Default: "warn". */
    readonly logLevel?: string;
}

/** notary-signer's config JSON; the passphrases are not in it (see {@link renderSignerStartScript}). */
export function renderNotarySignerConfig(o: NotarySignerConfigOptions): string {
    return `${JSON.stringify({
        server: { grpc_addr: o.grpcAddr ?? `:${notarySignerContainerPort}`, tls_cert_file: o.tlsCertFile, tls_key_file: o.tlsKeyFile, client_ca_file: o.clientCaFile },
        storage: { backend: "postgres", db_url: o.dbUrl, default_alias: o.defaultAlias },
        logging: { level: o.logLevel ?? notaryDefaults.logLevel },
    }, null, 2)}\n`;
}

/**
 * The server's tables, as notary 0.7.0's migrations/server/postgresql (0001, 0002) leave them,
 * made idempotent. 0002's copy of existing timestamps into the changefeed is left out: a new
 * database has none, and repeating it would duplicate them.
 */
export const notaryServerSchemaSql = `CREATE TABLE IF NOT EXISTS "tuf_files" (
  "id" serial PRIMARY KEY,
  "created_at" timestamp NULL DEFAULT NULL,
  "updated_at" timestamp NULL DEFAULT NULL,
  "deleted_at" timestamp NULL DEFAULT NULL,
  "gun" varchar(255) NOT NULL,
  "role" varchar(255) NOT NULL,
  "version" integer NOT NULL,
  "data" bytea NOT NULL,
  "sha256" char(64) DEFAULT NULL,
  UNIQUE ("gun", "role", "version")
);
CREATE INDEX IF NOT EXISTS "tuf_files_sha256_idx" ON "tuf_files" ("sha256");
CREATE TABLE IF NOT EXISTS "change_category" (
  "category" varchar(20) PRIMARY KEY
);
INSERT INTO "change_category" VALUES ('update'), ('deletion') ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS "changefeed" (
  "id" serial PRIMARY KEY,
  "created_at" timestamp DEFAULT CURRENT_TIMESTAMP,
  "gun" varchar(255) NOT NULL,
  "version" integer NOT NULL,
  "sha256" char(64) DEFAULT NULL,
  "category" varchar(20) NOT NULL DEFAULT 'update' REFERENCES "change_category"
);
CREATE INDEX IF NOT EXISTS "idx_changefeed_gun" ON "changefeed" ("gun");
`;

/** The signer's table, as migrations/signer/postgresql/0001 makes it, idempotent. */
export const notarySignerSchemaSql = `CREATE TABLE IF NOT EXISTS "private_keys" (
  "id" serial PRIMARY KEY,
  "created_at" timestamp NULL DEFAULT NULL,
  "updated_at" timestamp NULL DEFAULT NULL,
  "deleted_at" timestamp NULL DEFAULT NULL,
  "key_id" varchar(255) NOT NULL,
  "encryption_alg" varchar(255) NOT NULL,
  "keywrap_alg" varchar(255) NOT NULL,
  "algorithm" varchar(50) NOT NULL,
  "passphrase_alias" varchar(50) NOT NULL,
  "public" bytea NOT NULL,
  "private" bytea NOT NULL,
  "gun" varchar(255) NOT NULL,
  "role" varchar(255) NOT NULL,
  "last_used" timestamp NULL DEFAULT NULL,
  CONSTRAINT "key_id" UNIQUE ("key_id"),
  CONSTRAINT "key_id_2" UNIQUE ("key_id", "algorithm")
);
`;

/** One database of the Notary stack: its name, the role that owns it, its schema. */
export interface NotaryDatabase {
    /** The database's name. */
    readonly database: string;
    /** The role that owns it (the CN of the service's client certificate). */
    readonly role: string;
    /** Its tables. */
    readonly schemaSql: string;
}

/** The two databases, each owned by its own role (which is the CN of that service's client certificate). */
export const notaryDatabases: readonly NotaryDatabase[] = [
    { database: "notaryserver", role: "notary_server", schemaSql: notaryServerSchemaSql },
    { database: "notarysigner", role: "notary_signer", schemaSql: notarySignerSchemaSql },
];

const identifierPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A psql script for /docker-entrypoint-initdb.d (run once, as the superuser, on an empty data
 * directory) that is also safe to rerun: each role without a password (it logs in by certificate),
 * its database owned by it and closed to everyone else, and the schema made as that role, so the
 * service owns its tables and can reach nothing more.
 */
export function renderNotaryDatabaseInitSql(databases: readonly NotaryDatabase[] = notaryDatabases): string {
    const lines = ["-- Written by private-registry: the Notary server's and signer's databases.", "\\set ON_ERROR_STOP on"];
    for (const { database, role, schemaSql } of databases) {
        for (const name of [database, role]) {
            if (!identifierPattern.test(name)) throw new Error(`"${name}" is not a plain PostgreSQL identifier`);
        }
        lines.push(
            `SELECT 'CREATE ROLE ${role} LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}')\\gexec`,
            `SELECT 'CREATE DATABASE ${database} OWNER ${role}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${database}')\\gexec`,
            `REVOKE ALL ON DATABASE ${database} FROM PUBLIC;`,
            `\\connect ${database}`,
            `SET ROLE ${role};`,
            schemaSql.trimEnd(),
            "RESET ROLE;",
        );
    }
    return `${lines.join("\n")}\n`;
}

/**
 * pg_hba.conf: the services over TLS with a client certificate (CN = role), each to its own
 * database only; the superuser over the local socket with its password (the official entrypoint's
 * temporary server, psql in the container); everything else refused.
 */
export function renderPostgresHba(databases: readonly NotaryDatabase[] = notaryDatabases): string {
    return [
        "# Written by private-registry: certificate logins over TLS only, each service to its database.",
        "local all all scram-sha-256",
        ...databases.map(({ database, role }) => `hostssl ${database} ${role} all cert`),
        "host all all all reject",
        "",
    ].join("\n");
}

/** postgres arguments (after the image's `postgres`) for TLS with the stack's certificates and the hba file above. */
export function postgresServerArgs(files: { certFile: string; keyFile: string; caFile: string; hbaFile: string }): string[] {
    return [
        "-c", "ssl=on",
        "-c", `ssl_cert_file=${files.certFile}`,
        "-c", `ssl_key_file=${files.keyFile}`,
        "-c", `ssl_ca_file=${files.caFile}`,
        "-c", "ssl_min_protocol_version=TLSv1.2",
        "-c", `hba_file=${files.hbaFile}`,
        "-c", "password_encryption=scram-sha-256",
    ];
}

/** The settings Notary's args are checked against. */
export interface NotaryContext {
    /** Ports the Notary port must not take: the registry's, the token service's, SSH's... */
    readonly takenPorts: { readonly [what: string]: number };
    /** Whether token authentication is on: notary-server can only be guarded by tokens. */
    readonly tokenAuth: boolean;
    /** Images to be pinned by digest, by the field naming them. */
    readonly images: { readonly [field: string]: string };
}

/** Why Docker Content Trust cannot be set up as given, each naming its field and the fix. */
export function notaryArgsProblems(args: RegistryNotaryArgs, context: NotaryContext, field: (f: string) => string): string[] {
    const problems: string[] = [];
    if (!context.tokenAuth) {
        problems.push(`${field("notary")}: notary-server only checks tokens (auth.type token), so without token authentication anyone could write trust data. Fix: set ${field("auth")} to token`);
    }
    const port = args.hostPort ?? notaryDefaults.hostPort;
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
        problems.push(`${field("notaryPort")}: ${port} is outside 1-65535. Fix: use ${notaryDefaults.hostPort}`);
    }
    for (const [what, taken] of Object.entries(context.takenPorts)) {
        if (port === taken) problems.push(`${field("notaryPort")}: ${port} is also the ${what}. Fix: use another port, e.g. ${port === notaryDefaults.hostPort ? port + 1 : notaryDefaults.hostPort}`);
    }
    const alias = args.signerAlias ?? notaryDefaults.signerAlias;
    const aliasProblem = signerAliasProblem(alias);
    if (aliasProblem) problems.push(`${field("notarySignerAlias")}: "${alias}" cannot be used: ${aliasProblem}`);
    const logLevel = args.logLevel ?? notaryDefaults.logLevel;
    if (!(notaryLogLevels as readonly string[]).includes(logLevel)) {
        problems.push(`${field("notaryLogLevel")}: "${logLevel}" is not a level. Fix: use ${notaryLogLevels.join(", ")}`);
    }
    for (const [key, value] of [
        ["notaryCurrentMetadataMaxAgeSeconds", args.currentMetadataMaxAgeSeconds ?? notaryDefaults.currentMetadataMaxAgeSeconds],
        ["notaryConsistentMetadataMaxAgeSeconds", args.consistentMetadataMaxAgeSeconds ?? notaryDefaults.consistentMetadataMaxAgeSeconds],
    ] as const) {
        if (!Number.isInteger(value) || value < 0 || value > maxNotaryCacheMaxAgeSeconds) {
            problems.push(`${field(key)}: ${value} is outside 0-${maxNotaryCacheMaxAgeSeconds}, which notary-server refuses. Fix: use a whole number of seconds, 0 for no caching`);
        }
    }
    for (const [key, image] of Object.entries(context.images)) {
        if (!/@sha256:[0-9a-f]{64}$/.test(image)) {
            problems.push(`${field(key)}: "${image}" is not pinned by digest. Fix: use a reference such as name:tag@sha256:<64 hex digits>`);
        }
    }
    return problems;
}

/** The field of PrivateRegistryArgs a stack key of Docker Content Trust stands for. */
export function notaryArgsField(stackKey: string): string {
    const fields: Record<string, string> = {
        contentTrust: "notary", auth: "tokenAuth", notaryPort: "notary.hostPort", notarySignerAlias: "notary.signerAlias", notaryLogLevel: "notary.logLevel",
        notaryCurrentMetadataMaxAgeSeconds: "notary.currentMetadataMaxAgeSeconds", notaryConsistentMetadataMaxAgeSeconds: "notary.consistentMetadataMaxAgeSeconds",
        notaryServerImage: "notary.serverImage", notarySignerImage: "notary.signerImage", postgresImage: "notary.postgresImage",
    };
    return fields[stackKey] ?? stackKey;
}

/** The registry settings Notary's port is checked against. */
export interface NotaryRegistrySettings {
    /** The registry port. */
    readonly port: number;
    /** The SSH port the firewall leaves open. */
    readonly sshPort: number;
    /** Where metrics are published; empty for nowhere. */
    readonly metricsBindAddress: string;
    /** The metrics port. */
    readonly metricsPort: number;
}

/**
 * {@link notaryArgsProblems} for a registry's settings; none without Notary. `field` takes the
 * stack's key names ("contentTrust" for Notary itself); `tokenPort` is the token service's port.
 */
export function registryNotaryProblems(notary: RegistryNotaryArgs | undefined, tokenPort: number | undefined, s: NotaryRegistrySettings,
    field: (stackKey: string) => string): string[] {
    if (notary === undefined) return [];
    return notaryArgsProblems(notary, {
        takenPorts: {
            "registry port": s.port, "SSH port": s.sshPort,
            ...(tokenPort !== undefined ? { "token service port": tokenPort } : {}),
            ...(s.metricsBindAddress !== "" ? { "metrics port": s.metricsPort } : {}),
        },
        tokenAuth: tokenPort !== undefined,
        images: {
            notaryServerImage: notary.serverImage ?? notaryDefaults.serverImage,
            notarySignerImage: notary.signerImage ?? notaryDefaults.signerImage,
            postgresImage: notary.postgresImage ?? notaryDefaults.postgresImage,
        },
    }, (f) => field(f === "notary" ? "contentTrust" : f));
}
