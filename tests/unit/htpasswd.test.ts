import * as bcrypt from "bcryptjs";
import { deterministicBcryptHash, htpasswdLine, renderHtpasswd } from "../../components/htpasswd";

const salt = Buffer.alloc(16, 7).toString("base64");

describe("deterministicBcryptHash", () => {
    it("verifies against the password with a standard bcrypt check", () => {
        const hash = deterministicBcryptHash("s3cret-password", salt, 5);
        expect(bcrypt.compareSync("s3cret-password", hash)).toBe(true);
        expect(bcrypt.compareSync("wrong", hash)).toBe(false);
    });

    it("is the same for the same inputs and different for another salt", () => {
        const again = deterministicBcryptHash("pw", salt, 4);
        expect(deterministicBcryptHash("pw", salt, 4)).toBe(again);
        expect(deterministicBcryptHash("pw", Buffer.alloc(16, 8).toString("base64"), 4)).not.toBe(again);
    });

    it("writes the cost into the hash", () => {
        expect(deterministicBcryptHash("pw", salt, 4)).toMatch(/^\$2b\$04\$/);
        expect(deterministicBcryptHash("pw", salt, 12)).toMatch(/^\$2b\$12\$/);
    });

    it("rejects costs Go's bcrypt would reject and salts of the wrong size", () => {
        expect(() => deterministicBcryptHash("pw", salt, 3)).toThrow(/cost/);
        expect(() => deterministicBcryptHash("pw", salt, 32)).toThrow(/cost/);
        expect(() => deterministicBcryptHash("pw", Buffer.alloc(8).toString("base64"), 5)).toThrow(/16 bytes/);
    });
});

describe("htpasswd", () => {
    it("renders one user:hash line per user", () => {
        const a = deterministicBcryptHash("a", salt, 4);
        const b = deterministicBcryptHash("b", salt, 4);
        expect(renderHtpasswd([{ username: "alice", bcryptHash: a }, { username: "bob", bcryptHash: b }]))
            .toBe(`alice:${a}\nbob:${b}\n`);
    });

    it("refuses anything but bcrypt, which is all the registry accepts", () => {
        expect(() => htpasswdLine("alice", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=")).toThrow(/bcrypt/);
        expect(() => htpasswdLine("alice", "$apr1$abc$def")).toThrow(/bcrypt/);
    });
});
