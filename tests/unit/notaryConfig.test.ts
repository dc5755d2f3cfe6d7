/**
 * Docker Content Trust's files: notary-server's and notary-signer's config (notary 0.7.0's keys),
 * the signer's start script (passphrases from files), the PostgreSQL schema, init script and
 * pg_hba.conf, and the checks on the args.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    notaryArgsProblems, NotaryContext, notaryDatabases, notaryDatabaseUrl, notaryDefaults, notaryServerSchemaSql, notarySignerSchemaSql,
    postgresServerArgs, renderNotaryDatabaseInitSql, renderNotaryServerConfig, renderNotarySignerConfig, renderPostgresHba, renderSignerStartScript,
    signerAliasProblem, signerPassphraseEnvVar, signerPassphraseFile,
} from "../../components/notaryConfig";

const dbUrl = notaryDatabaseUrl({
    host: "notary-db", port: 5432, database: "notaryserver", role: "notary_server",
    rootCertFile: "/etc/notary/ca.crt", clientCertFile: "/etc/notary/db-client.crt", clientKeyFile: "/etc/notary/db-client.key",
});

const serverOptions = {
    signerHost: "notary-signer",
    tlsCertFile: "/etc/notary/server.crt",
    tlsKeyFile: "/etc/notary/server.key",
    signerCaFile: "/etc/notary/ca.crt",
    signerClientCertFile: "/etc/notary/server-client.crt",
    signerClientKeyFile: "/etc/notary/server-client.key",
    dbUrl,
    auth: { realm: "https://reg.example.com:5002/token", service: "notary.reg.example.com", issuer: "private-registry-token-service", rootCertBundle: "/etc/notary/token-signing.crt" },
};

describe("notary-server's config", () => {
    it("has every key notary 0.7.0 reads, with the signer over mutual TLS, PostgreSQL and token auth", () => {
        expect(JSON.parse(renderNotaryServerConfig(serverOptions))).toEqual({
            server: { http_addr: ":4443", tls_cert_file: "/etc/notary/server.crt", tls_key_file: "/etc/notary/server.key" },
            trust_service: {
                type: "remote", hostname: "notary-signer", port: "7899", key_algorithm: "ecdsa",
                tls_ca_file: "/etc/notary/ca.crt", tls_client_cert: "/etc/notary/server-client.crt", tls_client_key: "/etc/notary/server-client.key",
            },
            storage: { backend: "postgres", db_url: dbUrl },
            auth: { type: "token", options: { realm: "https://reg.example.com:5002/token", service: "notary.reg.example.com", issuer: "private-registry-token-service", rootcertbundle: "/etc/notary/token-signing.crt" } },
            logging: { level: "warn" },
            caching: { max_age: { current_metadata: 300, consistent_metadata: 2592000 } },
        });
    });

    it("restricts GUNs to the registry's prefixes when given, and takes the other settings", () => {
        const config = JSON.parse(renderNotaryServerConfig({
            ...serverOptions, gunPrefixes: ["reg.example.com:5000/"], httpAddr: "127.0.0.1:14443", signerPort: 17899, logLevel: "debug",
            currentMetadataMaxAgeSeconds: 0, consistentMetadataMaxAgeSeconds: 60,
        })) as Record<string, Record<string, unknown>>;
        expect(config.repositories).toEqual({ gun_prefixes: ["reg.example.com:5000/"] });
        expect(config.server.http_addr).toBe("127.0.0.1:14443");
        expect(config.trust_service.port).toBe("17899");
        expect(config.logging.level).toBe("debug");
        expect(config.caching).toEqual({ max_age: { current_metadata: 0, consistent_metadata: 60 } });
        expect(JSON.parse(renderNotaryServerConfig({ ...serverOptions, gunPrefixes: [] })).repositories).toBeUndefined();
    });
});

describe("notary-signer's config", () => {
    it("requires client certificates from the CA, stores keys in PostgreSQL under the default alias, and holds no passphrase", () => {
        const text = renderNotarySignerConfig({
            tlsCertFile: "/etc/notary/signer.crt", tlsKeyFile: "/etc/notary/signer.key", clientCaFile: "/etc/notary/ca.crt", dbUrl, defaultAlias: "timestamp_1",
        });
        expect(JSON.parse(text)).toEqual({
            server: { grpc_addr: ":7899", tls_cert_file: "/etc/notary/signer.crt", tls_key_file: "/etc/notary/signer.key", client_ca_file: "/etc/notary/ca.crt" },
            storage: { backend: "postgres", db_url: dbUrl, default_alias: "timestamp_1" },
            logging: { level: "warn" },
        });
        expect(text).not.toMatch(/passphrase/i);
    });
});

describe("the database URL", () => {
    it("asks lib/pq for verify-full TLS and a client certificate, without a password", () => {
        const url = new URL(dbUrl);
        expect(url.protocol).toBe("postgres:");
        expect([url.username, url.password, url.hostname, url.port, url.pathname]).toEqual(["notary_server", "", "notary-db", "5432", "/notaryserver"]);
        expect(Object.fromEntries(url.searchParams)).toEqual({
            sslmode: "verify-full", sslrootcert: "/etc/notary/ca.crt", sslcert: "/etc/notary/db-client.crt", sslkey: "/etc/notary/db-client.key",
        });
    });
});

describe("the signer's passphrase", () => {
    it("is read from NOTARY_SIGNER_<ALIAS>", () => {
        expect(signerPassphraseEnvVar("timestamp_1")).toBe("NOTARY_SIGNER_TIMESTAMP_1");
        expect(signerPassphraseFile("timestamp_1")).toBe("passphrase-timestamp_1");
    });

    it.each(["", "1key", "Key", "key-1", "a".repeat(51), "default_alias", "x y", "a;rm"])("refuses the alias %j", (alias) => {
        expect(signerAliasProblem(alias)).toBeDefined();
    });

    it.each(["timestamp_1", "k", "a".repeat(50)])("accepts the alias %j", (alias) => {
        expect(signerAliasProblem(alias)).toBeUndefined();
    });

    it("reaches notary-signer through the start script, from files, for each alias", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "notary-start-"));
        try {
            fs.writeFileSync(path.join(dir, signerPassphraseFile("timestamp_1")), "first pass 'phrase' $HOME\n");
            fs.writeFileSync(path.join(dir, signerPassphraseFile("old_2")), "second");
            // A stand-in notary-signer that prints what it was given.
            fs.mkdirSync(path.join(dir, "bin"));
            fs.writeFileSync(path.join(dir, "bin", "notary-signer"), '#!/bin/sh\nprintf "%s|%s|%s" "$NOTARY_SIGNER_TIMESTAMP_1" "$NOTARY_SIGNER_OLD_2" "$*"\n', { mode: 0o755 });
            fs.writeFileSync(path.join(dir, "start.sh"), renderSignerStartScript(["timestamp_1", "old_2"], dir));
            const out = execFileSync("/bin/sh", [path.join(dir, "start.sh")], { env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin` }, encoding: "utf8" });
            expect(out).toBe(`first pass 'phrase' $HOME|second|-config=${dir}/signer-config.json`);
            fs.rmSync(path.join(dir, signerPassphraseFile("old_2")));
            expect(() => execFileSync("/bin/sh", [path.join(dir, "start.sh")], { env: { PATH: `${path.join(dir, "bin")}:/usr/bin:/bin` }, stdio: "pipe" })).toThrow();
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses to render a script for an alias that is no variable name", () => {
        expect(() => renderSignerStartScript(["ok", "$(id)"])).toThrow(/signer alias "\$\(id\)"/);
    });
});

describe("the schema", () => {
    const statements = (sql: string) => sql.split(";").map((s) => s.trim()).filter((s) => s !== "");

    it("has the server's tables and columns as notary's migrations leave them", () => {
        expect(notaryServerSchemaSql).toMatch(/CREATE TABLE IF NOT EXISTS "tuf_files" \([^;]*"gun" varchar\(255\) NOT NULL,[^;]*"data" bytea NOT NULL,[^;]*"sha256" char\(64\)[^;]*UNIQUE \("gun", "role", "version"\)/);
        expect(notaryServerSchemaSql).toContain(`INSERT INTO "change_category" VALUES ('update'), ('deletion') ON CONFLICT DO NOTHING`);
        expect(notaryServerSchemaSql).toMatch(/"category" varchar\(20\) NOT NULL DEFAULT 'update' REFERENCES "change_category"/);
        expect(notarySignerSchemaSql).toMatch(/"passphrase_alias" varchar\(50\) NOT NULL,[^;]*"private" bytea NOT NULL,[^;]*CONSTRAINT "key_id_2" UNIQUE \("key_id", "algorithm"\)/);
    });

    it("is safe to run again: every statement creates only what is missing", () => {
        for (const statement of [...statements(notaryServerSchemaSql), ...statements(notarySignerSchemaSql)]) {
            expect(statement).toMatch(/^CREATE (TABLE|INDEX) IF NOT EXISTS |^INSERT INTO .* ON CONFLICT DO NOTHING$/s);
        }
    });

    it("makes each database owned by its own role, closed to others, with the tables made as that role", () => {
        const sql = renderNotaryDatabaseInitSql();
        expect(notaryDatabases.map((d) => [d.database, d.role])).toEqual([["notaryserver", "notary_server"], ["notarysigner", "notary_signer"]]);
        for (const { database, role } of notaryDatabases) {
            const part = sql.slice(sql.indexOf(`CREATE ROLE ${role}`), sql.indexOf("RESET ROLE;", sql.indexOf(`CREATE ROLE ${role}`)));
            expect(part).toContain(`'CREATE DATABASE ${database} OWNER ${role}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '${database}')\\gexec`);
            expect(part).toContain(`REVOKE ALL ON DATABASE ${database} FROM PUBLIC;\n\\connect ${database}\nSET ROLE ${role};\nCREATE TABLE IF NOT EXISTS`);
        }
        expect(sql).not.toMatch(/PASSWORD/i);
        expect(() => renderNotaryDatabaseInitSql([{ database: "x; DROP", role: "r", schemaSql: "" }])).toThrow(/not a plain PostgreSQL identifier/);
    });

    it("lets each service in by certificate over TLS to its database only, and refuses the rest", () => {
        expect(renderPostgresHba().split("\n").filter((l) => l && !l.startsWith("#"))).toEqual([
            "local all all scram-sha-256",
            "hostssl notaryserver notary_server all cert",
            "hostssl notarysigner notary_signer all cert",
            "host all all all reject",
        ]);
        expect(postgresServerArgs({ certFile: "/c/s.crt", keyFile: "/c/s.key", caFile: "/c/ca.crt", hbaFile: "/c/pg_hba.conf" })).toEqual([
            "-c", "ssl=on", "-c", "ssl_cert_file=/c/s.crt", "-c", "ssl_key_file=/c/s.key", "-c", "ssl_ca_file=/c/ca.crt",
            "-c", "ssl_min_protocol_version=TLSv1.2", "-c", "hba_file=/c/pg_hba.conf", "-c", "password_encryption=scram-sha-256",
        ]);
    });
});

describe("notaryArgsProblems", () => {
    const pinned = "notary:server-0.7.0@sha256:" + "a".repeat(64);
    const context: NotaryContext = { takenPorts: { "registry port": 5000, "token service port": 5002 }, tokenAuth: true, images: { notaryServerImage: pinned } };
    const field = (f: string) => f;

    it("accepts the defaults", () => {
        expect(notaryArgsProblems({}, context, field)).toEqual([]);
        expect(notaryDefaults.hostPort).toBe(4443);
    });

    it("names every problem with its field and the fix", () => {
        expect(notaryArgsProblems(
            { hostPort: 5002, signerAlias: "Bad-Alias", logLevel: "verbose", currentMetadataMaxAgeSeconds: -1, consistentMetadataMaxAgeSeconds: 31536001 },
            { ...context, tokenAuth: false, images: { notaryServerImage: "notary:server-0.7.0" } },
            field,
        )).toEqual([
            "notary: notary-server only checks tokens (auth.type token), so without token authentication anyone could write trust data. Fix: set auth to token",
            "notaryPort: 5002 is also the token service port. Fix: use another port, e.g. 4443",
            `notarySignerAlias: "Bad-Alias" cannot be used: use 1-50 lower-case letters, digits and _, starting with a letter, e.g. timestamp_1`,
            `notaryLogLevel: "verbose" is not a level. Fix: use debug, info, warn, error`,
            "notaryCurrentMetadataMaxAgeSeconds: -1 is outside 0-31536000, which notary-server refuses. Fix: use a whole number of seconds, 0 for no caching",
            "notaryConsistentMetadataMaxAgeSeconds: 31536001 is outside 0-31536000, which notary-server refuses. Fix: use a whole number of seconds, 0 for no caching",
            `notaryServerImage: "notary:server-0.7.0" is not pinned by digest. Fix: use a reference such as name:tag@sha256:<64 hex digits>`,
        ]);
        expect(notaryArgsProblems({ hostPort: 70000 }, context, field)).toEqual(["notaryPort: 70000 is outside 1-65535. Fix: use 4443"]);
    });
});
