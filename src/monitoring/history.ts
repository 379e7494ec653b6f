import { randomInt } from "node:crypto";
import type pg from "pg";
import { ident } from "../db/connection.ts";
import { Random } from "../plan/random.ts";
import { ulid } from "../plan/ulid.ts";

/** One run of seed or reset, as `seed_runs` keeps it. */
export interface RunRecord {
  command: string;
  status: "success" | "failed";
  profile: string;
  seed: number;
  scale: number;
  method?: string | null;
  startedAt: Date;
  finishedAt: Date;
  rowsPerTable: Record<string, number>;
  fingerprints?: Record<string, string> | null;
  localAccounts?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
}

/**
 * Appends a run to `seed_runs`. Best effort: a run's outcome must never be hidden by a failure
 * to record it, so errors here are swallowed and reported as false.
 */
export async function recordRun(client: pg.ClientBase, run: RunRecord): Promise<boolean> {
  try {
    await client.query(
      `INSERT INTO "seed_runs" (id, command, status, profile, seed, scale, method, started_at, finished_at, duration_ms, rows_per_table, fingerprints, local_accounts, error_code, error_message)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
      [
        ulid(run.startedAt, new Random(randomInt(2 ** 31), "run")),
        run.command,
        run.status,
        run.profile,
        run.seed,
        run.scale,
        run.method ?? null,
        run.startedAt,
        run.finishedAt,
        Math.max(0, run.finishedAt.getTime() - run.startedAt.getTime()),
        JSON.stringify(run.rowsPerTable),
        run.fingerprints ? JSON.stringify(run.fingerprints) : null,
        run.localAccounts ?? null,
        run.errorCode ?? null,
        run.errorMessage ?? null,
      ],
    );
    return true;
  } catch {
    return false;
  }
}

/**
 * Keeps the run history across a reset, which drops and recreates schema `public`: copies it
 * to a temporary table of this session before, and back (the columns both have) after.
 */
export async function saveHistory(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query(`SELECT to_regclass('"seed_runs"') IS NOT NULL AS ok`);
  if (!rows[0].ok) return false;
  await client.query(
    `DROP TABLE IF EXISTS pg_temp.saved_seed_runs; CREATE TEMP TABLE saved_seed_runs AS SELECT * FROM "seed_runs"`,
  );
  return true;
}

export async function restoreHistory(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT a.column_name AS name FROM information_schema.columns a JOIN information_schema.columns b ON b.column_name = a.column_name
      WHERE a.table_schema = 'public' AND a.table_name = 'seed_runs' AND b.table_name = 'saved_seed_runs' AND b.table_schema LIKE 'pg_temp%' ORDER BY a.ordinal_position`,
  );
  const columns = rows.map((r) => ident(r.name)).join(", ");
  if (columns)
    await client.query(
      `INSERT INTO "seed_runs" (${columns}) SELECT ${columns} FROM pg_temp.saved_seed_runs ON CONFLICT DO NOTHING`,
    );
  await client.query(`DROP TABLE pg_temp.saved_seed_runs`);
}
