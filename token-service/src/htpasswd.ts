/** htpasswd files with bcrypt entries, the only hash the registry's own htpasswd auth accepts too. */
import { compare } from "bcryptjs";

/** Username to bcrypt hash. */
export type Htpasswd = Map<string, string>;

const BCRYPT_HASH = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

/** Parses `user:hash` lines; blank lines and `#` comments are skipped. Errors never quote a hash. */
export function parseHtpasswd(text: string, source = "htpasswd"): Htpasswd {
    const users: Htpasswd = new Map();
    const problems: string[] = [];
    text.split(/\r?\n/).forEach((rawLine, index) => {
        const line = rawLine.trim();
        if (line === "" || line.startsWith("#")) return;
        const where = `${source} line ${index + 1}`;
        const colon = line.indexOf(":");
        if (colon <= 0) {
            problems.push(`${where}: expected user:hash`);
            return;
        }
        const user = line.slice(0, colon);
        const hash = line.slice(colon + 1);
        if (!BCRYPT_HASH.test(hash)) {
            problems.push(`${where}: the entry of "${user}" is not a bcrypt hash ($2y$, $2a$ or $2b$); recreate it with htpasswd -B`);
        } else if (users.has(user)) {
            problems.push(`${where}: "${user}" appears twice; keep one entry`);
        } else {
            users.set(user, hash);
        }
    });
    if (problems.length > 0) throw new Error(problems.join("\n"));
    return users;
}

/**
 * Checks a password. An unknown user still costs one bcrypt comparison (against another entry's
 * hash, result ignored), so response times do not tell which usernames exist.
 */
export async function verifyPassword(users: Htpasswd, user: string, password: string): Promise<boolean> {
    const hash = users.get(user);
    if (hash === undefined) {
        const decoy = users.values().next();
        if (!decoy.done) await compare(password, decoy.value);
        return false;
    }
    return compare(password, hash);
}
