import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { defaultRegistrySettings } from "./validation";

/** Arguments of {@link RegistryTls}. */
export interface RegistryTlsArgs {
    /** DNS names clients reach the registry by; all go into the server certificate's SANs (Go ignores the CN). */
    readonly dnsNames: string[];
    /** IP addresses clients reach the registry by; all go into the SANs. Default: []. */
    readonly ipAddresses?: string[];
    /** Key algorithm of the CA and server keys: "ECDSA" (P-256) or "RSA". Default: "ECDSA". */
    readonly keyAlgorithm?: string;
    /** RSA key size, used when keyAlgorithm is "RSA". Default: 4096. */
    readonly rsaBits?: number;
    /** Validity of the server certificate, in days. Default: 365. */
    readonly validityDays?: number;
    /** The server certificate is renewed on the first `pulumi up` this many days before it expires. Default: 30. */
    readonly earlyRenewalDays?: number;
    /** Validity of the CA certificate, in days; renewing the CA means every client must fetch the new ca.crt. Default: 3650. */
    readonly caValidityDays?: number;
    /** Generation of the CA; raising it creates a new CA key and certificate (a rotation). Default: 1. */
    readonly caGeneration?: number;
    /** Organization written into both certificates' subjects. Default: "private-registry". */
    readonly organization?: string;
    /** Also make a token signing key (ECDSA P-256) and its certificate, signed by the CA and renewed like the server certificate. Default: false. */
    readonly tokenSigning?: boolean;
}

/** A private CA and the registry's server certificate, signed by it. */
export class RegistryTls extends pulumi.ComponentResource {
    /** PEM of the CA certificate; clients install it as /etc/docker/certs.d/<host>:<port>/ca.crt. */
    public readonly caCertPem: pulumi.Output<string>;
    /** PEM of the server certificate. */
    public readonly serverCertPem: pulumi.Output<string>;
    /** PEM of the server's private key (secret). */
    public readonly serverKeyPem: pulumi.Output<string>;
    /** PEM of the token signing certificate (the registry's rootcertbundle); empty without tokenSigning. */
    public readonly tokenSigningCertPem: pulumi.Output<string>;
    /** PEM of the token signing key (secret); empty without tokenSigning. */
    public readonly tokenSigningKeyPem: pulumi.Output<string>;

    constructor(name: string, args: RegistryTlsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("private-registry:index:RegistryTls", name, {}, opts);
        const keyAlgorithm = args.keyAlgorithm ?? defaultRegistrySettings.tlsKeyAlgorithm;
        const keyArgs: tls.PrivateKeyArgs = keyAlgorithm === "RSA"
            ? { algorithm: "RSA", rsaBits: args.rsaBits ?? defaultRegistrySettings.tlsRsaBits }
            : { algorithm: "ECDSA", ecdsaCurve: "P256" };
        const organization = args.organization ?? "private-registry";
        const hours = (days: number) => days * 24;

        // tls.PrivateKey has no input a generation could change, so a new generation is a new
        // resource (and the old key is deleted); generation 1 keeps the name stacks already have.
        const caGeneration = args.caGeneration ?? defaultRegistrySettings.caGeneration;
        const caKeyName = caGeneration === 1 ? `${name}-ca-key` : `${name}-ca-key-gen${caGeneration}`;
        const caKey = new tls.PrivateKey(caKeyName, keyArgs, { parent: this });
        const caCert = new tls.SelfSignedCert(`${name}-ca-cert`, {
            privateKeyPem: caKey.privateKeyPem,
            isCaCertificate: true,
            subject: { commonName: `${organization} CA`, organization },
            validityPeriodHours: hours(args.caValidityDays ?? defaultRegistrySettings.caValidityDays),
            allowedUses: ["cert_signing", "crl_signing", "digital_signature"],
            setSubjectKeyId: true,
        }, { parent: this });

        const serverKey = new tls.PrivateKey(`${name}-server-key`, keyArgs, { parent: this });
        const csr = new tls.CertRequest(`${name}-server-csr`, {
            privateKeyPem: serverKey.privateKeyPem,
            subject: { commonName: args.dnsNames[0], organization },
            dnsNames: args.dnsNames,
            ipAddresses: args.ipAddresses ?? defaultRegistrySettings.ipAddresses,
        }, { parent: this });
        const serverCert = new tls.LocallySignedCert(`${name}-server-cert`, {
            certRequestPem: csr.certRequestPem,
            caPrivateKeyPem: caKey.privateKeyPem,
            caCertPem: caCert.certPem,
            validityPeriodHours: hours(args.validityDays ?? defaultRegistrySettings.certValidityDays),
            earlyRenewalHours: hours(args.earlyRenewalDays ?? defaultRegistrySettings.certEarlyRenewalDays),
            allowedUses: keyAlgorithm === "RSA"
                ? ["digital_signature", "key_encipherment", "server_auth"]
                : ["digital_signature", "server_auth"],
        }, { parent: this });

        // ES256 whatever the CA's algorithm: the token service signs with P-256 only.
        const signingKey = args.tokenSigning
            ? new tls.PrivateKey(`${name}-token-signing-key`, { algorithm: "ECDSA", ecdsaCurve: "P256" }, { parent: this })
            : undefined;
        const signingCert = signingKey
            ? new tls.LocallySignedCert(`${name}-token-signing-cert`, {
                certRequestPem: new tls.CertRequest(`${name}-token-signing-csr`, {
                    privateKeyPem: signingKey.privateKeyPem,
                    subject: { commonName: `${organization} token signing`, organization },
                }, { parent: this }).certRequestPem,
                caPrivateKeyPem: caKey.privateKeyPem,
                caCertPem: caCert.certPem,
                validityPeriodHours: hours(args.validityDays ?? defaultRegistrySettings.certValidityDays),
                earlyRenewalHours: hours(args.earlyRenewalDays ?? defaultRegistrySettings.certEarlyRenewalDays),
                allowedUses: ["digital_signature"],
            }, { parent: this })
            : undefined;
        this.caCertPem = caCert.certPem;
        this.serverCertPem = serverCert.certPem;
        this.serverKeyPem = pulumi.secret(serverKey.privateKeyPem);
        this.tokenSigningCertPem = signingCert ? signingCert.certPem : pulumi.output("");
        this.tokenSigningKeyPem = pulumi.secret(signingKey ? signingKey.privateKeyPem : pulumi.output(""));
        this.registerOutputs({
            caCertPem: this.caCertPem, serverCertPem: this.serverCertPem, serverKeyPem: this.serverKeyPem,
            tokenSigningCertPem: this.tokenSigningCertPem, tokenSigningKeyPem: this.tokenSigningKeyPem,
        });
    }
}
