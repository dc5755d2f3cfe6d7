import * as bcrypt from "bcryptjs";

/** Go's bcrypt (which the registry uses) accepts costs 4 to 31. */
export const minBcryptCost = 4;
/** The highest bcrypt cost (2^31 rounds). */
export const maxBcryptCost = 31;

/** bcrypt salts are 16 bytes. */
export const bcryptSaltBytes = 16;

/**
 * A bcrypt hash that depends only on its inputs: the salt comes from state (a RandomBytes)
 * instead of being drawn anew, so the htpasswd file is identical on every `pulumi up`.
 */
export function deterministicBcryptHash(password: string, saltBase64: string, cost: number): string {
    if (!Number.isInteger(cost) || cost < minBcryptCost || cost > maxBcryptCost) {
        throw new Error(`bcrypt cost must be an integer from ${minBcryptCost} to ${maxBcryptCost}, got ${cost}`);
    }
    const salt = Buffer.from(saltBase64, "base64");
    if (salt.length !== bcryptSaltBytes) {
        throw new Error(`bcrypt salt must be ${bcryptSaltBytes} bytes, got ${salt.length}`);
    }
    const costText = String(cost).padStart(2, "0");
    const saltText = bcrypt.encodeBase64(Array.from(salt), bcryptSaltBytes);
    return bcrypt.hashSync(password, `$2b$${costText}$${saltText}`);
}

/** One htpasswd line. */
export function htpasswdLine(username: string, bcryptHash: string): string {
    if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(bcryptHash)) {
        throw new Error(`htpasswd entry for "${username}" is not a bcrypt hash; the registry accepts only bcrypt`);
    }
    return `${username}:${bcryptHash}`;
}

/** The htpasswd file: one line per user, in the order given. */
export function renderHtpasswd(entries: ReadonlyArray<{ username: string; bcryptHash: string }>): string {
    return entries.map((e) => htpasswdLine(e.username, e.bcryptHash)).join("\n") + "\n";
}
