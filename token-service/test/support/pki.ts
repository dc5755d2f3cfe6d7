/** Test keys and certificates, made with the openssl CLI (EC P-256, valid for a day). */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface KeyPair {
    key: string;
    cert: string;
}

function openssl(...args: string[]): void {
    execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

/** A private key in `format`: SEC1 ("EC PRIVATE KEY", as `openssl ecparam -genkey` writes) or PKCS#8. */
export function makeKey(path: string, format: "sec1" | "pkcs8" = "pkcs8"): string {
    if (format === "sec1") openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", path);
    else openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path);
    return path;
}

export function makeCa(dir: string, name: string): KeyPair {
    const key = makeKey(join(dir, `${name}.key`));
    const cert = join(dir, `${name}.crt`);
    openssl("req", "-x509", "-new", "-key", key, "-subj", `/CN=${name}`, "-days", "1", "-out", cert,
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    return { key, cert };
}

/** A certificate signed by `ca`, for a TLS server on 127.0.0.1 or for signing tokens. */
export function makeLeaf(dir: string, name: string, ca: KeyPair, keyFormat: "sec1" | "pkcs8" = "pkcs8"): KeyPair {
    const key = makeKey(join(dir, `${name}.key`), keyFormat);
    const csr = join(dir, `${name}.csr`);
    const ext = join(dir, `${name}.ext`);
    const cert = join(dir, `${name}.crt`);
    writeFileSync(ext, "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n");
    openssl("req", "-new", "-key", key, "-subj", `/CN=${name}`, "-out", csr);
    openssl("x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key, "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", cert);
    return { key, cert };
}

/** A self-signed certificate for a key, as a rootcertbundle entry for `kid` tokens. */
export function makeSelfSigned(dir: string, name: string, keyFormat: "sec1" | "pkcs8" = "pkcs8"): KeyPair {
    const key = makeKey(join(dir, `${name}.key`), keyFormat);
    const cert = join(dir, `${name}.crt`);
    openssl("req", "-x509", "-new", "-key", key, "-subj", `/CN=${name}`, "-days", "1", "-out", cert);
    return { key, cert };
}
