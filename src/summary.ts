import type { SeedSummary } from "./seed.ts";

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
    lines.push(`Local accounts (${summary.localAccounts.file}): ${summary.localAccounts.users.map((u) => `${u.username} (${u.auth0Id})`).join(", ") || "none"}`);
  }
  lines.push("");
  const width = Math.max(5, ...summary.tables.map((t) => t.table.length));
  lines.push(`  ${"table".padEnd(width)}  ${"rows".padStart(9)}${summary.dryRun ? "" : `  ${"removed".padStart(9)}  ${"ms".padStart(7)}`}`);
  for (const t of summary.tables) {
    const extra = summary.dryRun ? "" : `  ${String(t.removed ?? 0).padStart(9)}  ${String(t.ms ?? 0).padStart(7)}`;
    lines.push(`  ${t.table.padEnd(width)}  ${String(t.rows).padStart(9)}${extra}`);
  }
  lines.push(`  ${"total".padEnd(width)}  ${String(summary.totalRows).padStart(9)}`);
  lines.push("");
  const p = summary.phases;
  lines.push(`  phases (ms): validate ${p.validate}, generate ${p.generate}, cleanup ${p.cleanup}, write ${p.write}, verify ${p.verify}, total ${p.total}`);
  if (!summary.dryRun) {
    const failed = summary.integrity.filter((r) => r.violations > 0);
    lines.push(`  integrity: ${summary.integrity.length - failed.length}/${summary.integrity.length} checks pass${failed.length ? "" : " (every application rule, no orphans)"}`);
    for (const r of failed) lines.push(`    FAIL ${r.id}: ${r.violations} rows, e.g. ${r.examples.join(", ")}`);
  }
  return lines.join("\n");
}
