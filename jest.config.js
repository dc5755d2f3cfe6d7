/** Unit tests only; the Docker-backed suites have their own configs. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
  roots: ["<rootDir>/tests/unit"],
  testTimeout: 30000,
};
