// Makes a JWT for the e2e suites with jose (ESM only, so a process of its own):
//   echo '{"header": {...}, "claims": {...}, "keyPem": "<PEM>"}' | node jwt.mjs
// Without keyPem the token is unsecured (alg: none).
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { SignJWT, UnsecuredJWT } from "jose";

const spec = JSON.parse(readFileSync(0, "utf8"));
const token = spec.keyPem
    ? await new SignJWT(spec.claims).setProtectedHeader(spec.header).sign(createPrivateKey(spec.keyPem))
    : new UnsecuredJWT(spec.claims).encode();
process.stdout.write(token);
