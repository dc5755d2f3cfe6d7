/** Unit tests and the integration test against the real registry binary (test/registry.test.ts). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  // jose ships ESM only; Node 20.19+ requires it natively, jest needs it compiled to CommonJS.
  transform: {
    "^.+\\.[tj]s$": ["ts-jest", { tsconfig: { module: "commonjs", moduleResolution: "node10", allowJs: true, isolatedModules: true } }],
  },
  transformIgnorePatterns: ["/node_modules/(?!jose/)"],
  testTimeout: 60000,
  // The repository's CI adds these counts to its one "N passed, N failed" line.
  reporters: ["default", "<rootDir>/../tests/support/summaryReporter.js"],
};
