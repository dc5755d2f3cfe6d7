import { hashSync } from "bcryptjs";
import { parseHtpasswd, verifyPassword } from "../src/htpasswd";

// Made with Apache's `htpasswd -nbB` (the $2y$ flavour the registry's own docs use).
const APACHE = [
    "alice:$2y$05$C36TkY/kOq7O.dw/NcdizeBzmQjhDaHX4OihWORRFR03iZR4KWVJq",
    "bob:$2y$04$1iGyLKIHjJ7P3EBuaHojUOFe9qdJNQJhDqqQ2j/4N8HMj/YXNtEG6",
].join("\n");

describe("parseHtpasswd", () => {
    it("reads entries and skips blank lines and comments", () => {
        const users = parseHtpasswd(`# team\n\n${APACHE}\r\n`);
        expect([...users.keys()]).toEqual(["alice", "bob"]);
    });

    it("rejects non-bcrypt entries, naming the line and user but never the hash", () => {
        const md5 = "carol:$apr1$x7HyH2xM$5dVb8cJ0lRz3oN5tOaS6w1";
        expect(() => parseHtpasswd(`${APACHE}\n${md5}`, "users.htpasswd")).toThrow(/users\.htpasswd line 3: the entry of "carol" is not a bcrypt hash/);
        expect(() => parseHtpasswd(md5)).not.toThrow(/apr1/);
    });

    it("rejects lines without a user and duplicate users", () => {
        expect(() => parseHtpasswd("justaname")).toThrow(/line 1: expected user:hash/);
        expect(() => parseHtpasswd(`${APACHE}\n${APACHE.split("\n")[0]}`)).toThrow(/"alice" appears twice/);
    });
});

describe("verifyPassword", () => {
    // bcryptjs writes $2b$; the $2a$ flavour hashes the same for short passwords.
    const users = parseHtpasswd(`${APACHE}\ndave:${hashSync("pw-2a", 4).replace(/^\$2b/, () => "$2a")}\nerin:${hashSync("pw-2b", 4)}`);

    it("accepts the right password for $2y$, $2a$ and $2b$ entries", async () => {
        await expect(verifyPassword(users, "alice", "correct horse")).resolves.toBe(true);
        await expect(verifyPassword(users, "bob", "b0b:with:colons")).resolves.toBe(true);
        await expect(verifyPassword(users, "dave", "pw-2a")).resolves.toBe(true);
        await expect(verifyPassword(users, "erin", "pw-2b")).resolves.toBe(true);
    });

    it("refuses a wrong password, an unknown user and another user's password", async () => {
        await expect(verifyPassword(users, "alice", "correct horse ")).resolves.toBe(false);
        await expect(verifyPassword(users, "mallory", "correct horse")).resolves.toBe(false);
        await expect(verifyPassword(users, "bob", "correct horse")).resolves.toBe(false);
        await expect(verifyPassword(new Map(), "alice", "x")).resolves.toBe(false);
    });
});
