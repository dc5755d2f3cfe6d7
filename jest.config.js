/** Unit tests only; the Docker-backed suites have their own configs. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  // Tests exercise the sources: the library's compiled .js sits beside them (built in place).
  moduleFileExtensions: ["ts", "js", "json", "node"],
  moduleNameMapper: { "^private-registry$": "<rootDir>/components/index.ts" },
  reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
  roots: ["<rootDir>/tests/unit"],
  testTimeout: 30000,
};
