import { familiesFullyCovered } from "../../components/firewallRules";
import {
    cidrProblem, defaultRegistrySettings, isValidHostname, isValidIpAddress, RegistrySettings, registrySettingsProblems,
    sshTargetProblems, validateRegistrySettings,
} from "../../components/validation";
import { evaluateProgram } from "./support/program";

const valid: RegistrySettings = {
    ...defaultRegistrySettings,
    hostnames: ["registry.example.com"],
    users: ["admin"],
    firewallEnabled: true,
    registryAllowedCidrs: ["198.51.100.0/24"],
    sshAllowedCidrs: ["198.51.100.10/32", "2001:db8::/32"],
};
const key = (field: string) => `private-registry:${field}`;

describe("address parsing", () => {
    it.each(["registry.example.com", "localhost", "a-b.c", "xn--bcher-kva.example"])("accepts the DNS name %s", (h) => {
        expect(isValidHostname(h)).toBe(true);
    });
    it.each(["", "-bad.example", "under_score.example", "a..b", "10.0.0.1", "x".repeat(64) + ".com"])("rejects the DNS name %j", (h) => {
        expect(isValidHostname(h)).toBe(false);
    });
    it.each(["10.0.0.1", "2001:db8::1", "::1"])("accepts the IP %s", (a) => expect(isValidIpAddress(a)).toBe(true));
    it.each(["10.0.0", "10.0.0.256", "10.1", "example.com", "10.0.0.0/8"])("rejects the IP %s", (a) => expect(isValidIpAddress(a)).toBe(false));
    it("accepts network CIDRs of both families and explains the rest", () => {
        expect(cidrProblem("10.0.0.0/8")).toBeUndefined();
        expect(cidrProblem("2001:db8::/32")).toBeUndefined();
        expect(cidrProblem("10.0.0.1/8")).toMatch(/host bits.*10\.0\.0\.0\/8/);
        expect(cidrProblem("10.0.0.0/33")).toMatch(/not a CIDR/);
        expect(cidrProblem("10.0.0.0")).toMatch(/not a CIDR/);
    });
});

describe("validateRegistrySettings", () => {
    it("accepts good settings", () => {
        expect(validateRegistrySettings(valid, key, true)).toBe(valid);
    });

    const cases: Array<[string, Partial<RegistrySettings>, RegExp]> = [
        ["an invalid CIDR", { registryAllowedCidrs: ["300.1.2.0/24"] }, /private-registry:registryAllowedCidrs\[0\]: .*not a CIDR.*Fix:/],
        ["an invalid hostname", { hostnames: ["bad_host"] }, /private-registry:hostnames\[0\]: "bad_host" is not a valid DNS name/],
        ["an invalid IP", { ipAddresses: ["10.0.0.300"] }, /private-registry:ipAddresses\[0\]: .*not an IPv4 or IPv6 address/],
        ["port 0", { port: 0 }, /private-registry:port: 0 is outside 1-65535\. Fix: pulumi config set private-registry:port 5000/],
        ["port 65536", { port: 65536 }, /private-registry:port: 65536 is outside 1-65535/],
        ["SSH port 70000", { sshPort: 70000 }, /private-registry:sshPort: 70000 is outside/],
        ["a username with a colon", { users: ["a:b"] }, /private-registry:users\[0\]: "a:b" contains ":"/],
        ["a username with whitespace", { users: ["a b"] }, /private-registry:users\[0\]: "a b" contains whitespace/],
        ["an empty username", { users: [""] }, /private-registry:users\[0\]: is empty/],
        ["a duplicate username", { users: ["ci", "ci"] }, /private-registry:users\[1\]: "ci" is listed twice/],
        ["validity shorter than early renewal", { certValidityDays: 20, certEarlyRenewalDays: 30 }, /private-registry:certEarlyRenewalDays: 30 is not shorter than certValidityDays/],
        ["an empty registry allowlist", { registryAllowedCidrs: [] }, /private-registry:registryAllowedCidrs: is empty/],
        ["an empty SSH allowlist", { sshAllowedCidrs: [] }, /private-registry:sshAllowedCidrs: is empty/],
        ["SSH open to 0.0.0.0/0", { sshAllowedCidrs: ["0.0.0.0/0"] }, /private-registry:sshAllowedCidrs\[0\]: "0.0.0.0\/0" opens SSH to the whole internet/],
        ["SSH open to ::/0", { sshAllowedCidrs: ["::/0"] }, /private-registry:sshAllowedCidrs\[0\]: "::\/0" opens SSH/],
        ["prod without the firewall", { firewallEnabled: false }, /private-registry:firewallEnabled: the prod stack must run with the firewall on/],
        ["an unknown key algorithm", { tlsKeyAlgorithm: "DSA" }, /private-registry:tlsKeyAlgorithm: "DSA" is not one of ECDSA, RSA/],
        ["a bcrypt cost below 4", { bcryptCost: 3 }, /private-registry:bcryptCost: 3 is outside 4-31/],
        ["an unknown log level", { logLevel: "verbose" }, /private-registry:logLevel: "verbose" is not one of error, warn, info, debug\. Fix: pulumi config set private-registry:logLevel warn/],
        ["GOGC below 25", { goGcPercent: 10 }, /private-registry:goGcPercent: 10 is outside 25-10000\. Fix: pulumi config set private-registry:goGcPercent 400/],
        ["a fractional GOGC", { goGcPercent: 150.5 }, /private-registry:goGcPercent: 150.5 is outside/],
        ["an image not pinned by digest", { image: "registry:2" }, /private-registry:image: "registry:2" is not pinned by digest/],
    ];
    it.each(cases)("rejects %s, naming the key and the fix", (_, change, message) => {
        expect(() => validateRegistrySettings({ ...valid, ...change }, key, true)).toThrow(message);
    });

    it("reports every problem at once", () => {
        expect(() => validateRegistrySettings({ ...valid, port: 0, users: [] }, key)).toThrow(/port[\s\S]*users/);
    });

    it("allows empty allowlists while the firewall is off", () => {
        expect(() => validateRegistrySettings({ ...valid, firewallEnabled: false, registryAllowedCidrs: [], sshAllowedCidrs: [] }, key)).not.toThrow();
    });
});

describe("bad stack config", () => {
    const cases: Array<[string, string, Record<string, unknown>, RegExp]> = [
        ["dev", "a bad CIDR", { "private-registry:firewallEnabled": true, "private-registry:registryAllowedCidrs": ["10.0.0.0/40"], "private-registry:sshAllowedCidrs": ["10.0.0.0/24"] }, /private-registry:registryAllowedCidrs\[0\]/],
        ["dev", "a bad port", { "private-registry:port": 99999 }, /private-registry:port: 99999/],
        ["dev", "a duplicate user", { "private-registry:users": ["admin", "admin"] }, /private-registry:users\[1\]/],
        ["dev", "a bad hostname", { "private-registry:hostnames": ["no spaces.example"] }, /private-registry:hostnames\[0\]/],
        ["dev", "an unknown log level", { "private-registry:logLevel": "loud" }, /private-registry:logLevel: "loud"/],
        ["dev", "a bad docker host", { "private-registry:dockerHost": "localhost" }, /private-registry:dockerHost/],
        ["prod", "an empty SSH allowlist", { "private-registry:sshAllowedCidrs": [] }, /private-registry:sshAllowedCidrs: is empty/],
        ["prod", "SSH open to the world", { "private-registry:sshAllowedCidrs": ["0.0.0.0/0"] }, /opens SSH to the whole internet/],
        ["prod", "the firewall off", { "private-registry:firewallEnabled": false }, /prod stack must run with the firewall on/],
        ["prod", "a bad SSH host", { "private-registry:sshHost": "bad host" }, /private-registry:sshHost/],
    ];
    it.each(cases)("%s stack with %s fails at evaluation and registers nothing", async (stack, _, config, message) => {
        let registered = -1;
        await expect(evaluateProgram({ stack, config, preview: true }).catch((err) => {
            registered = (err as { registered?: number }).registered ?? 0;
            throw err;
        })).rejects.toThrow(message);
        expect(registered).toBe(0);
    });
});

describe("SSH sources that add up to everything", () => {
    const withSsh = (sshAllowedCidrs: string[]) => registrySettingsProblems({
        ...defaultRegistrySettings, hostnames: ["r.example.com"], users: ["admin"], firewallEnabled: true,
        registryAllowedCidrs: ["198.51.100.0/24"], sshAllowedCidrs,
    }, (f) => `private-registry:${f}`, false);

    it("counts coverage whatever the spelling", () => {
        expect(familiesFullyCovered(["0.0.0.0/1", "128.0.0.0/1"])).toEqual(["IPv4"]);
        expect(familiesFullyCovered(["::ffff:0.0.0.0/96"])).toEqual(["IPv4"]);
        expect(familiesFullyCovered(["::/1", "8000::/1", "10.0.0.0/8"])).toEqual(["IPv6"]);
        expect(familiesFullyCovered(["0.0.0.0/1", "128.0.0.0/2"])).toEqual([]);
        expect(familiesFullyCovered(["198.51.100.10/32", "2001:db8::/32"])).toEqual([]);
    });

    it("refuses them in sshAllowedCidrs, naming the key", () => {
        expect(withSsh(["0.0.0.0/1", "128.0.0.0/1"])).toEqual([
            "private-registry:sshAllowedCidrs: together, the entries open SSH to every IPv4 address. Fix: list the addresses of your admins or bastion hosts instead",
        ]);
        expect(withSsh(["::ffff:0.0.0.0/96"]).join("\n")).toMatch(/every IPv4 address/);
        expect(withSsh(["198.51.100.10/32"])).toEqual([]);
    });
});

describe("the SSH host key of the firewall's target", () => {
    const check = sshTargetProblems;
    const key = (f: string) => `private-registry:${f}`;
    const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIL+2RPJBaQS6JUvZUfNinDDGSbfXMJ6csQInk6njsqoN";

    it("is required on prod when the commands run over SSH", () => {
        expect(check("registry.example.com", "deploy", key, "", true).join("\n")).toMatch(/^private-registry:sshHostKey: the prod stack must pin/);
        expect(check("registry.example.com", "deploy", key, hostKey, true)).toEqual([]);
        expect(check("", "root", key, "", true)).toEqual([]);
        expect(check("registry.example.com", "deploy", key, "", false)).toEqual([]);
    });

    it("must look like a public key", () => {
        expect(check("registry.example.com", "deploy", key, "AAAAC3Nza", false).join("\n")).toMatch(/^private-registry:sshHostKey: is not a public host key\. Fix:/);
    });
});
