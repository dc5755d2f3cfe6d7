import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { bcryptSaltBytes, deterministicBcryptHash, renderHtpasswd } from "./htpasswd";
import { defaultRegistrySettings } from "./validation";

/** Arguments of {@link RegistryCredentials}. */
export interface RegistryCredentialsArgs {
    /** Usernames; each gets a generated password and an htpasswd entry. */
    readonly usernames: string[];
    /**
     * bcrypt cost of the htpasswd entries. The registry bcrypt-checks every request, so the cost
     * bounds its authenticated throughput; generated passwords are long and random, so a low cost
     * loses nothing against offline guessing. 4 is the lowest Go's bcrypt accepts. Default: 4.
     */
    readonly bcryptCost?: number;
    /** Length of the generated passwords. Default 32 (about 190 bits). */
    readonly passwordLength?: number;
}

/** Generated passwords and the registry's htpasswd file. */
export class RegistryCredentials extends pulumi.ComponentResource {
    /** The htpasswd file (secret). */
    public readonly htpasswd: pulumi.Output<string>;
    /** Each username mapped to its password (secret). */
    public readonly passwords: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: RegistryCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("private-registry:index:RegistryCredentials", name, {}, opts);
        const cost = args.bcryptCost ?? defaultRegistrySettings.bcryptCost;

        const users = args.usernames.map((username) => {
            // Letters and digits only: safe to paste into shells and CI variables.
            const password = new random.RandomPassword(`${name}-${username}-password`, {
                length: args.passwordLength ?? 32,
                special: false,
            }, { parent: this });
            // The salt lives in state, so the hash (and so the htpasswd file) is the same on every up.
            const salt = new random.RandomBytes(`${name}-${username}-salt`, { length: bcryptSaltBytes }, { parent: this });
            const bcryptHash = pulumi.all([password.result, salt.base64])
                .apply(([pw, saltBase64]) => deterministicBcryptHash(pw, saltBase64, cost));
            return { username, password: password.result, bcryptHash };
        });

        this.htpasswd = pulumi.secret(pulumi.all(users.map((u) => pulumi.all([u.username, u.bcryptHash])))
            .apply((entries) => renderHtpasswd(entries.map(([username, bcryptHash]) => ({ username, bcryptHash })))));
        this.passwords = pulumi.secret(pulumi.all(users.map((u) => u.password))
            .apply((pws) => Object.fromEntries(users.map((u, i) => [u.username, pws[i]]))));
        this.registerOutputs({ htpasswd: this.htpasswd, passwords: this.passwords });
    }
}
