/** Token claims, the signing key and its identifiers, as distribution 2.8's token verifier reads them. */
import { createHash, createPrivateKey, createPublicKey, KeyObject, randomBytes, X509Certificate } from "node:crypto";
import { SignJWT } from "jose";
import { ResourceActions } from "./scope";

/** How the token names its signing key: distribution tries `x5c` first, then `kid`. */
export type KeyHeader = "kid" | "x5c" | "both";
export const KEY_HEADERS: readonly KeyHeader[] = ["kid", "x5c", "both"];

export interface ClaimSet {
    iss: string;
    sub: string;
    /** One string: distribution 2.8 decodes `aud` into a string and rejects an array. */
    aud: string;
    exp: number;
    nbf: number;
    iat: number;
    jti: string;
    access: ResourceActions[];
}

export interface SigningKey {
    privateKey: KeyObject;
    /** libtrust key ID of the public key: the registry looks it up among its rootcertbundle's keys. */
    kid: string;
    /** base64 DER certificates, signing certificate first. */
    x5c: string[];
    header: KeyHeader;
    /** Expiry of the signing certificate, which the registry checks for `x5c`. */
    notAfter: Date;
}

/**
 * libtrust's key ID: SHA-256 of the DER SubjectPublicKeyInfo, its first 240 bits in base32, in 12
 * groups of 4 characters separated by colons.
 */
export function libtrustKeyId(publicKey: KeyObject): string {
    const digest = createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest();
    return (base32(digest.subarray(0, 30)).match(/.{4}/g) ?? []).join(":");
}

/** RFC 4648 base32 without padding (30 bytes encode to exactly 48 characters). */
export function base32(bytes: Uint8Array): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let bits = 0;
    let value = 0;
    let out = "";
    for (const byte of bytes) {
        value = (value << 8) | byte;
        bits += 8;
        while (bits >= 5) {
            out += alphabet[(value >>> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
    return out;
}

/** Splits a PEM bundle into certificates, in file order. */
export function parseCertificates(pem: string): X509Certificate[] {
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return blocks.map((block) => new X509Certificate(block));
}

/**
 * Loads the ES256 signing key and its certificate (optionally followed by intermediates), and
 * checks that they belong together: a mismatch would only show as rejected tokens at the registry.
 */
export function loadSigningKey(keyPem: string, certPem: string, header: KeyHeader): SigningKey {
    const privateKey = createPrivateKey(keyPem);
    if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
        throw new Error("the signing key must be an EC P-256 (prime256v1) private key, for ES256");
    }
    const certificates = parseCertificates(certPem);
    if (certificates.length === 0) throw new Error("the signing certificate file holds no PEM certificate");
    const publicKey = createPublicKey(privateKey);
    if (!certificates[0].publicKey.equals(publicKey)) {
        throw new Error("the first certificate of the signing certificate file is not for the signing key");
    }
    return {
        privateKey,
        kid: libtrustKeyId(publicKey),
        x5c: certificates.map((certificate) => certificate.raw.toString("base64")),
        header,
        notAfter: new Date(certificates[0].validTo),
    };
}

export interface ClaimInput {
    issuer: string;
    /** Authenticated user; undefined for anonymous requests (empty `sub`, as distribution's own auth servers do). */
    subject: string | undefined;
    service: string;
    access: ResourceActions[];
    lifetimeSeconds: number;
    /** Seconds since the epoch. */
    now: number;
    jti?: string;
}

export function buildClaims(input: ClaimInput): ClaimSet {
    return {
        iss: input.issuer,
        sub: input.subject ?? "",
        aud: input.service,
        exp: input.now + input.lifetimeSeconds,
        nbf: input.now,
        iat: input.now,
        jti: input.jti ?? randomBytes(16).toString("base64url"),
        access: input.access,
    };
}

export function keyHeaderFields(key: SigningKey): { kid?: string; x5c?: string[] } {
    return {
        ...(key.header !== "x5c" ? { kid: key.kid } : {}),
        ...(key.header !== "kid" ? { x5c: key.x5c } : {}),
    };
}

export async function signToken(claims: ClaimSet, key: SigningKey): Promise<string> {
    const payload: Record<string, unknown> = { ...claims };
    return new SignJWT(payload)
        .setProtectedHeader({ alg: "ES256", typ: "JWT", ...keyHeaderFields(key) })
        .sign(key.privateKey);
}

/** The token endpoint's answer; `token` and `access_token` carry the same token, for old and OAuth2 clients. */
export function tokenResponse(token: string, claims: ClaimSet): Record<string, string | number> {
    return {
        token,
        access_token: token,
        expires_in: claims.exp - claims.iat,
        issued_at: new Date(claims.iat * 1000).toISOString().replace(/\.\d{3}Z$/, "Z"),
    };
}
