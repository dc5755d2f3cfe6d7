import * as crypto from "crypto";
import { upstreamCaDirName } from "./pullThroughCache";
import { storageCaDirName } from "./s3Storage";
import { registryDataDir } from "./registryConfig";

/** Where the init container mounts the config volume; the registry mounts it at registryConfigDir. */
export const initConfigMount = "/config";

/** The contents of the four files the registry reads from its config volume. */
export interface RegistryFileContents {
    /** config.yml. */
    readonly configYaml: string;
    /** The htpasswd file. */
    readonly htpasswd: string;
    /** The server certificate (PEM). */
    readonly certificatePem: string;
    /** The server's private key (PEM). */
    readonly keyPem: string;
    /** PEM of the CA a pull-through cache's upstream is signed by. Default: none. */
    readonly upstreamCaPem?: string;
    /** PEM of the CA the S3 endpoint's certificate is signed by. Default: none. */
    readonly storageCaPem?: string;
    /** PEM of the token signing certificate, with token authentication. Default: none. */
    readonly tokenSigningCertPem?: string;
}

/** One file uploaded into the init container (the docker provider's `uploads` entry). */
export interface UploadSpec {
    /** Path inside the container. */
    file: string;
    /** The file's contents. */
    content: string;
    /** Octal mode, e.g. "0400". */
    permissions: string;
    /** Numeric owner. */
    owner: string;
    /** Numeric group. */
    group: string;
}

/**
 * The files the init container writes into the config volume, owned by the registry's user.
 * Secrets are 0400; only the certificate is readable by others.
 */
export function registryUploads(files: RegistryFileContents, uid: number, gid: number): UploadSpec[] {
    const upload = (name: string, content: string, permissions: string): UploadSpec => configUpload(name, content, permissions, uid, gid);
    return [
        upload("config.yml", files.configYaml, "0400"),
        upload("htpasswd", files.htpasswd, "0400"),
        upload("server.crt", files.certificatePem, "0444"),
        upload("server.key", files.keyPem, "0400"),
        // A directory of its own: SSL_CERT_DIR reads every file in it as a trusted CA.
        ...(files.upstreamCaPem ? [upload(`${upstreamCaDirName}/ca.crt`, files.upstreamCaPem, "0444")] : []),
        ...(files.storageCaPem ? [upload(`${storageCaDirName}/ca.crt`, files.storageCaPem, "0444")] : []),
        ...(files.tokenSigningCertPem ? [upload("token-signing.crt", files.tokenSigningCertPem, "0444")] : []),
    ];
}

/** One file for the config volume, owned by the numeric uid:gid the service runs as. */
export function configUpload(name: string, content: string, permissions: string, uid: number, gid: number): UploadSpec {
    return { file: `${initConfigMount}/${name}`, content, permissions, owner: String(uid), group: String(gid) };
}

/** Identifies a set of registry files; a new digest replaces the registry container so it reads them. */
export function registryFilesDigest(files: RegistryFileContents): string {
    const hash = crypto.createHash("sha256");
    // The CAs only count when present, so registries without one keep their digest.
    const parts = [files.configYaml, files.htpasswd, files.certificatePem, files.keyPem,
        ...(files.upstreamCaPem ? [files.upstreamCaPem] : []), ...(files.storageCaPem ? [`storage:${files.storageCaPem}`] : []),
        ...(files.tokenSigningCertPem ? [`token:${files.tokenSigningCertPem}`] : [])];
    for (const part of parts) {
        hash.update(String(part.length)).update(":").update(part);
    }
    return hash.digest("hex");
}

/**
 * Runs once as root before the registry starts: a fresh docker volume's root is owned by root,
 * and data from an older registry that ran as root may be too, but the registry runs unprivileged.
 * The volume must not stay empty: Docker copies the image's /var/lib/registry (owner included)
 * onto an empty volume each time a container mounts it, which would hand it back to root.
 * Only busybox applets that the official (Alpine) image has are used.
 */
export function renderInitScript(uid: number, gid: number): string {
    return [
        "set -eu",
        `mkdir -p ${registryDataDir}/docker`,
        `if [ "$(stat -c %u:%g ${registryDataDir}/docker)" != "${uid}:${gid}" ]; then chown -R ${uid}:${gid} ${registryDataDir}; fi`,
        `chown ${uid}:${gid} ${registryDataDir}`,
        renderConfigDirInitScript(uid, gid),
    ].join("\n");
}

/** Hands the config volume (its files arrive as uploads) to the service's user, readable by it alone. */
export function renderConfigDirInitScript(uid: number, gid: number): string {
    return [
        `chown ${uid}:${gid} ${initConfigMount}`,
        `chmod 0500 ${initConfigMount}`,
    ].join("\n");
}
