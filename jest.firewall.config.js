/** Real-kernel firewall suite: network namespaces, nftables and the dev registry on Docker. Needs root. */
const { moduleFileExtensions, moduleNameMapper } = require("./jest.config");

module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  moduleFileExtensions,
  moduleNameMapper,
  reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
  roots: ["<rootDir>/tests/firewall"],
  globalSetup: "<rootDir>/tests/setup/jestGlobalSetup.js",
  globalTeardown: "<rootDir>/tests/setup/jestGlobalTeardown.js",
  testTimeout: 60000,
  maxWorkers: 1,
};
