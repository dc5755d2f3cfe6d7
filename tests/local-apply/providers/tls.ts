/**
 * tls:index/privateKey:PrivateKey, selfSignedCert, locallySignedCert, certRequest, following
 * terraform-provider-tls: real keys and certificates (x509 via @peculiar/x509 over WebCrypto),
 * basicConstraints on every certificate, an automatic subject key id on CA certificates,
 * authority key id from the issuer's, and readyForRenewal that replaces the certificate once
 * now >= validityEnd - earlyRenewalHours.
 */
import "reflect-metadata";
import * as crypto from "crypto";
import * as net from "net";
import * as x509 from "@peculiar/x509";
import type { OpContext, Props, ResourceHandler, ResourceRecord } from "../types";
import type { Schema } from "../schema";
import { isUnknown } from "../schema";
import { generateKey, keyAlgorithmOf, keyOutputs, signingKey } from "./tls-keys";

x509.cryptoProvider.set(crypto.webcrypto as unknown as Crypto);

const F = { forceNew: true } as const;
const subjectSchema: Schema = {
  commonName: F,
  organization: F,
  organizationalUnit: F,
  streetAddresses: F,
  locality: F,
  province: F,
  country: F,
  postalCode: F,
  serialNumber: F,
};

const KEY_USAGES: Record<string, number> = {
  digital_signature: x509.KeyUsageFlags.digitalSignature,
  content_commitment: x509.KeyUsageFlags.nonRepudiation,
  key_encipherment: x509.KeyUsageFlags.keyEncipherment,
  data_encipherment: x509.KeyUsageFlags.dataEncipherment,
  key_agreement: x509.KeyUsageFlags.keyAgreement,
  cert_signing: x509.KeyUsageFlags.keyCertSign,
  crl_signing: x509.KeyUsageFlags.cRLSign,
  encipher_only: x509.KeyUsageFlags.encipherOnly,
  decipher_only: x509.KeyUsageFlags.decipherOnly,
};
const EXT_KEY_USAGES: Record<string, string> = {
  any_extended: "2.5.29.37.0",
  server_auth: "1.3.6.1.5.5.7.3.1",
  client_auth: "1.3.6.1.5.5.7.3.2",
  code_signing: "1.3.6.1.5.5.7.3.3",
  email_protection: "1.3.6.1.5.5.7.3.4",
  ipsec_end_system: "1.3.6.1.5.5.7.3.5",
  ipsec_tunnel: "1.3.6.1.5.5.7.3.6",
  ipsec_user: "1.3.6.1.5.5.7.3.7",
  timestamping: "1.3.6.1.5.5.7.3.8",
  ocsp_signing: "1.3.6.1.5.5.7.3.9",
  microsoft_server_gated_crypto: "1.3.6.1.4.1.311.10.3.3",
  netscape_server_gated_crypto: "2.16.840.1.113730.4.1",
  microsoft_commercial_code_signing: "1.3.6.1.4.1.311.2.1.22",
  microsoft_kernel_code_signing: "1.3.6.1.4.1.311.61.1.1",
};

function checkAllowedUses(type: string, uses: unknown): void {
  if (uses === undefined || isUnknown(uses)) return;
  for (const u of uses as string[]) {
    if (isUnknown(u)) continue;
    if (!(u in KEY_USAGES) && !(u in EXT_KEY_USAGES)) {
      throw new Error(`${type}: allowedUses: unknown usage '${u}' (known: ${[...Object.keys(KEY_USAGES), ...Object.keys(EXT_KEY_USAGES)].join(", ")})`);
    }
  }
}

/** pkix.Name in Go's order: C, ST, L, STREET, PC, O, OU, CN, SERIALNUMBER. */
function subjectName(subject: Props | undefined): x509.Name {
  const s = subject ?? {};
  const rdns: Record<string, string[]>[] = [];
  const add = (oid: string, v: unknown) => {
    const vals = (Array.isArray(v) ? v : v === undefined || v === "" ? [] : [v]) as string[];
    for (const x of vals) rdns.push({ [oid]: [x] });
  };
  add("2.5.4.6", s.country);
  add("2.5.4.8", s.province);
  add("2.5.4.7", s.locality);
  add("2.5.4.9", s.streetAddresses);
  add("2.5.4.17", s.postalCode);
  add("2.5.4.10", s.organization);
  add("2.5.4.11", s.organizationalUnit);
  add("2.5.4.3", s.commonName);
  add("2.5.4.5", s.serialNumber);
  return new x509.Name(rdns);
}

function sanEntries(dnsNames: unknown, ipAddresses: unknown, uris: unknown): x509.JsonGeneralName[] {
  const out: x509.JsonGeneralName[] = [];
  for (const d of (dnsNames as string[] | undefined) ?? []) out.push({ type: "dns", value: d });
  for (const ip of (ipAddresses as string[] | undefined) ?? []) {
    if (!net.isIP(ip)) throw new Error(`Invalid IP address: Failed to parse "${ip}"`);
    out.push({ type: "ip", value: ip });
  }
  for (const u of (uris as string[] | undefined) ?? []) out.push({ type: "url", value: u });
  return out;
}

function goTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function serialHex(): { hex: string; decimal: string } {
  const b = crypto.randomBytes(16);
  b[0] &= 0x7f;
  const hex = b.toString("hex");
  return { hex, decimal: BigInt(`0x${hex}`).toString(10) };
}

function toPem(cert: { toString(format: "pem"): string }): string {
  return cert.toString("pem").replace(/\r\n/g, "\n").trimEnd() + "\n";
}

interface IssueParams {
  subject: x509.Name;
  issuer: x509.Name;
  publicKey: CryptoKey;
  signing: Awaited<ReturnType<typeof signingKey>>;
  issuerSki?: string;
  sans: x509.JsonGeneralName[];
  inputs: Props;
  selfSigned: boolean;
}

async function issue(ctx: OpContext, p: IssueParams): Promise<Props & { id: string }> {
  const { inputs } = p;
  // Issued at the real time (so clients accept it); LOCAL_APPLY_NOW only moves the renewal check.
  void ctx;
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  const notAfter = new Date(notBefore.getTime() + Number(inputs.validityPeriodHours) * 3600e3);
  const serial = serialHex();
  const isCA = inputs.isCaCertificate === true;
  if (isCA && p.subject.toString() === "") {
    throw new Error("Invalid Certificate Subject: Must contain at least one Distinguished Name when creating Certificate Authority (CA)");
  }
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(isCA, undefined, true)];
  let ku = 0;
  const eku: string[] = [];
  for (const u of (inputs.allowedUses as string[] | undefined) ?? []) {
    if (u in KEY_USAGES) ku |= KEY_USAGES[u];
    if (u in EXT_KEY_USAGES) eku.push(EXT_KEY_USAGES[u]);
  }
  if (ku) extensions.push(new x509.KeyUsagesExtension(ku, true));
  if (eku.length) extensions.push(new x509.ExtendedKeyUsageExtension(eku, false));
  if (p.sans.length) extensions.push(new x509.SubjectAlternativeNameExtension(p.sans, p.subject.toString() === ""));
  let ski: string | undefined;
  if (isCA || inputs.setSubjectKeyId === true) {
    ski = (await x509.SubjectKeyIdentifierExtension.create(p.publicKey)).keyId;
    extensions.push(new x509.SubjectKeyIdentifierExtension(ski));
  }
  // Go sets the authority key id from the issuer's subject key id (not for self-signed ones,
  // where the provider does it on set_authority_key_id).
  const issuerSki = p.selfSigned ? ski : p.issuerSki;
  if ((!p.selfSigned && issuerSki) || inputs.setAuthorityKeyId === true) {
    if (!issuerSki) throw new Error("Invalid Certificate Authority: Could not determine Authority Key Identifier");
    extensions.push(new x509.AuthorityKeyIdentifierExtension(issuerSki));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial.hex,
    subject: p.subject,
    issuer: p.issuer,
    notBefore,
    notAfter,
    publicKey: p.publicKey,
    signingKey: p.signing.privateKey,
    signingAlgorithm: p.signing.signingAlgorithm,
    extensions,
  });
  return {
    id: serial.decimal,
    certPem: toPem(cert),
    validityStartTime: goTime(notBefore),
    validityEndTime: goTime(notAfter),
    readyForRenewal: false,
  };
}

function renewalReason(ctx: OpContext, rec: ResourceRecord): string | undefined {
  const end = Date.parse(rec.outputs.validityEndTime as string);
  if (Number.isNaN(end)) return undefined;
  const early = Number((rec.inputs.earlyRenewalHours as number | undefined) ?? 0) * 3600e3;
  return ctx.now().getTime() >= end - early ? "readyForRenewal" : undefined;
}

/** What a self-signed certificate and a certificate request both name: key, subject and SANs. */
const requestSchema: Schema = {
  privateKeyPem: F,
  subject: { forceNew: true, object: subjectSchema },
  dnsNames: F,
  ipAddresses: F,
  uris: F,
};

const certCommon: Schema = {
  validityPeriodHours: F,
  earlyRenewalHours: { default: 0 },
  isCaCertificate: { forceNew: true, default: false },
  setSubjectKeyId: { forceNew: true, default: false },
  allowedUses: F,
};

function updateRenewal(_ctx: OpContext, _id: string, _olds: Props, news: Props, oldOutputs: Props): Promise<Props> {
  return Promise.resolve({ ...oldOutputs, ...news, readyForRenewal: false });
}

export const privateKey: ResourceHandler = {
  type: "tls:index/privateKey:PrivateKey",
  schema: { algorithm: F, rsaBits: { forceNew: true, default: 2048 }, ecdsaCurve: { forceNew: true, default: "P224" } },
  create(_ctx, inputs) {
    const key = generateKey(
      inputs.algorithm as string,
      (inputs.rsaBits as number | undefined) ?? 2048,
      (inputs.ecdsaCurve as string | undefined) ?? "P224",
    );
    const outs = keyOutputs(key);
    const id = crypto.createHash("sha1").update(outs.publicKeyPem).digest("hex");
    return Promise.resolve({
      id,
      outputs: { ...inputs, ...outs },
      secretOutputs: ["privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"],
    });
  },
  async delete() {},
};

export const selfSignedCert: ResourceHandler = {
  type: "tls:index/selfSignedCert:SelfSignedCert",
  schema: {
    ...requestSchema,
    setAuthorityKeyId: { forceNew: true, default: false },
    ...certCommon,
  },
  validate: (inputs) => checkAllowedUses("tls:index/selfSignedCert:SelfSignedCert", inputs.allowedUses),
  async create(ctx, inputs) {
    const signing = await signingKey(inputs.privateKeyPem as string);
    const name = subjectName(inputs.subject as Props | undefined);
    const c = await issue(ctx, {
      subject: name,
      issuer: name,
      publicKey: signing.publicKey,
      signing,
      sans: sanEntries(inputs.dnsNames, inputs.ipAddresses, inputs.uris),
      inputs,
      selfSigned: true,
    });
    const { id, ...outs } = c;
    return { id, outputs: { ...inputs, ...outs, keyAlgorithm: signing.algorithm } };
  },
  update: updateRenewal,
  async delete() {},
  replaceReason: renewalReason,
};

export const certRequest: ResourceHandler = {
  type: "tls:index/certRequest:CertRequest",
  schema: {
    ...requestSchema,
  },
  async create(_ctx, inputs) {
    const signing = await signingKey(inputs.privateKeyPem as string);
    const sans = sanEntries(inputs.dnsNames, inputs.ipAddresses, inputs.uris);
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: subjectName(inputs.subject as Props | undefined),
      keys: { privateKey: signing.privateKey, publicKey: signing.publicKey },
      signingAlgorithm: signing.signingAlgorithm,
      extensions: sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : [],
    });
    const pem = toPem(csr);
    const id = crypto.createHash("sha1").update(pem).digest("hex");
    return { id, outputs: { ...inputs, certRequestPem: pem, keyAlgorithm: signing.algorithm } };
  },
  async delete() {},
};

export const locallySignedCert: ResourceHandler = {
  type: "tls:index/locallySignedCert:LocallySignedCert",
  schema: {
    certRequestPem: F,
    caPrivateKeyPem: F,
    caCertPem: F,
    setAuthorityKeyId: { forceNew: true, default: false },
    ...certCommon,
  },
  validate: (inputs) => checkAllowedUses("tls:index/locallySignedCert:LocallySignedCert", inputs.allowedUses),
  async create(ctx, inputs) {
    const csr = new x509.Pkcs10CertificateRequest(inputs.certRequestPem as string);
    if (!(await csr.verify())) throw new Error("certRequestPem: the request's signature does not verify");
    const ca = new x509.X509Certificate(inputs.caCertPem as string);
    const signing = await signingKey(inputs.caPrivateKeyPem as string);
    // The CA key must belong to the CA certificate.
    const caPub = crypto.createPublicKey(inputs.caPrivateKeyPem as string).export({ type: "spki", format: "der" });
    if (!Buffer.from(ca.publicKey.rawData).equals(caPub)) {
      throw new Error("caPrivateKeyPem does not belong to caCertPem (their public keys differ)");
    }
    const rawSki = ca.extensions.find((e) => e.type === "2.5.29.14");
    const caSki = rawSki ? new x509.SubjectKeyIdentifierExtension(rawSki.rawData).keyId : undefined;
    const rawSan = csr.extensions.find((e) => e.type === "2.5.29.17");
    const sans = rawSan ? new x509.SubjectAlternativeNameExtension(rawSan.rawData).names.toJSON() : [];
    const c = await issue(ctx, {
      subject: new x509.Name(csr.subject),
      issuer: new x509.Name(ca.subject),
      publicKey: await csr.publicKey.export(),
      signing,
      issuerSki: caSki,
      sans,
      inputs,
      selfSigned: false,
    });
    const { id, ...outs } = c;
    return { id, outputs: { ...inputs, ...outs, caKeyAlgorithm: keyAlgorithmOf(crypto.createPrivateKey(inputs.caPrivateKeyPem as string)) } };
  },
  update: updateRenewal,
  async delete() {},
  replaceReason: renewalReason,
};
