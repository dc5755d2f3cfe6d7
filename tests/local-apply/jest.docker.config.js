/** The local apply harness's Docker-backed tests (run: npm run test:local-apply:docker). */
const base = require("./jest.config");

module.exports = {
  ...base,
  testMatch: ["**/*.docker.test.ts"],
  testPathIgnorePatterns: ["/fixtures/"],
  testTimeout: 300000,
  globalSetup: "<rootDir>/tests/setup/jestGlobalSetup.js",
  globalTeardown: "<rootDir>/tests/setup/jestGlobalTeardown.js",
};
