/**
 * One list of settings: Pulumi.yaml declares each config key (type, default, description); the
 * library's declarations and the README table are generated from it, and the components' JSDoc must
 * say the same.
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { configDeclarations, defaultRegistrySettings, stackOnlyConfigKeys } from "../../components";
import { generatedFiles, readDeclarations, renderDeclarationsModule, renderReadmeTable } from "../../scripts/generate-settings";

const repoRoot = path.resolve(__dirname, "../..");
const pulumiYaml = fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8");

/** JSDoc text of each property of each exported `*Args` interface in components/. */
function argsDocs(): Record<string, Record<string, string>> {
    const out: Record<string, Record<string, string>> = {};
    for (const file of fs.readdirSync(path.join(repoRoot, "components")).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))) {
        const source = ts.createSourceFile(file, fs.readFileSync(path.join(repoRoot, "components", file), "utf8"), ts.ScriptTarget.ES2022, true);
        source.forEachChild((node) => {
            if (!ts.isInterfaceDeclaration(node) || !node.name.text.endsWith("Args")) return;
            const props: Record<string, string> = {};
            for (const member of node.members) {
                if (!ts.isPropertySignature(member)) continue;
                const doc = ts.getJSDocCommentsAndTags(member).map((d) => ts.getTextOfJSDocComment((d as ts.JSDoc).comment) ?? "").join(" ");
                props[member.name.getText(source)] = doc.replace(/\s+/g, " ").trim();
            }
            out[node.name.text] = props;
        });
    }
    return out;
}

/** How a default is written in JSDoc: `Default: 5000.`, `Default: "0.0.0.0".`, `Default: [].` */
function docDefault(value: unknown): string {
    return `Default: ${typeof value === "string" || Array.isArray(value) ? JSON.stringify(value) : String(value)}.`;
}

describe("settings declared once, in Pulumi.yaml", () => {
    it("components/configDeclarations.ts and the README table are generated from it and current", () => {
        for (const [file, expected] of Object.entries(generatedFiles())) {
            expect({ file: path.relative(repoRoot, file), current: fs.readFileSync(file, "utf8") === expected }).toEqual({ file: path.relative(repoRoot, file), current: true });
        }
        const rendered = renderDeclarationsModule(readDeclarations(pulumiYaml));
        expect(rendered).toContain(`port: { type: "integer", default: 5000,`);
        expect(rendered).toContain(`    /** Host port the registry is published on. */\n    port: number;`);
    });

    it("a changed default or description in Pulumi.yaml changes what is generated", () => {
        const changed = readDeclarations(pulumiYaml.replace(/(private-registry:port:[\s\S]*?default:) 5000/, "$1 5001"));
        expect(changed.port.default).toBe(5001);
        expect(renderReadmeTable(changed)).toContain("| `port` | `5001` |");
        expect(() => readDeclarations("name: p\nconfig:\n  p:x:\n    type: string\n")).toThrow(/p:x needs a type, a default and a description/);
    });

    it("the library's defaults are the declared ones", () => {
        for (const [key, value] of Object.entries(defaultRegistrySettings)) {
            expect({ key, value }).toEqual({ key, value: configDeclarations[key as keyof typeof configDeclarations].default });
        }
        expect(Object.keys(defaultRegistrySettings).length + stackOnlyConfigKeys.length).toBe(Object.keys(configDeclarations).length);
    });

    it("PrivateRegistryArgs documents every registry setting with Pulumi.yaml's description and default", () => {
        const docs = argsDocs().PrivateRegistryArgs;
        const required = new Set(["hostnames", "users"]);
        const programOnly = new Set(["dockerHost", "sshHost", "sshUser", "sshHostKey", "clientTrustLocal", "clientTrustContainerd",
            "notificationUrl", "notificationTimeout", "notificationThreshold", "notificationBackoff", "notificationIgnoredMediaTypes", "notificationIgnoredActions",
            "proxyRemoteUrl", "proxyUsername", "proxyCaCertPem",
            "storageBackend", "s3Endpoint", "s3Region", "s3Bucket", "s3RootDirectory", "s3Redirect", "s3ChunkSizeMb", "s3CaCertPem",
            "s3CreateBucket", "s3RgwUser", "s3RgwAdminCommand", "replicas", "redisImage", "redisMaxMemoryMb",
            "auth", "tokenPort", "tokenLifetimeSeconds", "tokenServiceNodeImage", "contentTrust", "notaryPort", "notaryServerImage", "notarySignerImage", "postgresImage"]);
        for (const [key, decl] of Object.entries(configDeclarations)) {
            if (programOnly.has(key)) {
                expect({ key, arg: docs[key] }).toEqual({ key, arg: undefined });
                continue;
            }
            const expected = `${decl.description} ${required.has(key) ? "Required." : docDefault(decl.default)}`;
            expect({ key, doc: docs[key] }).toEqual({ key, doc: expected });
        }
        // Args that aren't config keys are few and deliberate.
        expect(Object.keys(docs).filter((k) => !(k in configDeclarations))).toEqual(["hostConnection", "firewallConnection", "notificationEndpoints", "pullThroughCache", "s3Storage", "tokenAuth", "notary"]);
    });

    it("other components state the same default wherever a property has a setting's name", () => {
        const mismatches: string[] = [];
        for (const [iface, props] of Object.entries(argsDocs())) {
            // An access rule's users are whom it grants to, not the registry's users.
            if (iface === "PrivateRegistryArgs" || iface === "FirewallConnectionArgs" || iface === "RegistryAccessRuleArgs") continue;
            for (const [prop, doc] of Object.entries(props)) {
                const decl = configDeclarations[prop as keyof typeof configDeclarations];
                if (!decl || !/Default/.test(doc)) continue;
                if (!doc.endsWith(docDefault(decl.default))) mismatches.push(`${iface}.${prop}: "${doc}" should end with "${docDefault(decl.default)}"`);
            }
        }
        expect(mismatches).toEqual([]);
    });
});
