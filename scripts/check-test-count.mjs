// CI's last word on a test run (.ci/run): fails unless every test the suite holds ran and
// passed. The suite is counted from itself, never from a number written down: every test file
// under test/ must appear in Vitest's JSON report (a file left out, e.g. by a config that runs
// a subset without a server, fails here), and every test the report collected must have passed
// (a skipped, todo or failed test counts as not run).
// Usage: node scripts/check-test-count.mjs <vitest json report>
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));
const report = JSON.parse(readFileSync(process.argv[2], "utf8"));

/** Every `*.test.ts` under `dir`, relative to the repository. */
function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return testFiles(path);
    return entry.name.endsWith(".test.ts") ? [relative(root, path)] : [];
  });
}

const onDisk = testFiles(join(root, "test")).sort();
const reported = new Set(report.testResults.map((file) => relative(root, file.name)));
const notRun = onDisk.filter((file) => !reported.has(file));
const total = report.numTotalTests;
const passed = report.numPassedTests;
console.log(
  `tests: ${passed} passed, ${report.numFailedTests} failed, ${total - passed - report.numFailedTests} not run, of ${total} in ${reported.size} of ${onDisk.length} test files`,
);
const problems = [];
if (notRun.length > 0) problems.push(`${notRun.length} test file(s) did not run: ${notRun.join(", ")}`);
if (passed !== total)
  problems.push(`${total - passed} of the ${total} tests collected did not pass (failed, skipped or todo)`);
if (total === 0) problems.push("no test ran");
if (problems.length > 0) {
  console.error(`error: the suite did not run whole: ${problems.join("; ")}`);
  process.exit(1);
}
