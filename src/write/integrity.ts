import { TABLES, tableOf } from "../core/datamodel.ts";
import { ident } from "../db/connection.ts";
import { RULES } from "../plan/rules.ts";

/** One post-seed check, run in SQL on the written rows. */
export interface IntegrityCheck {
  readonly id: string;
  readonly text: string;
  /** Selects the ids of offending rows. */
  readonly sql: string;
}

/** Result of one check: how many rows break it, and a few of their ids. */
export interface IntegrityResult {
  readonly id: string;
  readonly text: string;
  readonly violations: number;
  readonly examples: string[];
}

/** Something that runs a query and returns rows: a pg client or a Prisma transaction. */
export type QueryRunner = <T>(sql: string) => Promise<T[]>;

/**
 * Every check: the application rules, plus one orphan check per foreign key of the schema
 * (derived from its relations), so a dangling reference is caught even where a constraint
 * is missing from the live database.
 */
export const INTEGRITY_CHECKS: readonly IntegrityCheck[] = [
  ...RULES.map((r) => ({ id: r.id, text: r.text, sql: r.sql })),
  ...TABLES.flatMap((table) =>
    table.foreignKeys.map((fk) => {
      const parent = tableOf(fk.references);
      const column = fk.columns[0]!;
      return {
        id: `no-orphans:${table.name}.${column}`,
        text: `Every ${table.name}.${column} points at an existing ${parent.name} row`,
        sql: `SELECT c.id FROM ${ident(table.name)} c WHERE c.${ident(column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${ident(parent.name)} p WHERE p.id = c.${ident(column)})`,
      };
    }),
  ),
  {
    id: "no-orphans:user_settings.muted_channels",
    text: "Every muted channel exists",
    sql: `SELECT s.id FROM user_settings s WHERE EXISTS (SELECT 1 FROM unnest(s.muted_channels) AS mc(id) WHERE NOT EXISTS (SELECT 1 FROM channels c WHERE c.id = mc.id))`,
  },
];

/**
 * Runs every integrity check and returns one result per check.
 *
 * @example
 * const results = await runIntegrityChecks((sql) => tx.$queryRawUnsafe(sql));
 */
export async function runIntegrityChecks(query: QueryRunner, checks: readonly IntegrityCheck[] = INTEGRITY_CHECKS): Promise<IntegrityResult[]> {
  const results: IntegrityResult[] = [];
  for (const check of checks) {
    const [row] = await query<{ n: number; examples: string[] | null }>(
      `SELECT count(*)::int AS n, (array_agg(v.id ORDER BY v.id))[1:3] AS examples FROM (${check.sql}) v`,
    );
    results.push({ id: check.id, text: check.text, violations: row?.n ?? 0, examples: row?.examples ?? [] });
  }
  return results;
}
