/** A complete set of service files in a temporary folder: keys, htpasswd, access rules, settings. */
import { hashSync } from "bcryptjs";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KeyPair, makeCa, makeLeaf } from "./pki";

export const PASSWORDS = { alice: "alice-Pa55:word", carol: "carol-pw", root: "root-pw" } as const;

export const ACCESS_YAML = `
users: [alice, carol, root]
groups:
  team: [alice]
  readers: [carol]
  admins: [root]
adminGroup: admins
rules:
  - groups: [team]
    repositories: ["team/**"]
    actions: [pull, push]
  - groups: [readers]
    repositories: ["team/**"]
    actions: [pull]
  - groups: [admins]
    repositories: ["**"]
    actions: ["*"]
  - users: [anonymous]
    repositories: ["public/*"]
    actions: [pull]
`;

export function htpasswdFor(users: readonly (keyof typeof PASSWORDS)[]): string {
    return users.map((user) => `${user}:${hashSync(PASSWORDS[user], 4).replace(/^\$2b/, () => "$2y")}\n`).join("");
}

export interface Fixture {
    dir: string;
    /** CA of the TLS certificates (token service and registry). */
    tlsCa: KeyPair;
    tls: KeyPair;
    /** CA of the token signing certificate, and that certificate (CA-signed, so x5c has a chain to check). */
    signingCa: KeyPair;
    signing: KeyPair;
    htpasswdFile: string;
    accessFile: string;
    settingsFile: string;
}

export function makeFixture(settings: { port: number; keyHeader?: string; services?: string[]; issuer?: string }): Fixture {
    const dir = mkdtempSync(join(tmpdir(), "token-service-"));
    const tlsCa = makeCa(dir, "tls-ca");
    const tls = makeLeaf(dir, "tls", tlsCa);
    const signingCa = makeCa(dir, "signing-ca");
    const signing = makeLeaf(dir, "signing", signingCa, "sec1");
    const htpasswdFile = join(dir, "htpasswd");
    const accessFile = join(dir, "access.yaml");
    const settingsFile = join(dir, "settings.yaml");
    writeFileSync(htpasswdFile, htpasswdFor(["alice", "carol", "root"]));
    writeFileSync(accessFile, ACCESS_YAML);
    writeFileSync(settingsFile, JSON.stringify({
        host: "127.0.0.1",
        port: settings.port,
        tlsCert: "tls.crt",
        tlsKey: "tls.key",
        signingKey: "signing.key",
        signingCert: "signing.crt",
        keyHeader: settings.keyHeader ?? "kid",
        issuer: settings.issuer ?? "test-issuer",
        services: settings.services ?? ["test-registry"],
        htpasswdFile: "htpasswd",
        accessFile: "access.yaml",
    }));
    return { dir, tlsCa, tls, signingCa, signing, htpasswdFile, accessFile, settingsFile };
}
