/** Unit tests only; the Docker-backed suites have their own configs. */
module.exports = {
  preset: "ts-jest",
  testEnvironment: "node",
  roots: ["<rootDir>/tests/unit"],
  testTimeout: 30000,
};
