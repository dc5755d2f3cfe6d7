/**
 * Key material formatted as the tls provider formats it: RSA private keys as PKCS#1
 * ("RSA PRIVATE KEY"), ECDSA as SEC1 ("EC PRIVATE KEY"), ED25519 as PKCS#8; PKIX public
 * keys; OpenSSH public keys and fingerprints; OpenSSH private keys.
 */
import * as crypto from "crypto";

const CURVES: Record<string, { node: string; ssh?: string; webcrypto?: string; hash: string }> = {
  P224: { node: "secp224r1", hash: "SHA-256" },
  P256: { node: "prime256v1", ssh: "nistp256", webcrypto: "P-256", hash: "SHA-256" },
  P384: { node: "secp384r1", ssh: "nistp384", webcrypto: "P-384", hash: "SHA-384" },
  P521: { node: "secp521r1", ssh: "nistp521", webcrypto: "P-521", hash: "SHA-512" },
};

export interface KeyOutputs {
  privateKeyPem: string;
  privateKeyPemPkcs8: string;
  privateKeyOpenssh: string;
  publicKeyPem: string;
  publicKeyOpenssh: string;
  publicKeyFingerprintMd5: string;
  publicKeyFingerprintSha256: string;
}

export function generateKey(algorithm: string, rsaBits: number, ecdsaCurve: string): crypto.KeyObject {
  switch (algorithm) {
    case "RSA":
      return crypto.generateKeyPairSync("rsa", { modulusLength: rsaBits }).privateKey;
    case "ECDSA": {
      const c = CURVES[ecdsaCurve];
      if (!c) throw new Error(`tls:index/privateKey:PrivateKey: invalid ecdsaCurve '${ecdsaCurve}' (P224, P256, P384, P521)`);
      return crypto.generateKeyPairSync("ec", { namedCurve: c.node }).privateKey;
    }
    case "ED25519":
      return crypto.generateKeyPairSync("ed25519").privateKey;
    default:
      throw new Error(`tls:index/privateKey:PrivateKey: invalid algorithm '${algorithm}' (RSA, ECDSA, ED25519)`);
  }
}

export function keyAlgorithmOf(key: crypto.KeyObject): "RSA" | "ECDSA" | "ED25519" {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return "RSA";
    case "ec":
      return "ECDSA";
    case "ed25519":
      return "ED25519";
    default:
      throw new Error(`unsupported key type ${String(key.asymmetricKeyType)}`);
  }
}

function curveName(key: crypto.KeyObject): string {
  const nc = key.asymmetricKeyDetails?.namedCurve;
  const entry = Object.entries(CURVES).find(([, c]) => c.node === nc);
  if (!entry) throw new Error(`unsupported curve ${String(nc)}`);
  return entry[0];
}

function sshString(b: Buffer | string): Buffer {
  const buf = typeof b === "string" ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(buf.length);
  return Buffer.concat([len, buf]);
}

function sshMpint(b64url: string): Buffer {
  let b = Buffer.from(b64url, "base64url");
  while (b.length > 1 && b[0] === 0) b = b.subarray(1);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return sshString(b);
}

function sshPublicWire(key: crypto.KeyObject): Buffer | undefined {
  const jwk = crypto.createPublicKey(key).export({ format: "jwk" });
  switch (key.asymmetricKeyType) {
    case "rsa":
      return Buffer.concat([sshString("ssh-rsa"), sshMpint(jwk.e!), sshMpint(jwk.n!)]);
    case "ec": {
      const ssh = CURVES[curveName(key)].ssh;
      if (!ssh) return undefined; // OpenSSH has no P-224
      const q = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
      return Buffer.concat([sshString(`ecdsa-sha2-${ssh}`), sshString(ssh), sshString(q)]);
    }
    case "ed25519":
      return Buffer.concat([sshString("ssh-ed25519"), sshString(Buffer.from(jwk.x!, "base64url"))]);
    default:
      return undefined;
  }
}

function opensshPrivate(key: crypto.KeyObject, pubWire: Buffer): string {
  const jwk = key.export({ format: "jwk" });
  let body: Buffer;
  switch (key.asymmetricKeyType) {
    case "rsa":
      body = Buffer.concat([
        sshString("ssh-rsa"),
        sshMpint(jwk.n!),
        sshMpint(jwk.e!),
        sshMpint(jwk.d!),
        sshMpint(jwk.qi!),
        sshMpint(jwk.p!),
        sshMpint(jwk.q!),
      ]);
      break;
    case "ec": {
      const ssh = CURVES[curveName(key)].ssh!;
      const q = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
      body = Buffer.concat([sshString(`ecdsa-sha2-${ssh}`), sshString(ssh), sshString(q), sshMpint(jwk.d!)]);
      break;
    }
    default: {
      const pub = Buffer.from(jwk.x!, "base64url");
      const seed = Buffer.from(jwk.d!, "base64url");
      body = Buffer.concat([sshString("ssh-ed25519"), sshString(pub), sshString(Buffer.concat([seed, pub]))]);
    }
  }
  const check = crypto.randomBytes(4);
  let priv = Buffer.concat([check, check, body, sshString("")]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const count = Buffer.alloc(4);
  count.writeUInt32BE(1);
  const blob = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    count,
    sshString(pubWire),
    sshString(priv),
  ]);
  const b64 = blob.toString("base64").replace(/(.{70})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

export function keyOutputs(key: crypto.KeyObject): KeyOutputs {
  const pub = crypto.createPublicKey(key);
  const type = key.asymmetricKeyType;
  const privateKeyPem =
    type === "rsa"
      ? (key.export({ type: "pkcs1", format: "pem" }) as string)
      : type === "ec"
        ? (key.export({ type: "sec1", format: "pem" }) as string)
        : (key.export({ type: "pkcs8", format: "pem" }) as string);
  const wire = sshPublicWire(key);
  const publicKeyOpenssh = wire ? `${wire.subarray(4, 4 + wire.readUInt32BE(0)).toString()} ${wire.toString("base64")}\n` : "";
  return {
    privateKeyPem,
    privateKeyPemPkcs8: key.export({ type: "pkcs8", format: "pem" }) as string,
    privateKeyOpenssh: wire ? opensshPrivate(key, wire) : "",
    publicKeyPem: pub.export({ type: "spki", format: "pem" }) as string,
    publicKeyOpenssh,
    publicKeyFingerprintMd5: wire
      ? crypto
          .createHash("md5")
          .update(wire)
          .digest("hex")
          .replace(/(..)(?!$)/g, "$1:")
      : "",
    publicKeyFingerprintSha256: wire
      ? `SHA256:${crypto.createHash("sha256").update(wire).digest("base64").replace(/=+$/, "")}`
      : "",
  };
}

/** A WebCrypto signing key and algorithm for @peculiar/x509, from a PEM private key. */
export async function signingKey(pem: string): Promise<{
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  algorithm: "RSA" | "ECDSA" | "ED25519";
  signingAlgorithm: Algorithm | EcdsaParams | RsaHashedImportParams;
}> {
  const key = crypto.createPrivateKey(pem);
  const algorithm = keyAlgorithmOf(key);
  let importAlg: RsaHashedImportParams | EcKeyImportParams | Algorithm;
  let signingAlgorithm: Algorithm | EcdsaParams | RsaHashedImportParams;
  if (algorithm === "RSA") {
    importAlg = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    signingAlgorithm = importAlg;
  } else if (algorithm === "ECDSA") {
    const c = CURVES[curveName(key)];
    if (!c.webcrypto) {
      throw new Error("signing with an ECDSA P224 key is not implemented by the local apply harness (WebCrypto has no P-224)");
    }
    importAlg = { name: "ECDSA", namedCurve: c.webcrypto };
    signingAlgorithm = { name: "ECDSA", hash: c.hash };
  } else {
    importAlg = { name: "Ed25519" };
    signingAlgorithm = { name: "Ed25519" };
  }
  const subtle = crypto.webcrypto.subtle as unknown as SubtleCrypto;
  const der = key.export({ type: "pkcs8", format: "der" });
  const privateKey = await subtle.importKey("pkcs8", der, importAlg, true, ["sign"]);
  const spki = crypto.createPublicKey(key).export({ type: "spki", format: "der" });
  const publicKey = await subtle.importKey("spki", spki, importAlg, true, ["verify"]);
  return { privateKey, publicKey, algorithm, signingAlgorithm };
}
