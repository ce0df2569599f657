// Prints vitest's JSON report as the plain closing line CI reads ("N passed, N failed, N skipped")
// and exits non-zero when any test failed or the report is missing.
import { readFileSync } from 'node:fs';

let report;
try {
  report = JSON.parse(readFileSync('.vitest-report.json', 'utf8'));
} catch (e) {
  console.error(`test-summary: no vitest report (${e.message})`);
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
const failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || passed === 0 || report.success === false ? 1 : 0);
