import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-require-imports --
   the engine's monitor requests are untyped internals, and require() inside jest.isolateModules is
   what gives each run fresh module instances. */

export const repoRoot = path.resolve(__dirname, "../../..");
export const projectName = "private-registry";

/** What the program asked the engine for, with the options that mocks alone don't show. */
export interface RegisteredResource {
    type: string;
    name: string;
    urn: string;
    parentUrn: string;
    custom: boolean;
    inputs: Record<string, any>;
    protect: boolean;
    retainOnDelete: boolean;
    deleteBeforeReplace: boolean;
    dependencies: string[];
    providers: Record<string, string>;
    provider: string;
}

export interface EvaluatedProgram {
    resources: RegisteredResource[];
    /** The program's exports, resolved (undefined where unknown, as in preview). */
    outputs: Record<string, any>;
    /** Whether each export is secret. */
    secretOutputs: Record<string, boolean>;
}

/** Project defaults from Pulumi.yaml, overlaid with Pulumi.<stack>.yaml: what `pulumi up` would pass. */
export function stackConfig(stack: string): Record<string, unknown> {
    const project = YAML.parse(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8"));
    const values: Record<string, unknown> = {};
    for (const [key, decl] of Object.entries<any>(project.config ?? {})) {
        if (decl && "default" in decl) values[key] = decl.default;
    }
    const stackFile = YAML.parse(fs.readFileSync(path.join(repoRoot, `Pulumi.${stack}.yaml`), "utf8"));
    return { ...values, ...(stackFile.config ?? {}) };
}

/** Inputs as the provider sees them: secret markers removed, values kept. */
function withoutSecretMarkers(value: any): any {
    if (Array.isArray(value)) return value.map(withoutSecretMarkers);
    if (value && typeof value === "object") {
        if (secretSignatureKey in value) return withoutSecretMarkers(value.value);
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutSecretMarkers(v)]));
    }
    return value;
}
const secretSignatureKey = "4dabf18193072939515e22adb298388d";

function stableText(seed: string, length: number): string {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const bytes = crypto.createHash("sha512").update(seed).digest();
    return Array.from({ length }, (_, i) => alphabet[bytes[i % bytes.length] % alphabet.length]).join("");
}

/** Outputs a provider would compute, derived from the resource's name so that runs repeat exactly. */
/** What the mocks say a command printed: radosgw-admin's JSON for an RGW user (keys made up), else nothing. */
export function mockCommandStdout(name: string, inputs: Record<string, any>): string {
    if (!name.endsWith("-rgw-user")) return "";
    const uid = /--uid='([^']+)'/.exec(inputs.create)?.[1] ?? "";
    return JSON.stringify({ user_id: uid, keys: [{ user: uid, access_key: stableText(`ak:${name}`, 20), secret_key: stableText(`sk:${name}`, 40) }] });
}

function mockOutputs(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
            return { result: stableText(`password:${name}`, inputs.length ?? 16) };
        case "random:index/randomBytes:RandomBytes": {
            const bytes = crypto.createHash("sha256").update(`bytes:${name}`).digest().subarray(0, inputs.length);
            return { base64: bytes.toString("base64"), hex: bytes.toString("hex") };
        }
        case "tls:index/privateKey:PrivateKey":
            return { privateKeyPem: `-----BEGIN PRIVATE KEY-----\n${stableText(`key:${name}`, 40)}\n-----END PRIVATE KEY-----\n` };
        case "tls:index/certRequest:CertRequest":
            return { certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\n${stableText(`csr:${name}`, 40)}\n-----END CERTIFICATE REQUEST-----\n` };
        case "tls:index/selfSignedCert:SelfSignedCert":
        case "tls:index/locallySignedCert:LocallySignedCert":
            return { certPem: `-----BEGIN CERTIFICATE-----\n${stableText(`cert:${name}`, 40)}\n-----END CERTIFICATE-----\n` };
        case "docker:index/remoteImage:RemoteImage":
            return { imageId: `sha256:${crypto.createHash("sha256").update(inputs.name).digest("hex")}` };
        case "command:local:Command":
        case "command:remote:Command":
            return { stdout: mockCommandStdout(name, inputs), stderr: "" };
        default:
            return {};
    }
}

/**
 * Runs index.ts once under Pulumi's mocks with a stack's config (plus overrides) and records every
 * registration. Each call loads fresh module instances, so runs don't share state.
 */
export async function evaluateProgram(options: {
    stack: string;
    config?: Record<string, unknown>;
    preview?: boolean;
    /** Config keys (without the project prefix) the engine marks secret. Default: none. */
    secretKeys?: string[];
}): Promise<EvaluatedProgram> {
    const config = { ...stackConfig(options.stack), ...(options.config ?? {}) };
    const resources: RegisteredResource[] = [];
    let pulumi: typeof import("@pulumi/pulumi") = undefined as any;
    let program: Record<string, any> = {};
    let thrown: unknown;
    let mocksSet: Promise<void> = Promise.resolve();

    jest.isolateModules(() => {
        pulumi = require("@pulumi/pulumi");
        mocksSet = pulumi.runtime.setMocks({
            newResource: (args) => ({
                id: args.custom ? `${args.name}-id` : undefined,
                state: { ...args.inputs, ...mockOutputs(args.type, args.name, args.inputs) },
            }),
            call: () => ({}),
        }, projectName, options.stack, options.preview ?? false);
        const monitor: any = pulumi.runtime.getMonitor();
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, callback: any) => {
            const parentUrn: string = req.getParent();
            const qualified = parentUrn ? `${parentUrn.split("::")[2].split("$").pop()}$${req.getType()}` : req.getType();
            resources.push({
                type: req.getType(),
                name: req.getName(),
                urn: `urn:pulumi:${options.stack}::${projectName}::${qualified}::${req.getName()}`,
                parentUrn,
                custom: req.getCustom(),
                inputs: withoutSecretMarkers(pulumi.runtime.deserializeProperties(req.getObject())),
                protect: req.getProtect(),
                retainOnDelete: req.getRetainondelete(),
                deleteBeforeReplace: req.getDeletebeforereplace(),
                dependencies: req.getDependenciesList(),
                providers: Object.fromEntries(req.getProvidersMap().toArray()),
                provider: req.getProvider(),
            });
            return register(req, callback);
        };
        const plain: Record<string, string> = {};
        for (const [k, v] of Object.entries(config)) plain[k] = typeof v === "string" ? v : JSON.stringify(v);
        pulumi.runtime.setAllConfig(plain, (options.secretKeys ?? []).map((k) => `${projectName}:${k}`));
        try {
            program = require(path.join(repoRoot, "index.ts"));
        } catch (err) {
            thrown = err;
        }
    });
    await mocksSet;
    if (thrown) {
        // Registration is asynchronous: give anything declared before the throw time to arrive.
        await new Promise((resolve) => setTimeout(resolve, 100));
        throw Object.assign(thrown as Error, { registered: resources.length });
    }

    const outputs: Record<string, any> = {};
    const secretOutputs: Record<string, boolean> = {};
    for (const [name, value] of Object.entries(program)) {
        if (!pulumi.Output.isInstance(value)) continue;
        outputs[name] = await new Promise((resolve) => value.apply((v: unknown) => { resolve(v); return v; }));
        secretOutputs[name] = await pulumi.isSecret(value);
    }
    // Let registrations that no export depends on finish too.
    await new Promise((resolve) => setTimeout(resolve, 50));
    return { resources, outputs, secretOutputs };
}

export function byType(resources: RegisteredResource[], type: string): RegisteredResource[] {
    return resources.filter((r) => r.type === type);
}

export function one(resources: RegisteredResource[], type: string, nameSuffix = ""): RegisteredResource {
    const found = resources.filter((r) => r.type === type && r.name.endsWith(nameSuffix));
    if (found.length !== 1) throw new Error(`expected one ${type} named *${nameSuffix}, found ${found.length}`);
    return found[0];
}
