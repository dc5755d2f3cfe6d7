/** Real-kernel firewall suite: network namespaces, nftables and the dev registry on Docker. Needs root. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
  roots: ["<rootDir>/tests/firewall"],
  globalSetup: "<rootDir>/tests/setup/jestGlobalSetup.js",
  testTimeout: 60000,
  maxWorkers: 1,
};
