import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { componentDependencies } from "./componentDependencies";
import { configUpload } from "./serverFiles";
import { hardenedServiceSettings, healthcheckTiming, serviceConfigVolume } from "./serviceContainer";
import {
    RegistryAccessRulesArgs, renderTokenAccessFile, renderTokenServiceSettings, tokenAuthDefaults, tokenRealm, tokenServiceContainerPort, tokenServiceFiles,
} from "./tokenAuth";

/** Arguments of {@link RegistryTokenService}. */
export interface RegistryTokenServiceArgs {
    /** Name of the token service container; its init container and config volume are named after it. Required. */
    readonly containerName: string;
    /** Hostname clients reach the token service by (a SAN of the server certificate): the realm's host. Required. */
    readonly hostname: string;
    /** The registry's auth.token.service: tokens are issued for it only. Required. */
    readonly service: string;
    /** The registry's users; they are the users the access rules may name. Required. */
    readonly users: string[];
    /** Who may do what. Required. */
    readonly accessRules: RegistryAccessRulesArgs;
    /** The htpasswd file (bcrypt) logins are checked against. Required. */
    readonly htpasswd: pulumi.Input<string>;
    /** PEM of the TLS certificate the service presents (the registry's server certificate serves). Required. */
    readonly tlsCertPem: pulumi.Input<string>;
    /** PEM of its key. Required. */
    readonly tlsKeyPem: pulumi.Input<string>;
    /** PEM of the ECDSA P-256 key tokens are signed with. Required. */
    readonly signingKeyPem: pulumi.Input<string>;
    /** PEM of the signing key's certificate. Required. */
    readonly signingCertPem: pulumi.Input<string>;
    /** Host port the service is published on. Default: 5002. */
    readonly hostPort?: number;
    /** Host address the port is published on. Default: "0.0.0.0". */
    readonly bindAddress?: string;
    /** Lifetime of the tokens, in seconds. Default: 300. */
    readonly tokenLifetimeSeconds?: number;
    /** Base image of the Dockerfile (NODE_IMAGE), pinned by digest. Default: node:22-alpine@sha256:…, as in Pulumi.yaml. */
    readonly nodeImage?: string;
    /** Directory holding the token service's Dockerfile and sources. Default: the token-service folder of this package. */
    readonly buildContext?: string;
    /** Issue tokens for a Notary server too: its service name, and the registry's GUN prefixes ("host:port/"). Default: none. */
    readonly notary?: RegistryTokenServiceNotaryArgs;
}

/** The Notary server a token service issues tokens for. */
export interface RegistryTokenServiceNotaryArgs {
    /** Notary's service name in tokens (not the registry's). Required. */
    readonly service: string;
    /** The registry's names as GUN prefixes, each "host:port/". Required. */
    readonly gunPrefixes: string[];
}

/** The token service's sources, shipped with this package. */
export const tokenServiceSourceDir = path.resolve(__dirname, "..", "token-service");

/** Where the config volume is mounted in the token service container. */
export const tokenServiceConfigDir = "/etc/token-service";

/** Numeric user and group of the official node image's `node` user, which the image runs as. */
const nodeUid = 1000;
const nodeGid = 1000;

/** What goes into the image: a change to any of these rebuilds it. */
const buildInputs = ["Dockerfile", ".dockerignore", "package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json"];

/**
 * Identifies the sources the image is built from (the build inputs and every file under src/),
 * so the image is rebuilt, and the service replaced, when and only when they change.
 */
export function tokenServiceSourceDigest(dir: string): string {
    const hash = crypto.createHash("sha256");
    const walk = (relative: string): string[] => fs.readdirSync(path.join(dir, relative), { withFileTypes: true })
        .flatMap((entry) => entry.isDirectory() ? walk(path.join(relative, entry.name)) : [path.join(relative, entry.name)]);
    const files = [...buildInputs.filter((f) => fs.existsSync(path.join(dir, f))), ...walk("src")].sort();
    for (const file of files) {
        const content = fs.readFileSync(path.join(dir, file));
        hash.update(`${file}\0${content.length}\0`).update(content);
    }
    return hash.digest("hex");
}

/**
 * The token service: built from the Dockerfile in this package, run like the registry (non-root,
 * read-only root filesystem, no capabilities), its files in a config volume filled by an init
 * container, served over TLS on its own port. New files (users, rules, keys) replace the container.
 */
export class RegistryTokenService extends pulumi.ComponentResource {
    /** The URL clients fetch tokens from (the registry's auth.token.realm). */
    public readonly realm: pulumi.Output<string>;
    /** Name of the token service container. */
    public readonly containerName: pulumi.Output<string>;

    constructor(name: string, args: RegistryTokenServiceArgs, opts?: pulumi.ComponentResourceOptions) {
        super("private-registry:index:RegistryTokenService", name, {}, opts);
        const port = args.hostPort ?? tokenAuthDefaults.hostPort;
        const context = args.buildContext ?? tokenServiceSourceDir;
        const sourceDigest = tokenServiceSourceDigest(context);
        const nodeImage = args.nodeImage ?? tokenAuthDefaults.nodeImage;

        const image = new docker.RemoteImage(`${name}-image`, {
            name: `private-registry-token-service:${sourceDigest.substring(0, 16)}`,
            build: { context, dockerfile: "Dockerfile", buildArgs: { NODE_IMAGE: nodeImage } },
            triggers: { sourceSha256: sourceDigest, nodeImage },
            keepLocally: true,
        }, { parent: this });

        const settings = renderTokenServiceSettings({
            service: args.service, tokenLifetimeSeconds: args.tokenLifetimeSeconds ?? tokenAuthDefaults.tokenLifetimeSeconds, notary: args.notary,
        });
        const access = renderTokenAccessFile(args.accessRules, args.users);
        const uploads = pulumi.all([args.htpasswd, args.tlsCertPem, args.tlsKeyPem, args.signingKeyPem, args.signingCertPem])
            .apply(([htpasswd, tlsCert, tlsKey, signingKey, signingCert]) => [
                [tokenServiceFiles.settings, settings, "0400"],
                [tokenServiceFiles.access, access, "0400"],
                [tokenServiceFiles.htpasswd, htpasswd, "0400"],
                [tokenServiceFiles.tlsCert, tlsCert, "0444"],
                [tokenServiceFiles.tlsKey, tlsKey, "0400"],
                [tokenServiceFiles.signingKey, signingKey, "0400"],
                [tokenServiceFiles.signingCert, signingCert, "0444"],
            ].map(([file, content, mode]) => configUpload(file, content, mode, nodeUid, nodeGid)));
        const config = serviceConfigVolume(name, this, { containerName: args.containerName, role: "token-service-config", imageId: image.imageId, uploads, uid: nodeUid, gid: nodeGid });
        const settingsPath = `${tokenServiceConfigDir}/${tokenServiceFiles.settings}`;

        const container = new docker.Container(`${name}-container`, {
            name: args.containerName,
            image: image.imageId,
            entrypoints: ["node", "/app/dist/main.js"],
            command: [settingsPath],
            user: `${nodeUid}:${nodeGid}`,
            ...hardenedServiceSettings,
            ports: [{ internal: tokenServiceContainerPort, external: port, ip: args.bindAddress ?? "0.0.0.0", protocol: "tcp" }],
            volumes: [{ volumeName: config.volume.name, containerPath: tokenServiceConfigDir, readOnly: true }],
            tmpfs: { "/tmp": "rw,noexec,nosuid,size=16m" },
            restart: "always",
            healthcheck: { tests: ["CMD", "node", "/app/dist/healthcheck.js", settingsPath], ...healthcheckTiming },
            // Node's heap for a few hundred logins a second; bcrypt runs in its thread pool.
            memory: 256,
            memorySwap: 256,
            labels: [config.digestLabel],
            mustRun: true,
        }, { parent: this, deleteBeforeReplace: true, dependsOn: [config.init, ...componentDependencies("RegistryTokenService", opts)] });

        this.realm = pulumi.output(tokenRealm(args.hostname, port));
        this.containerName = container.name;
        this.registerOutputs({ realm: this.realm, containerName: this.containerName });
    }
}
