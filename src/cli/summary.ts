import type { SeedReport } from "../monitoring/report.ts";
import type { SeedSummary } from "../api/seed.ts";
import type { VerifyResult } from "../monitoring/verify.ts";

/** Lays out rows as aligned columns (numbers right-aligned). */
function table(head: string[], rows: (string | number)[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? "").length)));
  const cell = (v: string | number, i: number) =>
    typeof v === "number" ? String(v).padStart(widths[i]!) : String(v).padEnd(widths[i]!);
  return [head.map((h, i) => h.padEnd(widths[i]!)).join("  "), ...rows.map((r) => r.map(cell).join("  "))].map(
    (l) => `  ${l.trimEnd()}`,
  );
}

const BARS = "▁▂▃▄▅▆▇█";

/**
 * A series as a one-line chart, one bar per value, scaled from the smallest to the largest.
 *
 * @example
 * sparkline([120, 80, 400, 390]); // "▂▁██"
 */
export function sparkline(values: readonly number[]): string {
  if (values.length === 0) return "";
  const low = Math.min(...values);
  const span = Math.max(...values) - low;
  return values.map((v) => BARS[span === 0 ? 3 : Math.round(((v - low) / span) * (BARS.length - 1))]).join("");
}

const percent = (x: number | null) => (x === null ? "n/a" : `${(x * 100).toFixed(1)}%`);

/**
 * The `db:report` output for a terminal: the same fields as its JSON.
 *
 * @example
 * console.log(formatReport(await buildReport(client, target, 20)));
 */
export function formatReport(r: SeedReport): string {
  const lines = [`Seed report: ${r.target}`, "", `Last ${r.runs.length} runs:`];
  lines.push(
    ...table(
      ["started", "command", "status", "profile", "seed", "scale", "method", "ms", "rows", "error"],
      r.runs.map((x) => [
        x.startedAt,
        x.command,
        x.status,
        x.profile,
        x.seed,
        x.scale,
        x.method ?? "",
        x.durationMs,
        x.totalRows,
        x.errorCode ?? "",
      ]),
    ),
  );
  lines.push(
    "",
    `Transaction success rate: ${percent(r.successRate.rate)} (${r.successRate.succeeded} of ${r.successRate.runs}; ${r.successRate.failed} failed)`,
  );
  if (r.errors.length)
    lines.push(
      "Errors by code:",
      ...table(
        ["code", "count", "frequency"],
        r.errors.map((e) => [e.code, e.count, percent(e.frequency)]),
      ),
    );
  if (r.durations.length) {
    const rows = r.durations.map((d) => [
      d.profile,
      d.scale,
      d.methods.join(", "),
      d.runs,
      d.meanMs,
      d.p95Ms,
      sparkline(d.trend),
    ]);
    lines.push(
      "Duration per profile and scale (successful runs; trend oldest → newest):",
      ...table(["profile", "scale", "method", "runs", "mean ms", "p95 ms", "trend"], rows),
    );
  }
  lines.push(
    "",
    "Rows per table:",
    ...table(
      ["table", "rows"],
      r.rowCounts.map((c) => [c.table, c.rows]),
    ),
  );
  const failing = r.integrity.filter((c) => c.status === "fail");
  lines.push("", `Integrity: ${r.integrity.length - failing.length}/${r.integrity.length} checks pass`);
  for (const c of failing) lines.push(`  FAIL ${c.id}: ${c.violations} rows, e.g. ${c.examples.join(", ")}`);
  const bad = r.constraints.filter((c) => c.status !== "pass");
  lines.push(
    `Constraints: ${r.constraints.length - bad.length}/${r.constraints.length} foreign and unique keys present and valid`,
  );
  for (const c of bad)
    lines.push(
      `  ${c.status.toUpperCase()} ${c.kind} ${c.table}(${c.columns.join(", ")})${c.name ? ` ${c.name}` : ""}`,
    );
  return lines.join("\n");
}

/**
 * The `db:verify` output for a terminal: the same fields as its JSON.
 *
 * @example
 * console.log(formatVerify(await verifyDatabase({ profile: "dev" })));
 */
export function formatVerify(v: VerifyResult): string {
  const head = `${v.identical ? "Identical to" : "Differs from"} the seed profile=${v.profile} seed=${v.seed} scale=${v.scale}${v.localAccounts ? " with local accounts" : ""} (${v.basis}): ${v.target}`;
  const ids = (list: string[], n: number) => (n === 0 ? "" : ` (${list.join(", ")}${n > list.length ? ", …" : ""})`);
  const rows = v.tables.map((d) => [
    d.table,
    d.identical ? "identical" : "differs",
    d.liveRows,
    d.expectedRows,
    d.added,
    d.removed,
    d.changed,
  ]);
  const lines = [head, "", ...table(["table", "state", "live", "expected", "added", "removed", "changed"], rows)];
  for (const d of v.tables.filter((x) => !x.identical)) {
    lines.push(
      `  ${d.table}: ${d.added} added${ids(d.examples.added, d.added)}, ${d.removed} removed${ids(d.examples.removed, d.removed)}, ${d.changed} changed${ids(d.examples.changed, d.changed)}`,
    );
  }
  return lines.join("\n");
}

/**
 * The end-of-run summary as text: rows per table, time per phase, integrity results.
 *
 * @example
 * console.log(formatSummary(summary));
 */
export function formatSummary(summary: SeedSummary): string {
  const lines: string[] = [];
  const head = summary.dryRun ? "Plan (dry run: nothing written)" : "Seeded";
  lines.push(`${head}: ${summary.target}  profile=${summary.profile} seed=${summary.seed} scale=${summary.scale}`);
  if (summary.localAccounts) {
    lines.push(
      `Local accounts (${summary.localAccounts.file}): ${summary.localAccounts.users.map((u) => `${u.username} (${u.auth0Id})`).join(", ") || "none"}`,
    );
  }
  lines.push("");
  const width = Math.max(5, ...summary.tables.map((t) => t.table.length));
  lines.push(
    `  ${"table".padEnd(width)}  ${"rows".padStart(9)}${summary.dryRun ? "" : `  ${"removed".padStart(9)}  ${"ms".padStart(7)}`}`,
  );
  for (const t of summary.tables) {
    const extra = summary.dryRun ? "" : `  ${String(t.removed ?? 0).padStart(9)}  ${String(t.ms ?? 0).padStart(7)}`;
    lines.push(`  ${t.table.padEnd(width)}  ${String(t.rows).padStart(9)}${extra}`);
  }
  lines.push(`  ${"total".padEnd(width)}  ${String(summary.totalRows).padStart(9)}`);
  lines.push("");
  const p = summary.phases;
  lines.push(
    `  phases (ms): validate ${p.validate}, generate ${p.generate}, cleanup ${p.cleanup}, write ${p.write}, verify ${p.verify}, total ${p.total}`,
  );
  if (!summary.dryRun) {
    const failed = summary.integrity.filter((r) => r.violations > 0);
    lines.push(
      `  integrity: ${summary.integrity.length - failed.length}/${summary.integrity.length} checks pass${failed.length ? "" : " (every application rule, no orphans)"}`,
    );
    for (const r of failed) lines.push(`    FAIL ${r.id}: ${r.violations} rows, e.g. ${r.examples.join(", ")}`);
  }
  return lines.join("\n");
}
