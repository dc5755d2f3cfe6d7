/**
 * Pulumi.yaml declares every config key once (type, default, description). This writes what is
 * derived from it: components/configDeclarations.ts (the library's defaults and key list) and the
 * README's configuration table.
 *
 *   npm run generate            # rewrite both
 *   npm run generate -- --check # exit 1 when either is out of date (the unit tests do this too)
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

export const repoRoot = path.resolve(__dirname, "..");
const declarationsFile = path.join(repoRoot, "components/configDeclarations.ts");
const readmeFile = path.join(repoRoot, "README.md");
const tableStart = "<!-- config-table:start (generated from Pulumi.yaml by npm run generate) -->";
const tableEnd = "<!-- config-table:end -->";

export interface ConfigDeclaration {
    type: "string" | "integer" | "boolean" | "array";
    default: unknown;
    description: string;
}

/** The `config:` block of Pulumi.yaml, keys without the project prefix, in file order. */
export function readDeclarations(pulumiYaml: string): Record<string, ConfigDeclaration> {
    const project = YAML.parse(pulumiYaml) as { name: string; config?: Record<string, Partial<ConfigDeclaration>> };
    const out: Record<string, ConfigDeclaration> = {};
    for (const [fullKey, decl] of Object.entries(project.config ?? {})) {
        const key = fullKey.replace(`${project.name}:`, "");
        if (!decl.type || !("default" in decl) || !decl.description) {
            throw new Error(`Pulumi.yaml: ${fullKey} needs a type, a default and a description`);
        }
        out[key] = { type: decl.type, default: decl.default, description: decl.description };
    }
    return out;
}

const tsTypes: Record<ConfigDeclaration["type"], string> = { string: "string", integer: "number", boolean: "boolean", array: "string[]" };

export function renderDeclarationsModule(decls: Record<string, ConfigDeclaration>): string {
    const fields = Object.entries(decls).map(([key, d]) => `    /** ${d.description} */\n    ${key}: ${tsTypes[d.type]};`).join("\n");
    const body = Object.entries(decls)
        .map(([key, d]) => `    ${key}: { type: ${JSON.stringify(d.type)}, default: ${JSON.stringify(d.default)}, description: ${JSON.stringify(d.description)} },`)
        .join("\n");
    return `// Generated from Pulumi.yaml by scripts/generate-settings.ts (npm run generate); do not edit.

/** Every config key of the stack, with the type Pulumi.yaml declares for it. */
export interface StackConfig {
${fields}
}

/** How Pulumi.yaml declares one config key. */
export interface ConfigDeclaration {
    /** The key's type in Pulumi.yaml. */
    readonly type: "string" | "integer" | "boolean" | "array";
    /** The value the key has when a stack does not set it. */
    readonly default: string | number | boolean | readonly string[];
    /** What the key means. */
    readonly description: string;
}

/** Every config key of the stack as Pulumi.yaml declares it: type, default and description. */
export const configDeclarations: { readonly [K in keyof StackConfig]: ConfigDeclaration } = {
${body}
};
`;
}

/** A default as the README shows it. */
function readmeValue(value: unknown): string {
    if (Array.isArray(value)) return `\`[${value.join(", ")}]\``;
    if (value === "") return `\`""\``;
    return `\`${String(value)}\``;
}

export function renderReadmeTable(decls: Record<string, ConfigDeclaration>): string {
    const rows = Object.entries(decls).map(([key, d]) => `| \`${key}\` | ${readmeValue(d.default)} | ${d.description.replace(/\|/g, "\\|")} |`);
    return [tableStart, "| key | default | meaning |", "| --- | --- | --- |", ...rows, tableEnd].join("\n");
}

export function replaceReadmeTable(readme: string, table: string): string {
    const start = readme.indexOf(tableStart);
    const end = readme.indexOf(tableEnd);
    if (start < 0 || end < start) throw new Error(`README.md has no ${tableStart} … ${tableEnd} block`);
    return readme.slice(0, start) + table + readme.slice(end + tableEnd.length);
}

/** The files as they should be, keyed by path. */
export function generatedFiles(): Record<string, string> {
    const decls = readDeclarations(fs.readFileSync(path.join(repoRoot, "Pulumi.yaml"), "utf8"));
    return {
        [declarationsFile]: renderDeclarationsModule(decls),
        [readmeFile]: replaceReadmeTable(fs.readFileSync(readmeFile, "utf8"), renderReadmeTable(decls)),
    };
}

if (require.main === module) {
    const check = process.argv.includes("--check");
    let stale = 0;
    for (const [file, content] of Object.entries(generatedFiles())) {
        const current = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
        if (current === content) continue;
        if (check) {
            console.error(`${path.relative(repoRoot, file)} is out of date with Pulumi.yaml: run npm run generate`);
            stale++;
        } else {
            fs.writeFileSync(file, content);
            console.log(`wrote ${path.relative(repoRoot, file)}`);
        }
    }
    process.exit(stale > 0 ? 1 : 0);
}
