/** The local apply harness's Docker-backed tests (run: npm run test:local-apply:docker). */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  rootDir: "../..",
  roots: ["<rootDir>/tests/local-apply"],
  testMatch: ["**/*.docker.test.ts"],
  testTimeout: 300000,
};
