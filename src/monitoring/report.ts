import type pg from "pg";
import { TABLES, tableOf } from "../core/datamodel.ts";
import { ident } from "../db/connection.ts";
import { runIntegrityChecks, type IntegrityResult } from "../write/integrity.ts";

/** A run as the report lists it. */
export interface ReportRun {
  id: string;
  command: string;
  status: string;
  profile: string;
  seed: number;
  scale: number;
  method: string | null;
  startedAt: string;
  durationMs: number;
  totalRows: number;
  errorCode: string | null;
  errorMessage: string | null;
}

/** A constraint the schema declares, as found in the live database. */
export interface ConstraintCheck {
  table: string;
  kind: "foreign key" | "unique";
  columns: string[];
  status: "pass" | "missing" | "invalid";
  name: string | null;
}

/** What `db:report` shows, on a terminal and as JSON alike. */
export interface SeedReport {
  target: string;
  runs: ReportRun[];
  successRate: { runs: number; succeeded: number; failed: number; rate: number | null };
  errors: { code: string; count: number; frequency: number }[];
  /** Successful runs' durations per profile and scale (a scale-1000 run and a scale-1 run never share a mean), oldest first in `trend`. */
  durations: {
    profile: string;
    scale: number;
    methods: string[];
    runs: number;
    meanMs: number;
    p95Ms: number;
    trend: number[];
  }[];
  rowCounts: { table: string; rows: number }[];
  integrity: (IntegrityResult & { status: "pass" | "fail" })[];
  constraints: ConstraintCheck[];
}

/**
 * Transaction success rate, error frequency (by code) and duration per profile and scale over
 * runs, newest first. Pure; p95 by the nearest-rank method over successful runs; each group's
 * `trend` lists its durations oldest first, for a sparkline.
 *
 * @example
 * runStatistics([{ status: "success", profile: "dev", scale: 1, method: "copy", durationMs: 120, errorCode: null }]).successRate.rate; // 1
 */
export function runStatistics(
  runs: readonly (Pick<ReportRun, "status" | "profile" | "durationMs" | "errorCode"> &
    Partial<Pick<ReportRun, "scale" | "method">>)[],
): Pick<SeedReport, "successRate" | "errors" | "durations"> {
  const succeeded = runs.filter((r) => r.status === "success").length;
  const failed = runs.length - succeeded;
  const byCode = new Map<string, number>();
  for (const r of runs)
    if (r.status !== "success") byCode.set(r.errorCode ?? "UNKNOWN", (byCode.get(r.errorCode ?? "UNKNOWN") ?? 0) + 1);
  const errors = [...byCode]
    .map(([code, count]) => ({ code, count, frequency: count / runs.length }))
    .sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1));
  const groups = new Map<string, { profile: string; scale: number; methods: Set<string>; list: number[] }>();
  for (const r of runs) {
    if (r.status !== "success") continue;
    const scale = r.scale ?? 1;
    const key = `${r.profile}\u0000${scale}`;
    const group = groups.get(key) ?? { profile: r.profile, scale, methods: new Set<string>(), list: [] };
    if (r.method) group.methods.add(r.method);
    group.list.push(r.durationMs);
    groups.set(key, group);
  }
  const durations = [...groups.values()].map(({ profile, scale, methods, list }) => {
    const sorted = [...list].sort((a, b) => a - b);
    return {
      profile,
      scale,
      methods: [...methods].sort(),
      runs: list.length,
      meanMs: Math.round(list.reduce((s, x) => s + x, 0) / list.length),
      p95Ms: sorted[Math.max(0, Math.ceil(0.95 * sorted.length) - 1)]!,
      trend: [...list].reverse(),
    };
  });
  return {
    successRate: { runs: runs.length, succeeded, failed, rate: runs.length ? succeeded / runs.length : null },
    errors,
    durations,
  };
}

/**
 * Builds the report from the live database: the last `last` runs and their statistics,
 * current row counts, every integrity check and the schema's constraints. Reads only.
 *
 * @example
 * const report = await buildReport(client, target, 20);
 */
export async function buildReport(client: pg.ClientBase, target: string, last: number): Promise<SeedReport> {
  const { rows } = await client.query(
    `SELECT id, command, status, profile, seed::text AS seed, scale, method, started_at, duration_ms, rows_per_table, error_code, error_message
       FROM "seed_runs" ORDER BY started_at DESC, id DESC LIMIT $1`,
    [last],
  );
  const runs: ReportRun[] = rows.map((r) => ({
    id: r.id,
    command: r.command,
    status: r.status,
    profile: r.profile,
    seed: Number(r.seed),
    scale: r.scale,
    method: r.method,
    startedAt: new Date(r.started_at).toISOString(),
    durationMs: r.duration_ms,
    totalRows: Object.values(r.rows_per_table as Record<string, number>).reduce((s, n) => s + n, 0),
    errorCode: r.error_code,
    errorMessage: r.error_message,
  }));
  const rowCounts: SeedReport["rowCounts"] = [];
  for (const table of TABLES) {
    const { rows: c } = await client.query(`SELECT count(*)::int AS n FROM ${ident(table.name)}`);
    rowCounts.push({ table: table.name, rows: c[0].n });
  }
  const integrity = (await runIntegrityChecks(async <T>(sql: string) => (await client.query(sql)).rows as T[])).map(
    (r) => ({ ...r, status: r.violations === 0 ? ("pass" as const) : ("fail" as const) }),
  );
  return { target, runs, ...runStatistics(runs), rowCounts, integrity, constraints: await constraintChecks(client) };
}

/** Every foreign key and unique key the schema declares: present and valid in the live database? */
async function constraintChecks(client: pg.ClientBase): Promise<ConstraintCheck[]> {
  const { rows: live } = await client.query<{
    name: string;
    table: string;
    kind: string;
    columns: string[];
    ref: string | null;
    valid: boolean;
  }>(
    `SELECT c.conname AS name, c.conrelid::regclass::text AS table, c.contype AS kind, c.confrelid::regclass::text AS ref, c.convalidated AS valid,
            ARRAY(SELECT a.attname::text FROM unnest(c.conkey) k JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k ORDER BY a.attname) AS columns
       FROM pg_constraint c WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('f', 'u', 'p')
     UNION ALL
     SELECT i.indexrelid::regclass::text, i.indrelid::regclass::text, 'i', NULL, i.indisvalid,
            ARRAY(SELECT a.attname::text FROM unnest(i.indkey) k JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k ORDER BY a.attname)
       FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid WHERE i.indisunique AND t.relnamespace = 'public'::regnamespace`,
  );
  const key = (cols: readonly string[]) => [...cols].sort().join(",");
  const out: ConstraintCheck[] = [];
  for (const table of TABLES) {
    for (const fk of table.foreignKeys) {
      const found = live.find(
        (c) =>
          c.kind === "f" &&
          c.table === table.name &&
          key(c.columns) === key(fk.columns) &&
          c.ref === tableOf(fk.references).name,
      );
      out.push({
        table: table.name,
        kind: "foreign key",
        columns: [...fk.columns],
        name: found?.name ?? null,
        status: !found ? "missing" : found.valid ? "pass" : "invalid",
      });
    }
    for (const fields of table.uniqueKeys) {
      const columns = fields.map((f) => table.columns.find((c) => c.field === f)?.name ?? f);
      const found = live.find((c) => c.kind !== "f" && c.table === table.name && key(c.columns) === key(columns));
      out.push({
        table: table.name,
        kind: "unique",
        columns,
        name: found?.name ?? null,
        status: !found ? "missing" : found.valid ? "pass" : "invalid",
      });
    }
  }
  return out;
}
