import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

// The safety table (docs/safety.md, where the README points) names, for each guarantee, the
// tests that fail when it breaks: each reference must be a test (or describe) title of that
// file, so that a renamed or removed test cannot leave a guarantee backed by nothing.
const safety = readFileSync("docs/safety.md", "utf8");
const section = safety.slice(safety.indexOf("## Safety guarantees"), safety.indexOf("## Planted bugs"));
const rows = section.split("\n").filter((line) => line.startsWith("| **"));

/** Each `file` › title reference of a row's "proven by" cell (titles may end in an ellipsis). */
function references(row: string): { file: string; title: string }[] {
  const cell = row
    .split(" | ")
    .at(-1)!
    .replace(/\s*\|$/, "");
  return [...cell.matchAll(/`(test\/[^`]+\.test\.ts)` › ([^;]+?)(?:…)?(?=;|$)/g)].map((m) => ({
    file: m[1]!,
    title: m[2]!.trim(),
  }));
}

describe("the safety table", () => {
  it("has a row for every guarantee, each naming at least one test", () => {
    expect(rows.length).toBeGreaterThanOrEqual(15);
    for (const row of rows) expect(references(row).length, row.slice(0, 80)).toBeGreaterThan(0);
  });

  it("names only tests that exist, by the start of their title", () => {
    const missing: string[] = [];
    for (const row of rows) {
      for (const { file, title } of references(row)) {
        if (!existsSync(file)) missing.push(`${file} (no such file)`);
        else if (!readFileSync(file, "utf8").includes(title)) missing.push(`${file} › ${title}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
