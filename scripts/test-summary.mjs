// Prints vitest's totals as one plain line ("Tests: N passed, N failed, N skipped") from the JSON
// report the test command writes, and fails when no test ran at all.
import { readFileSync } from 'node:fs';

const report = JSON.parse(
  readFileSync(new URL('../node_modules/.cache/vitest-report.json', import.meta.url), 'utf8'),
);
const passed = report.numPassedTests ?? 0;
const failed = report.numFailedTests ?? 0;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (passed + failed === 0) {
  console.error('no test ran');
  process.exit(1);
}
if (failed > 0) process.exit(1);
