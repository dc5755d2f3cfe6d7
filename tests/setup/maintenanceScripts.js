// The maintenance scripts the stacks under test install as root. A destroy leaves a stack's script
// (it is what restores backups), so the suite removes the ones it installed, with their logs.
const fs = require("fs");
const path = require("path");

const binDir = "/usr/local/sbin";
const logDir = "/var/log";
const prefix = "private-registry-maintenance-";

function installedScripts() {
  try {
    return fs.readdirSync(binDir).filter((f) => f.startsWith(prefix));
  } catch {
    return [];
  }
}

/** Removes the scripts (and logs) installed since `before` was taken; returns their names. */
function removeInstalledSince(before) {
  const added = installedScripts().filter((f) => !before.includes(f));
  for (const script of added) {
    fs.rmSync(path.join(binDir, script), { force: true });
    fs.rmSync(path.join(logDir, `${script}.log`), { force: true });
  }
  return added;
}

module.exports = { installedScripts, removeInstalledSince };
