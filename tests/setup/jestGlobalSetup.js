// Installs and starts what the suite needs (idempotent; quiet when all is there), and builds the
// library the program imports by its package name.
const { execFileSync } = require("child_process");
const path = require("path");
const { installedScripts } = require("./maintenanceScripts");

module.exports = async () => {
  // Read by jestGlobalTeardown.js, which runs in this same process.
  globalThis.privateRegistryMaintenanceScriptsBefore = installedScripts();
  execFileSync("bash", [path.join(__dirname, "prepare-machine.sh")], { stdio: "inherit" });
  execFileSync("npm", ["run", "--silent", "build"], { cwd: path.join(__dirname, "../.."), stdio: "inherit" });
};
