/**
 * The package as `pulumi package add` sees it: @pulumi/pulumi's component provider runs its analyzer
 * over the sources (through package.json's entry point) and yields the schema other languages'
 * SDKs are generated from.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { Analyzer } from "@pulumi/pulumi/provider/experimental/analyzer";
import { ComponentProvider, getPulumiComponents } from "@pulumi/pulumi/provider/experimental/provider";
import * as library from "../../components";

const repoRoot = path.resolve(__dirname, "../..");
const packageJson = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8"));

interface SchemaProperty { description?: string; $ref?: string; items?: SchemaProperty; additionalProperties?: SchemaProperty }
interface PackageSchema {
    name: string;
    version: string;
    resources: Record<string, { isComponent?: boolean; description?: string; inputProperties?: Record<string, SchemaProperty>; properties?: Record<string, SchemaProperty> }>;
    types?: Record<string, { description?: string; properties?: Record<string, SchemaProperty> }>;
}

const componentClasses = getPulumiComponents(library);
let schema: PackageSchema;

beforeAll(async () => {
    const provider = new ComponentProvider({ components: componentClasses, name: packageJson.name, dirname: repoRoot });
    schema = JSON.parse(await provider.getSchema());
}, 120_000);

describe("component package schema", () => {
    it("is declared as a nodejs plugin named like the type tokens", () => {
        expect(YAML.parse(fs.readFileSync(path.join(repoRoot, "PulumiPlugin.yaml"), "utf8"))).toEqual({ runtime: "nodejs" });
        expect(schema.name).toBe("private-registry");
        expect(schema.version).toBe(packageJson.version);
    });

    it("has every exported component under the token its constructor registers", () => {
        const names = componentClasses.map((c) => c.name).sort();
        expect(names).toEqual(["PrivateRegistry", "RegistryBucket", "RegistryClientTrust", "RegistryCredentials", "RegistryFirewall", "RegistryFront", "RegistryMaintenance", "RegistryRedis", "RegistryServer", "RegistryStorage", "RegistryTls", "RegistryTokenService", "ReplicatedRegistry", "RegistryContentTrust"].sort());
        const sources = fs.readdirSync(path.join(repoRoot, "components")).filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
            .map((f) => fs.readFileSync(path.join(repoRoot, "components", f), "utf8")).join("\n");
        for (const name of names) {
            const token = `private-registry:index:${name}`;
            expect(sources).toContain(`super("${token}", name, `);
            expect(schema.resources[token]).toEqual(expect.objectContaining({ isComponent: true }));
        }
        expect(Object.keys(schema.resources).sort()).toEqual(names.map((n) => `private-registry:index:${n}`));
    });

    it("describes every component, input, output and type property", () => {
        const undescribed: string[] = [];
        const check = (where: string, props: Record<string, SchemaProperty> | undefined) => {
            for (const [key, prop] of Object.entries(props ?? {})) {
                if (!prop.description?.trim()) undescribed.push(`${where}.${key}`);
            }
        };
        for (const [token, resource] of Object.entries(schema.resources)) {
            if (!resource.description?.trim()) undescribed.push(token);
            check(`${token} input`, resource.inputProperties);
            check(`${token} output`, resource.properties);
        }
        for (const [token, type] of Object.entries(schema.types ?? {})) check(`${token}`, type.properties);
        expect(undescribed).toEqual([]);
        // Enough properties to make the check mean something.
        expect(Object.keys(schema.resources["private-registry:index:PrivateRegistry"].inputProperties ?? {}).length).toBeGreaterThan(20);
    });

    it("references only types the package itself defines", () => {
        const refs = JSON.stringify(schema).match(/"\$ref":"[^"]+"/g) ?? [];
        for (const ref of refs) {
            expect(ref).toMatch(/^"\$ref":"#\/types\/private-registry:index:[A-Za-z0-9]+"$/);
            const token = ref.replace(/^"\$ref":"#\/types\//, "").replace(/"$/, "");
            expect(schema.types?.[token]).toBeDefined();
        }
    });

    it("is refused by the analyzer when an Args property is a union it cannot express", () => {
        const fixture = path.join(__dirname, "fixtures/unionArgComponent");
        const fixturePackage = JSON.parse(fs.readFileSync(path.join(fixture, "package.json"), "utf8"));
        const analyzer = new Analyzer(fixture, fixturePackage.name, fixturePackage, new Set(["UnionComponent"]));
        expect(() => analyzer.analyze()).toThrow(/union/i);
    });
});
