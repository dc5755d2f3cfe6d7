/**
 * The Ceph RGW (S3) test set-up's own test, and RegistryBucket against it: a real single-node
 * cluster on 127.0.0.1. Needs root.
 */
const { moduleFileExtensions } = require("../../jest.config");

module.exports = {
  rootDir: "../..",
  preset: "ts-jest",
  testEnvironment: "node",
  moduleFileExtensions,
  reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
  roots: ["<rootDir>/tests/setup"],
  testMatch: ["**/cephRgw.test.ts", "**/registryBucket.test.ts"],
  testTimeout: 240000,
  maxWorkers: 1,
  verbose: true,
};
