/** The local apply harness's Docker-backed tests (run: npm run test:local-apply:docker). */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
  rootDir: "../..",
  roots: ["<rootDir>/tests/local-apply"],
  testMatch: ["**/*.docker.test.ts"],
  testTimeout: 300000,
  globalSetup: "<rootDir>/tests/setup/jestGlobalSetup.js",
};
