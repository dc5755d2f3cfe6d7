// Installs and starts what the suite needs (idempotent; quiet when all is there).
const { execFileSync } = require("child_process");
const path = require("path");

module.exports = async () => {
  execFileSync("bash", [path.join(__dirname, "prepare-machine.sh")], { stdio: "inherit" });
};
