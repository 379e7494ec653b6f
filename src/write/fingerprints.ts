import { TABLES, type Table } from "../core/datamodel.ts";
import { ident } from "../db/connection.ts";
import type { QueryRunner } from "./integrity.ts";

/**
 * Session settings that make a row's text form (what fingerprints hash) the same in every
 * session: timestamps in UTC, ISO dates, exact floats.
 */
export const STABLE_TEXT_SETTINGS = [
  `SET LOCAL timezone = 'UTC'`,
  `SET LOCAL datestyle = 'ISO, YMD'`,
  `SET LOCAL extra_float_digits = 3`,
  `SET LOCAL intervalstyle = 'postgres'`,
];

/**
 * Per table: row count and an order-independent hash of the rows' text (sum of 60-bit slices
 * of md5), computed in SQL. Run inside a transaction (it sets its own LOCAL settings).
 *
 * @example
 * const prints = await tableFingerprints((sql) => client.query(sql).then((r) => r.rows));
 */
export async function tableFingerprints(
  query: QueryRunner,
  tables: readonly Table[] = TABLES,
  names?: (t: Table) => string,
): Promise<Record<string, string>> {
  for (const sql of STABLE_TEXT_SETTINGS) await query(sql);
  const out: Record<string, string> = {};
  for (const table of tables) {
    const [row] = await query<{ n: string; h: string }>(
      `SELECT count(*)::text AS n, coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text AS h FROM ${ident(names ? names(table) : table.name)} t`,
    );
    out[table.name] = `${row!.n}:${row!.h}`;
  }
  return out;
}
