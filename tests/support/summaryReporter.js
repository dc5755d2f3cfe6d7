// Appends each jest run's pass/fail counts to $TEST_SUMMARY_FILE, so .ci/run can print one closing
// "N passed, N failed" line for all suites together.
const fs = require("fs");

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.TEST_SUMMARY_FILE;
    if (!file) return;
    fs.appendFileSync(file, `${results.numPassedTests} ${results.numFailedTests + results.numRuntimeErrorTestSuites}\n`);
  }
}

module.exports = SummaryReporter;
