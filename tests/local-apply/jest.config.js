/** The local apply harness's own tests that need no Docker (run: npm run test:local-apply). */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  moduleFileExtensions: ["ts", "js", "json", "node"],
  moduleNameMapper: { "^private-registry$": "<rootDir>/components/index.ts" },
  reporters: ["default", "<rootDir>/tests/support/summaryReporter.js"],
  rootDir: "../..",
  roots: ["<rootDir>/tests/local-apply"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["\\.docker\\.test\\.ts$", "/fixtures/"],
  testTimeout: 120000,
};
