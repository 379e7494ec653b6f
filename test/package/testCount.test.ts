import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

// CI's check that the whole suite ran (.ci/run → scripts/check-test-count.mjs), on reports in
// the shape Vitest's JSON reporter writes.
const root = resolve(import.meta.dirname, "../..");
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".test.ts") ? [join(dir, e.name)] : [],
  );
const every = files(join(root, "test"));

function check(report: { files: string[]; passed: number; failed?: number; total: number }) {
  const path = join(mkdtempSync(join(tmpdir(), "test-count-")), "report.json");
  writeFileSync(
    path,
    JSON.stringify({
      numTotalTests: report.total,
      numPassedTests: report.passed,
      numFailedTests: report.failed ?? 0,
      testResults: report.files.map((name) => ({ name })),
    }),
  );
  const run = spawnSync(process.execPath, [join(root, "scripts/check-test-count.mjs"), path], { encoding: "utf8" });
  return { code: run.status, out: run.stdout + run.stderr };
}

describe("CI's check that the whole suite ran", () => {
  it("passes when every test file ran and every test passed", () => {
    const run = check({ files: every, passed: 700, total: 700 });
    expect(run.out).toBe(
      `tests: 700 passed, 0 failed, 0 not run, of 700 in ${every.length} of ${every.length} test files\n`,
    );
    expect(run.code).toBe(0);
  });

  it("fails when a test file did not run (a subset), naming it", () => {
    const run = check({ files: every.slice(1), passed: 690, total: 690 });
    expect(run.code).toBe(1);
    expect(run.out).toContain(
      `error: the suite did not run whole: 1 test file(s) did not run: ${every[0]!.slice(root.length + 1)}`,
    );
  });

  it("fails when a collected test was skipped or failed", () => {
    expect(check({ files: every, passed: 699, total: 700 })).toMatchObject({
      code: 1,
      out: expect.stringContaining("1 of the 700 tests collected did not pass (failed, skipped or todo)"),
    });
    expect(check({ files: every, passed: 699, failed: 1, total: 700 }).code).toBe(1);
  });

  it("fails when nothing ran", () => {
    expect(check({ files: every, passed: 0, total: 0 })).toMatchObject({
      code: 1,
      out: expect.stringContaining("no test ran"),
    });
  });
});
