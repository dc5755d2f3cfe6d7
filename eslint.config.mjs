// Lints the project's TypeScript with type information: most Pulumi bugs are type-level (an Output
// or a Promise used as if it were its value), which only the type-aware rules can see.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import { defineConfig, globalIgnores } from "eslint/config";
import globals from "globals";
import tseslint from "typescript-eslint";

const unsafeAnyOff = {
    "@typescript-eslint/no-unsafe-argument": "off",
    "@typescript-eslint/no-unsafe-assignment": "off",
    "@typescript-eslint/no-unsafe-call": "off",
    "@typescript-eslint/no-unsafe-member-access": "off",
    "@typescript-eslint/no-unsafe-return": "off",
};

export default defineConfig(
    globalIgnores([
        "**/node_modules/",
        "bin/",
        "coverage/",
        "docs/api/",
        "**/.local-state/",
        // The library is compiled in place next to its sources (tsconfig.build.json).
        "components/**/*.js",
        "**/*.d.ts",
        // Types come from the packed library installed into it; the e2e suite type-checks it after
        // installing (tests/e2e/consumer.e2e.test.ts), as a consumer would.
        "examples/consumer/",
    ]),
    {
        linterOptions: { reportUnusedDisableDirectives: "error" },
    },
    js.configs.recommended,
    {
        // Each file is checked against the tsconfig.json nearest to it (policy/ has its own).
        files: ["**/*.ts"],
        extends: [tseslint.configs.recommendedTypeChecked],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            // pulumi.interpolate or .apply instead: in a template an Output stringifies to a warning text.
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            // The two rules above match the type alias `Output` only, so Input<T>, `Output | undefined`
            // and OutputInstance get through them; these catch all of those (recommendedTypeChecked
            // has them on already: stated here so nobody turns them off as noise).
            "@typescript-eslint/restrict-template-expressions": "error",
            "@typescript-eslint/no-base-to-string": "error",
            "@typescript-eslint/restrict-plus-operands": "error",
            // `import fs = require("fs")` is typed; tests use it where jest.spyOn must patch the module.
            "@typescript-eslint/no-require-imports": ["error", { allowAsImport: true }],
            "@typescript-eslint/no-unused-vars": [
                "error",
                { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" },
            ],
        },
    },
    {
        // Tests read untyped documents on purpose (parsed YAML/JSON, mock resource inputs, Docker
        // inspect output): an assertion on a wrong path fails the test, which is what the any-rules
        // stand in for elsewhere.
        files: ["tests/**/*.test.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off", ...unsafeAnyOff },
    },
    {
        // Harness code driving the engine's untyped monitor internals (protobuf requests, rpc.js);
        // each of these files states its own no-explicit-any exemption.
        files: ["tests/unit/support/program.ts", "tests/unit/support/registrations.ts", "tests/local-apply/monitor.ts", "tests/local-apply/run.ts"],
        rules: unsafeAnyOff,
    },
    {
        // Jest's expect(obj.method) passes methods around unbound on purpose.
        files: ["tests/**/*.test.ts"],
        rules: { "@typescript-eslint/unbound-method": "off" },
    },
    {
        // Jest configs, reporters, global set-up and the firewall suite's agents: plain Node scripts.
        files: ["**/*.js", "**/*.cjs", "**/*.mjs"],
        languageOptions: { globals: globals.node },
    },
    {
        files: ["**/*.js", "**/*.cjs"],
        languageOptions: { sourceType: "commonjs" },
    },
);
