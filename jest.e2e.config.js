/** End-to-end suite: the dev stack applied for real on the local Docker engine. Needs root. */
const { moduleFileExtensions, moduleNameMapper } = require("./jest.config");

module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  moduleFileExtensions,
  moduleNameMapper,
  reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
  roots: ["<rootDir>/tests/e2e"],
  testMatch: ["**/*.e2e.test.ts"],
  globalSetup: "<rootDir>/tests/setup/jestGlobalSetup.js",
  globalTeardown: "<rootDir>/tests/setup/jestGlobalTeardown.js",
  testTimeout: 600000,
  maxWorkers: 1,
};
