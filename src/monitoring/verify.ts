import type pg from "pg";
import type { DatabaseConfig } from "../db/config.ts";
import { encodeChunk, copyInto } from "../write/copy.ts";
import { TABLES, type Table } from "../core/datamodel.ts";
import { connect, ident } from "../db/connection.ts";
import { tableFingerprints } from "../write/fingerprint.ts";
import type { QueryRunner } from "../write/integrity.ts";
import type { ResolvedLocal } from "../plan/localSeed.ts";
import { planChunks, type PlanOptions } from "../plan/plan.ts";
import { assertReady } from "../db/schemaCheck.ts";

/** What verify compares: a resolved run's target, plan and local accounts. */
export interface VerifyInput {
  readonly target: DatabaseConfig;
  readonly plan: Readonly<Required<PlanOptions>>;
  readonly local: ResolvedLocal | null;
  /** SEED_LOCK_TIMEOUT, ms: how long the read waits for a table another session holds. */
  readonly lockTimeoutMs: number;
  /** Compare with freshly generated rows even when a recorded run's fingerprints match. */
  readonly regenerate: boolean;
}

/** How one table differs from what the seed writes. */
export interface TableDiff {
  table: string;
  identical: boolean;
  liveRows: number;
  expectedRows: number;
  added: number;
  removed: number;
  changed: number;
  /** A few ids of each kind. */
  examples: { added: string[]; removed: string[]; changed: string[] };
}

/** What `db:verify` reports, on a terminal and as JSON alike. */
export interface VerifyResult {
  target: string;
  profile: string;
  seed: number;
  scale: number;
  localAccounts: string | null;
  identical: boolean;
  /** "recorded run": every fingerprint matched the last successful run's; "regenerated": rows were compared where they did not. */
  basis: "recorded run" | "regenerated";
  tables: TableDiff[];
}

const EXAMPLES = 5;

/**
 * Compares the live database with what a seed (profile, seed, scale, local accounts) writes,
 * table by table, without writing. Per-table fingerprints are computed in SQL and compared
 * with those the last successful matching run recorded; only tables whose fingerprints differ
 * are compared row by row, against the regenerated rows loaded into temporary tables in a
 * transaction that is rolled back. (verifyDatabase, in api/, resolves the input.)
 *
 * @example
 * const result = await compareWithSeed({ target, plan: { profile: "dev", seed: 1, scale: 1 }, local: null, lockTimeoutMs: 10_000, regenerate: false });
 */
export async function compareWithSeed(input: VerifyInput): Promise<VerifyResult> {
  const { target: config, plan: planOptions, local } = input;
  const client = await connect(config);
  const query: QueryRunner = async <T>(sql: string) => (await client.query(sql)).rows as T[];
  try {
    await assertReady(client, config.database);
    await client.query("BEGIN");
    await client.query(`SET LOCAL lock_timeout = ${input.lockTimeoutMs}`);
    const live = await tableFingerprints(query);
    const recorded = input.regenerate ? null : await recordedFingerprints(client, planOptions, local?.hash ?? null);
    const suspects = TABLES.filter((t) => !recorded || recorded[t.name] !== live[t.name]);
    const result: VerifyResult = {
      target: config.target,
      ...planOptions,
      localAccounts: local?.hash ?? null,
      identical: suspects.length === 0,
      basis: suspects.length === 0 ? "recorded run" : "regenerated",
      tables: TABLES.map((t) => ({
        table: t.name,
        identical: true,
        liveRows: count(live[t.name]),
        expectedRows: count(live[t.name]),
        added: 0,
        removed: 0,
        changed: 0,
        examples: { added: [], removed: [], changed: [] },
      })),
    };
    if (suspects.length > 0) {
      await loadExpected(client, suspects, planOptions, local?.rows);
      const expected = await tableFingerprints(query, suspects, expectedName);
      for (const table of suspects) {
        const diff = result.tables.find((d) => d.table === table.name)!;
        diff.expectedRows = count(expected[table.name]);
        if (expected[table.name] === live[table.name]) continue;
        Object.assign(diff, await compareRows(client, table), { identical: false });
      }
      result.identical = result.tables.every((d) => d.identical);
    }
    return result;
  } finally {
    await client.query("ROLLBACK").catch(() => {});
    await client.end().catch(() => {});
  }
}

const expectedName = (table: Table) => `expected_${table.name}`;
const count = (fingerprint: string | undefined) => Number((fingerprint ?? "0:").split(":")[0]);

async function recordedFingerprints(
  client: pg.ClientBase,
  plan: Readonly<Required<PlanOptions>>,
  localAccounts: string | null,
): Promise<Record<string, string> | null> {
  const { rows } = await client.query(
    `SELECT fingerprints FROM "seed_runs" WHERE status = 'success' AND fingerprints IS NOT NULL AND profile = $1 AND seed = $2 AND scale = $3 AND local_accounts IS NOT DISTINCT FROM $4
      ORDER BY started_at DESC LIMIT 1`,
    [plan.profile, plan.seed, plan.scale, localAccounts],
  );
  return rows[0]?.fingerprints ?? null;
}

/** Loads what the seed writes into temporary copies of the suspect tables (dropped with the transaction). */
async function loadExpected(
  client: pg.ClientBase,
  tables: readonly Table[],
  plan: Readonly<Required<PlanOptions>>,
  local?: Parameters<typeof encodeChunk>[0],
): Promise<void> {
  const wanted = new Set(tables.map((t) => t.name));
  const byName = new Map(tables.map((t) => [t.name, t]));
  for (const table of tables)
    await client.query(`CREATE TEMP TABLE ${ident(expectedName(table))} (LIKE ${ident(table.name)}) ON COMMIT DROP`);
  const load = async (rows: Parameters<typeof encodeChunk>[0]) => {
    for (const part of encodeChunk(rows).tables) {
      if (!wanted.has(part.name)) continue;
      const table = byName.get(part.name)!;
      await copyInto(client, table, part.data, expectedName(table));
    }
  };
  for (const rows of planChunks(plan)) await load(rows);
  if (local) await load(local);
}

async function compareRows(
  client: pg.ClientBase,
  table: Table,
): Promise<Pick<TableDiff, "added" | "removed" | "changed" | "examples">> {
  const t = ident(table.name);
  const e = ident(expectedName(table));
  const pick = async (sql: string) => {
    const { rows } = await client.query<{ n: number; ids: string[] | null }>(
      `SELECT count(*)::int AS n, (array_agg(id ORDER BY id))[1:${EXAMPLES}] AS ids FROM (${sql}) d`,
    );
    return { n: rows[0]!.n, ids: rows[0]!.ids ?? [] };
  };
  const added = await pick(`SELECT l.id FROM ${t} l WHERE NOT EXISTS (SELECT 1 FROM ${e} x WHERE x.id = l.id)`);
  const removed = await pick(`SELECT x.id FROM ${e} x WHERE NOT EXISTS (SELECT 1 FROM ${t} l WHERE l.id = x.id)`);
  const changed = await pick(
    `SELECT l.id FROM ${t} l JOIN ${e} x ON x.id = l.id WHERE l::text IS DISTINCT FROM x::text`,
  );
  return {
    added: added.n,
    removed: removed.n,
    changed: changed.n,
    examples: { added: added.ids, removed: removed.ids, changed: changed.ids },
  };
}
