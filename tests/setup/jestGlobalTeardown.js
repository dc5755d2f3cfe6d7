// Removes the maintenance scripts the suite's stacks installed (their destroy keeps them on purpose).
const { removeInstalledSince } = require("./maintenanceScripts");

module.exports = async () => {
  const before = globalThis.privateRegistryMaintenanceScriptsBefore;
  if (!Array.isArray(before)) return;
  const removed = removeInstalledSince(before);
  if (removed.length > 0) console.log(`removed the maintenance scripts the tests installed: ${removed.join(", ")}`);
};
