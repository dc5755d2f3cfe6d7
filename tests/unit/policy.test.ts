import * as YAML from "yaml";
import {
    defaultFirewallInstallOptions, renderAsRoot, renderFirewallApplyScript, renderFirewallRuleset, splitCidrsByFamily,
} from "../../components/firewallRules";
import { registryConfigObject, registryDebugPort, renderRegistryConfig } from "../../components/registryConfig";
import { defaultRegistrySettings } from "../../components/validation";
import { coversWholeFamily, nftSetElements, sshSetNames } from "../../policy/firewallChecks";
import { registryPolicies } from "../../policy/policies";
import {
    authConfigProblem, checkDataVolumeProtected, checkDebugPortNotPublic, checkImagePinned, checkRegistryAuth, checkRegistryTls,
    isLoopbackAddress, tlsConfigProblem,
} from "../../policy/registryChecks";
import * as packResources from "../../policy/resources";
import { preview } from "../local-apply";
import { evaluateProgram } from "./support/program";
import { fromMockRun, fromPlanSteps, PolicyInput, PolicyRuntime, runPolicies, startPolicyRuntime } from "./support/policyInputs";

const renderedConfig = renderRegistryConfig({ httpSecret: "s3cret" });
const withConfig = (edit: (config: any) => void) => {
    const config = registryConfigObject({ httpSecret: "s3cret" });
    edit(config);
    return YAML.stringify(config);
};

describe("policy checks on their own", () => {
    it("keeps the pack's constants equal to the components' (the pack is published without components/)", () => {
        expect(packResources.registryDebugPort).toBe(registryDebugPort);
    });

    it("accepts only images pinned by a sha256 digest", () => {
        expect(checkImagePinned({ name: defaultRegistrySettings.image })).toBeUndefined();
        expect(checkImagePinned({ name: `registry@sha256:${"0".repeat(64)}` })).toBeUndefined();
        for (const name of ["registry:2.8.3", "registry:latest", `registry:2.8.3@sha256:${"A".repeat(64)}`, `registry@sha256:${"0".repeat(63)}`]) {
            expect(checkImagePinned({ name })).toMatch(/not pinned by digest.*PrivateRegistryArgs\.image/);
        }
        expect(checkImagePinned({})).toBeUndefined();
    });

    it("requires TLS 1.2 or 1.3 with a certificate and key in config.yml", () => {
        expect(tlsConfigProblem(renderedConfig)).toBeUndefined();
        expect(tlsConfigProblem(withConfig((c) => { c.http.tls.minimumtls = "tls1.3"; }))).toBeUndefined();
        expect(tlsConfigProblem(withConfig((c) => { c.http.tls.minimumtls = "tls1.1"; }))).toMatch(/minimumtls "tls1\.1".*tls1\.2 or tls1\.3/);
        expect(tlsConfigProblem(withConfig((c) => { delete c.http.tls.minimumtls; }))).toMatch(/minimumtls unset/);
        expect(tlsConfigProblem(withConfig((c) => { delete c.http.tls; }))).toMatch(/no http\.tls section/);
        expect(tlsConfigProblem(withConfig((c) => { c.http.tls.key = ""; }))).toMatch(/lacks http\.tls\.key/);
        expect(tlsConfigProblem("- just\n- a list\n")).toMatch(/not a YAML mapping/);
        expect(tlsConfigProblem("http: [unclosed")).toMatch(/not a YAML mapping/);
    });

    it("requires htpasswd with a path, or a complete token auth, in config.yml", () => {
        expect(authConfigProblem(renderedConfig)).toBeUndefined();
        const token = { realm: "https://auth.example.com/token", service: "registry", issuer: "auth", rootcertbundle: "/certs/bundle.pem" };
        expect(authConfigProblem(withConfig((c) => { c.auth = { token }; }))).toBeUndefined();
        expect(authConfigProblem(withConfig((c) => { c.auth = { token: { ...token, issuer: "" } }; }))).toMatch(/without auth\.token\.issuer/);
        expect(authConfigProblem(withConfig((c) => { c.auth = { silly: { realm: "x", service: "y" } }; }))).toMatch(/auth\.silly/);
        expect(authConfigProblem(withConfig((c) => { c.auth.htpasswd.path = ""; }))).toMatch(/htpasswd without a path/);
        expect(authConfigProblem(withConfig((c) => { delete c.auth; }))).toMatch(/no auth section/);
    });

    it("reads config.yml from the upload list, base64 too, and cannot decide without its content", () => {
        const upload = (entry: object) => ({ uploads: [{ file: "/config/htpasswd", content: "x" }, { file: "/config/config.yml", ...entry }] });
        const weak = withConfig((c) => { c.http.tls.minimumtls = "tls1.0"; delete c.auth; });
        expect(checkRegistryTls(upload({ content: weak }))).toMatch(/tls1\.0/);
        expect(checkRegistryTls(upload({ contentBase64: Buffer.from(weak).toString("base64") }))).toMatch(/tls1\.0/);
        expect(checkRegistryAuth(upload({ contentBase64: Buffer.from(weak).toString("base64") }))).toMatch(/no auth section/);
        expect(checkRegistryTls(upload({ source: "./config.yml" }))).toMatch(/cannot read/);
        expect(checkRegistryTls(upload({}))).toBeUndefined();
        expect(checkRegistryTls({ uploads: undefined })).toBeUndefined();
        expect(checkRegistryAuth({})).toBeUndefined();
    });

    it("rejects environment variables that override config.yml's TLS or auth", () => {
        expect(checkRegistryTls({ envs: ["GOGC=400", "REGISTRY_HTTP_TLS_MINIMUMTLS=tls1.0"] })).toMatch(/REGISTRY_HTTP_TLS_MINIMUMTLS/);
        expect(checkRegistryAuth({ envs: ["REGISTRY_AUTH=silly"] })).toMatch(/REGISTRY_AUTH\b/);
        expect(checkRegistryAuth({ envs: ["GOGC=400"] })).toBeUndefined();
    });

    it("protects the data volume only in stacks named prod*", () => {
        expect(checkDataVolumeProtected({ protect: false }, "dev")).toBeUndefined();
        expect(checkDataVolumeProtected({ protect: true }, "prod")).toBeUndefined();
        for (const stack of ["prod", "prod-eu", "production"]) {
            expect(checkDataVolumeProtected({ protect: false }, stack)).toMatch(new RegExp(`stack "${stack}".*protectData`));
        }
    });

    it("tells loopback from other addresses", () => {
        for (const ip of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "::ffff:127.0.0.1"]) expect({ ip, loopback: isLoopbackAddress(ip) }).toEqual({ ip, loopback: true });
        for (const ip of ["0.0.0.0", "::", "203.0.113.10", "128.0.0.1", "localhost", "127.1", ""]) expect({ ip, loopback: isLoopbackAddress(ip) }).toEqual({ ip, loopback: false });
    });

    it("allows the debug port on loopback only; an entry without ip is public", () => {
        const debug = (ip?: string) => ({ ports: [{ internal: 5000, external: 5000, ip: "0.0.0.0" }, { internal: registryDebugPort, external: 15001, ...(ip === undefined ? {} : { ip }) }] });
        expect(checkDebugPortNotPublic(debug("127.0.0.1"))).toBeUndefined();
        expect(checkDebugPortNotPublic(debug("::1"))).toBeUndefined();
        // A monitoring network's address (metricsBindAddress) is fine; the internet's is not.
        for (const ip of ["10.20.0.5", "192.168.1.9", "172.16.0.1", "100.64.1.1", "fd00::5"]) expect({ ip, problem: checkDebugPortNotPublic(debug(ip)) }).toEqual({ ip, problem: undefined });
        expect(checkDebugPortNotPublic(debug("::"))).toMatch(/public or wildcard address/);
        expect(checkDebugPortNotPublic(debug("0.0.0.0"))).toMatch(/debug port 5001.*on 0\.0\.0\.0/);
        expect(checkDebugPortNotPublic(debug("203.0.113.10"))).toMatch(/on 203\.0\.113\.10/);
        expect(checkDebugPortNotPublic(debug())).toMatch(/on 0\.0\.0\.0/);
        expect(checkDebugPortNotPublic({ ports: [{ internal: 5000, external: 5000, ip: "0.0.0.0" }] })).toBeUndefined();
    });

    it("reads the SSH sets of the ruleset the components render, as they normalise them", () => {
        const sshAllowedCidrs = ["198.51.100.10/32", "10.1.2.3/8", "2001:db8::/32", "::ffff:192.0.2.0/120"];
        const ruleset = renderFirewallRuleset({ publicInterface: "eth0", registryPort: 5000, registryAllowedCidrs: ["203.0.113.0/24"], sshPort: 22, sshAllowedCidrs });
        const expected = splitCidrsByFamily(sshAllowedCidrs);
        expect(nftSetElements(ruleset, sshSetNames.ipv4)).toEqual(expected.ipv4);
        expect(nftSetElements(ruleset, sshSetNames.ipv6)).toEqual(expected.ipv6);
        expect(nftSetElements(ruleset, "registry_v4")).toEqual(["203.0.113.0/24"]);
        const closed = renderFirewallRuleset({ publicInterface: "eth0", registryPort: 5000, registryAllowedCidrs: [], sshPort: 22, sshAllowedCidrs: [] });
        expect(nftSetElements(closed, sshSetNames.ipv4)).toEqual([]);
        expect(nftSetElements(closed, "no_such_set")).toBeUndefined();
    });

    it("finds allowlists that match every address, however they are spelled", () => {
        expect(coversWholeFamily(["0.0.0.0/0"], "ipv4")).toBe(true);
        expect(coversWholeFamily(["0.0.0.0/1", "128.0.0.0/1"], "ipv4")).toBe(true);
        expect(coversWholeFamily(["0.0.0.0-255.255.255.255"], "ipv4")).toBe(true);
        expect(coversWholeFamily(["::ffff:0.0.0.0/96"], "ipv4")).toBe(true);
        expect(coversWholeFamily(["::/0"], "ipv6")).toBe(true);
        expect(coversWholeFamily(["::/1", "8000::/1"], "ipv6")).toBe(true);
        expect(coversWholeFamily(["0.0.0.0/1", "128.0.0.0/2"], "ipv4")).toBe(false);
        expect(coversWholeFamily(["198.51.100.10/32", "10.0.0.0/8"], "ipv4")).toBe(false);
        expect(coversWholeFamily([], "ipv6")).toBe(false);
        expect(() => coversWholeFamily(["2001:db8::/32"], "ipv4")).toThrow(/not an ipv4 element/);
    });

    it("marks every policy mandatory", () => {
        const policies = registryPolicies(() => "dev");
        expect(policies.map((p) => p.enforcementLevel)).toEqual(policies.map(() => "mandatory"));
        expect(new Set(policies.map((p) => p.name)).size).toBe(7);
    });
});

/** A deep copy of recorded inputs with one resource changed. */
function mutate(inputs: PolicyInput[], pick: (r: PolicyInput) => boolean, change: (r: PolicyInput) => void): PolicyInput[] {
    const copy = structuredClone(inputs);
    const targets = copy.filter(pick);
    if (targets.length !== 1) throw new Error(`expected one resource to mutate, found ${targets.length}`);
    change(targets[0]);
    return copy;
}
const byTypeAndName = (type: string, nameSuffix: string) => (r: PolicyInput) => r.type === type && r.name.endsWith(nameSuffix);
const image = byTypeAndName("docker:index/remoteImage:RemoteImage", "-server-image");
const initContainer = byTypeAndName("docker:index/container:Container", "-server-init");
const standbyInitContainer = byTypeAndName("docker:index/container:Container", "-standby-init");
const registryContainer = byTypeAndName("docker:index/container:Container", "-server-container");
const dataVolume = byTypeAndName("docker:index/volume:Volume", "-storage-data");
const firewallCommand = (r: PolicyInput) => packResources.isCommandType(r.type) && r.name.endsWith("-firewall-rules");
const privateRegistry = (r: PolicyInput) => r.type === packResources.componentTypes.privateRegistry;

function editConfigUpload(r: PolicyInput, edit: (config: any) => void): void {
    const upload = r.props.uploads.find((u: any) => u.file.endsWith("/config.yml"));
    const config = YAML.parse(upload.content);
    edit(config);
    upload.content = YAML.stringify(config);
}

/** Sets the elements of one of the firewall ruleset's sets, as rendered: one tab-indented line each. */
function withSetElements(inputs: PolicyInput[], set: string, elements: string): PolicyInput[] {
    const setBody = new RegExp(`(\\tset ${set} \\{\\n(?:\\t\\t(?!elements)[^\\n]*\\n)*)(?:\\t\\telements = \\{[^}]*\\}\\n)?`);
    return mutate(inputs, firewallCommand, (r) => {
        for (const key of ["create", "update"]) {
            const before: string = r.props[key];
            r.props[key] = before.replace(setBody, `$1\t\telements = { ${elements} }\n`);
            expect(r.props[key]).not.toBe(before);
        }
    });
}

async function violationsOf(stack: string, inputs: PolicyInput[]) {
    const outcome = await runPolicies(registryPolicies(() => stack), inputs);
    return outcome.violations.map((v) => ({ policy: v.policy, urn: v.urn }));
}

/**
 * The program's resources for a stack, recorded two ways: by the local apply harness's preview (the
 * real program, unknowns as in `pulumi preview` of a new stack) and by the unit tests' mock run
 * (every value resolved, so the rendered config.yml is known).
 */
const previews = new Map<string, ReturnType<typeof preview>>();
const recorders: Record<string, (stack: string, config?: Record<string, unknown>) => Promise<PolicyInput[]>> = {
    "local apply harness preview": async (stack, config) => {
        // Each preview is a child process; a stack's plain preview is shared by the suites below.
        const key = JSON.stringify([stack, config ?? {}]);
        if (!previews.has(key)) previews.set(key, preview(stack, config));
        const result = await previews.get(key)!;
        if (!result.plan) throw new Error(`local preview --stack ${stack} failed (exit ${result.code}):\n${result.stderr}`);
        return fromPlanSteps(structuredClone(result.plan.steps));
    },
    "unit-test mock run": async (stack, config) => fromMockRun((await evaluateProgram({ stack, config })).resources),
};
const cases = Object.keys(recorders).flatMap((recorder) => ["dev", "prod"].map((stack) => [stack, recorder] as const));

describe.each(cases)("the program's %s stack, as the %s records it", (stack, recorder) => {
    let inputs: PolicyInput[];
    beforeAll(async () => { inputs = await recorders[recorder](stack); }, 60_000);
    const urnOf = (pick: (r: PolicyInput) => boolean) => inputs.find(pick)!.urn;

    it("complies with every policy", async () => {
        const outcome = await runPolicies(registryPolicies(() => stack), inputs);
        expect(outcome.violations).toEqual([]);
        // In a preview of a new stack config.yml is unknown (it embeds the generated http.secret), so
        // the TLS and auth policies can't decide (the runtime's advisory) and fail nothing. A preview
        // over a stack someone brought up here knows it, and then the policies check it.
        const configKnown = Array.isArray(inputs.find(initContainer)!.props.uploads);
        if (recorder === "unit-test mock run") expect(configKnown).toBe(true);
        // Both registries' configs: the writable one and its read-only standby.
        expect(outcome.undecided).toEqual(configKnown ? [] : [
            { policy: "registry-tls-minimum-1-2", urn: urnOf(initContainer) },
            { policy: "registry-tls-minimum-1-2", urn: urnOf(standbyInitContainer) },
            { policy: "registry-authentication", urn: urnOf(initContainer) },
            { policy: "registry-authentication", urn: urnOf(standbyInitContainer) },
        ]);
    });

    it("fails an image pinned by tag only", async () => {
        const mutated = mutate(inputs, image, (r) => { r.props.name = "registry:2.8.3"; });
        expect(await violationsOf(stack, mutated)).toEqual([{ policy: "registry-image-pinned-by-digest", urn: urnOf(image) }]);
    });

    it("fails a registry container that publishes the debug port publicly, not on loopback", async () => {
        const publish = (ip: string) => mutate(inputs, registryContainer, (r) => {
            r.props.ports.push({ internal: registryDebugPort, external: registryDebugPort, ip, protocol: "tcp" });
        });
        expect(await violationsOf(stack, publish("0.0.0.0"))).toEqual([{ policy: "registry-debug-port-not-public", urn: urnOf(registryContainer) }]);
        expect(await violationsOf(stack, publish("127.0.0.1"))).toEqual([]);
    });

    it("protects the data volume as the stack's config says, and fails an unprotected one under a prod* name", async () => {
        expect(inputs.find(dataVolume)!.protect).toBe(stack === "prod");
        const unprotected = mutate(inputs, dataVolume, (r) => { r.protect = false; });
        // (dev also runs without the firewall, which the firewall policy reports under a prod* name)
        const dataViolations = async (name: string) => (await violationsOf(name, unprotected)).filter((v) => v.policy === "registry-data-protected-in-prod");
        for (const name of ["prod", "production"]) {
            expect(await dataViolations(name)).toEqual([{ policy: "registry-data-protected-in-prod", urn: urnOf(dataVolume) }]);
        }
        expect(await violationsOf("staging", unprotected)).toEqual([]);
    });

    it("fails a registry without its firewall under a prod* name, naming the registry", async () => {
        expect(inputs.filter(firewallCommand)).toHaveLength(stack === "prod" ? 1 : 0);
        const withoutFirewall = inputs.filter((r) => !firewallCommand(r));
        expect(await violationsOf("prod-eu", withoutFirewall)).toContainEqual({ policy: "registry-firewall-in-prod", urn: urnOf(privateRegistry) });
        expect(await violationsOf("staging", withoutFirewall)).toEqual([]);
    });

    if (stack === "prod") {
        it("fails a firewall that opens SSH to every IPv4 or IPv6 address", async () => {
            const commandUrn = urnOf(firewallCommand);
            expect(await violationsOf(stack, withSetElements(inputs, "ssh_v4", "0.0.0.0/0"))).toEqual([{ policy: "registry-firewall-ssh-not-open", urn: commandUrn }]);
            expect(await violationsOf(stack, withSetElements(inputs, "ssh_v6", "::/0"))).toEqual([{ policy: "registry-firewall-ssh-not-open", urn: commandUrn }]);
            expect(await violationsOf(stack, withSetElements(inputs, "ssh_v4", "0.0.0.0/1, 128.0.0.0/1"))).toEqual([{ policy: "registry-firewall-ssh-not-open", urn: commandUrn }]);
            expect(await violationsOf(stack, withSetElements(inputs, "ssh_v4", "198.51.100.10/32, 192.0.2.0/24"))).toEqual([]);
        });
    }

    if (recorder === "unit-test mock run") {
        it("fails a config.yml that allows TLS 1.0, and one without TLS", async () => {
            const tls10 = mutate(inputs, initContainer, (r) => editConfigUpload(r, (c) => { c.http.tls.minimumtls = "tls1.0"; }));
            expect(await violationsOf(stack, tls10)).toEqual([{ policy: "registry-tls-minimum-1-2", urn: urnOf(initContainer) }]);
            const plain = mutate(inputs, initContainer, (r) => editConfigUpload(r, (c) => { delete c.http.tls; }));
            expect(await violationsOf(stack, plain)).toEqual([{ policy: "registry-tls-minimum-1-2", urn: urnOf(initContainer) }]);
        });

        it("fails a config.yml without authentication", async () => {
            const open = mutate(inputs, initContainer, (r) => editConfigUpload(r, (c) => { delete c.auth; }));
            expect(await violationsOf(stack, open)).toEqual([{ policy: "registry-authentication", urn: urnOf(initContainer) }]);
        });
    }
});

describe("the SSH policy beyond the program's own validation", () => {
    // Neither CIDR is 0.0.0.0/0 itself, but the firewall renders them as the two halves of the IPv4 space.
    const sshAllowedCidrs = ["0.0.0.0/1", "::ffff:128.0.0.0/97"];

    it("the program refuses such CIDRs itself, before anything is planned", async () => {
        const r = await preview("prod", { "private-registry:sshAllowedCidrs": sshAllowedCidrs });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain("private-registry:sshAllowedCidrs: together, the entries open SSH to every IPv4 address");
    }, 60_000);

    it("catches them where a stack wires the firewall without that validation", async () => {
        // As a stack that uses RegistryFirewall on its own would render it: the prod rules with these sources.
        const inputs = mutate(await recorders["local apply harness preview"]("prod"), firewallCommand, (r) => {
            const opened = renderAsRoot(renderFirewallApplyScript({
                publicInterface: "eth0", registryPort: 5000, registryAllowedCidrs: ["198.51.100.0/24"], sshPort: 22, sshAllowedCidrs,
            }, defaultFirewallInstallOptions));
            r.props.create = opened;
            r.props.update = opened;
        });
        expect(nftSetElements(inputs.find(firewallCommand)!.props.create as string, sshSetNames.ipv4)).toEqual(["0.0.0.0/1", "128.0.0.0/1"]);
        expect(await violationsOf("prod", inputs)).toEqual([{ policy: "registry-firewall-ssh-not-open", urn: inputs.find(firewallCommand)!.urn }]);
    }, 60_000);
});

describe("the pack as Pulumi's policy runtime runs it, on the prod stack's preview", () => {
    let runtime: PolicyRuntime | undefined;
    let inputs: PolicyInput[];
    beforeAll(async () => {
        [runtime, inputs] = await Promise.all([startPolicyRuntime("prod"), recorders["local apply harness preview"]("prod")]);
    }, 120_000);
    afterAll(() => runtime?.stop());
    const urnOf = (pick: (r: PolicyInput) => boolean) => inputs.find(pick)!.urn;
    const analyzeAll = async (resources: PolicyInput[]) =>
        (await Promise.all(resources.map((r) => runtime!.analyze(r)))).flat().map((d) => ({ policy: d.policy, level: d.enforcementLevel }));

    it("loads the pack under Pulumi's runner (type-checked), every policy mandatory", async () => {
        expect(await runtime!.policies()).toEqual(registryPolicies(() => "prod").map((p) => ({ name: p.name, enforcementLevel: "mandatory" })));
    });

    it("passes the stack; where config.yml is unknown the runtime only advises that it can't check yet", async () => {
        const configKnown = Array.isArray(inputs.find(initContainer)!.props.uploads);
        expect(await analyzeAll(inputs)).toEqual(configKnown ? [] : [
            { policy: "registry-tls-minimum-1-2", level: "advisory" },
            { policy: "registry-authentication", level: "advisory" },
            { policy: "registry-tls-minimum-1-2", level: "advisory" },
            { policy: "registry-authentication", level: "advisory" },
        ]);
        expect(await runtime!.analyzeStack(inputs)).toEqual([]);
    });

    it("blocks the broken variants, with the stack name the engine passes (prod)", async () => {
        const mandatory = (policy: string) => [{ policy, level: "mandatory" }];
        expect(await analyzeAll(mutate(inputs, image, (r) => { r.props.name = "registry:2.8.3"; }).filter(image))).toEqual(mandatory("registry-image-pinned-by-digest"));
        expect(await analyzeAll(mutate(inputs, dataVolume, (r) => { r.protect = false; }).filter(dataVolume))).toEqual(mandatory("registry-data-protected-in-prod"));
        expect(await analyzeAll(withSetElements(inputs, "ssh_v6", "::/0").filter(firewallCommand))).toEqual(mandatory("registry-firewall-ssh-not-open"));
        const debugPublished = mutate(inputs, registryContainer, (r) => { r.props.ports.push({ internal: registryDebugPort, external: registryDebugPort, ip: "::", protocol: "tcp" }); });
        expect(await analyzeAll(debugPublished.filter(registryContainer))).toEqual(mandatory("registry-debug-port-not-public"));
        const [violation, ...others] = await runtime!.analyzeStack(inputs.filter((r) => !firewallCommand(r)));
        expect(others).toEqual([]);
        expect(violation).toMatchObject({ policy: "registry-firewall-in-prod", enforcementLevel: "mandatory", urn: urnOf(privateRegistry) });
        expect(violation.message).toMatch(/Stack "prod" runs a registry without its host firewall.*firewallEnabled/);
    });
});
