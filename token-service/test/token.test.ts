import { execFileSync } from "node:child_process";
import { createPublicKey, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { base32, buildClaims, libtrustKeyId, loadSigningKey, signToken, tokenResponse } from "../src/token";
import { KeyPair, makeCa, makeLeaf, makeSelfSigned } from "./support/pki";

// The EC public key of libtrust-py's test fixtures (tests/fixtures/ec-public.pem) and the key ID its
// test expects; `openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | head -c 30 | base32`
// gives the same characters.
const LIBTRUST_FIXTURE_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE4pBqYlc5IU5pJh5AOvijtEccStyJ
u0dSAiz4OlDGGFk5PvSlSh+wqUcSyp1ZRSP5kX7Pluof72g5MniaoFrLKg==
-----END PUBLIC KEY-----
`;
const LIBTRUST_FIXTURE_KID = "UEV2:PPF2:4DMU:WZYF:WOWU:677P:B7XU:SGFA:BMUG:NCTC:R7CL:XFKZ";

describe("libtrustKeyId", () => {
    it("matches libtrust's key ID of a known key", () => {
        expect(libtrustKeyId(createPublicKey(LIBTRUST_FIXTURE_KEY))).toBe(LIBTRUST_FIXTURE_KID);
    });

    it("encodes base32 as RFC 4648 does", () => {
        // RFC 4648 section 10 test vectors, padding removed.
        const cases: [string, string][] = [["f", "MY"], ["fo", "MZXQ"], ["foo", "MZXW6"], ["foob", "MZXW6YQ"], ["fooba", "MZXW6YTB"], ["foobar", "MZXW6YTBOI"]];
        for (const [input, expected] of cases) expect(base32(Buffer.from(input))).toBe(expected);
    });
});

describe("signing keys and tokens", () => {
    let dir: string;
    let ca: KeyPair;
    let leaf: KeyPair;
    let selfSigned: KeyPair;
    beforeAll(() => {
        dir = mkdtempSync(join(tmpdir(), "token-unit-"));
        ca = makeCa(dir, "token-ca");
        leaf = makeLeaf(dir, "signer", ca, "sec1");
        selfSigned = makeSelfSigned(dir, "self");
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const read = (path: string) => readFileSync(path, "utf8");

    it("loads SEC1 and PKCS#8 keys, and a chain for x5c", () => {
        const key = loadSigningKey(read(leaf.key), read(leaf.cert) + read(ca.cert), "both");
        expect(key.kid).toBe(libtrustKeyId(new X509Certificate(read(leaf.cert)).publicKey));
        expect(key.x5c).toEqual([new X509Certificate(read(leaf.cert)).raw.toString("base64"), new X509Certificate(read(ca.cert)).raw.toString("base64")]);
        expect(loadSigningKey(read(selfSigned.key), read(selfSigned.cert), "kid").kid).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    });

    it("refuses a certificate of another key, a file without certificates, and non-P-256 keys", () => {
        expect(() => loadSigningKey(read(leaf.key), read(selfSigned.cert), "kid")).toThrow(/not for the signing key/);
        expect(() => loadSigningKey(read(leaf.key), "", "kid")).toThrow(/holds no PEM certificate/);
        const p384 = join(dir, "p384.key");
        execFileSync("openssl", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", p384]);
        expect(() => loadSigningKey(read(p384), read(leaf.cert), "kid")).toThrow(/EC P-256/);
    });

    it("builds the claims distribution 2.8 checks: one-string aud, exp/nbf/iat, random jti", () => {
        const access = [{ type: "repository", name: "team/app", actions: ["pull"] }];
        const claims = buildClaims({ issuer: "iss", subject: "alice", service: "registry", access, lifetimeSeconds: 300, now: 1000 });
        expect(claims).toEqual({ iss: "iss", sub: "alice", aud: "registry", exp: 1300, nbf: 1000, iat: 1000, jti: claims.jti, access });
        expect(claims.jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
        expect(buildClaims({ issuer: "iss", subject: undefined, service: "r", access: [], lifetimeSeconds: 1, now: 0 }).jti).not.toBe(claims.jti);
        expect(buildClaims({ issuer: "iss", subject: undefined, service: "r", access: [], lifetimeSeconds: 1, now: 0 }).sub).toBe("");
    });

    it.each([
        ["kid", true, false],
        ["x5c", false, true],
        ["both", true, true],
    ] as const)("signs ES256 with the %s header", async (header, hasKid, hasX5c) => {
        const key = loadSigningKey(read(leaf.key), read(leaf.cert), header);
        const now = Math.floor(Date.now() / 1000);
        const claims = buildClaims({ issuer: "iss", subject: "alice", service: "registry", access: [], lifetimeSeconds: 300, now });
        const token = await signToken(claims, key);
        const protectedHeader = decodeProtectedHeader(token);
        expect(protectedHeader.alg).toBe("ES256");
        expect(protectedHeader.typ).toBe("JWT");
        expect(protectedHeader.kid).toBe(hasKid ? key.kid : undefined);
        expect(protectedHeader.x5c).toEqual(hasX5c ? key.x5c : undefined);
        const { payload } = await jwtVerify(token, new X509Certificate(read(leaf.cert)).publicKey, { issuer: "iss", audience: "registry" });
        expect(payload).toEqual(claims);
        await expect(jwtVerify(token, new X509Certificate(read(selfSigned.cert)).publicKey)).rejects.toThrow(/signature verification failed/);
    });

    it("answers with token, access_token, expires_in and an RFC 3339 issued_at", () => {
        const claims = buildClaims({ issuer: "i", subject: "a", service: "s", access: [], lifetimeSeconds: 300, now: 1700000000 });
        expect(tokenResponse("t.o.k", claims)).toEqual({ token: "t.o.k", access_token: "t.o.k", expires_in: 300, issued_at: "2023-11-14T22:13:20Z" });
    });
});
