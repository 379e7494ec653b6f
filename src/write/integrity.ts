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
  /** Not run in SQL: the live constraint of this name (validated) already guarantees it. */
  readonly provenBy?: string;
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
 * Runs every integrity check and returns one result per check, in the order given. Checks over
 * the same rows (`SELECT a.id FROM <same tables> WHERE <own condition>`, such as the three
 * thread rules, each a join of messages to their roots) run as one statement that reads those
 * rows once and counts each condition apart: at scale 1000 the join costs more than the
 * conditions.
 *
 * @example
 * const results = await runIntegrityChecks((sql) => tx.$queryRawUnsafe(sql));
 */
export async function runIntegrityChecks(
  query: QueryRunner,
  checks: readonly IntegrityCheck[] = INTEGRITY_CHECKS,
  proven: ReadonlyMap<string, string> = new Map(),
): Promise<IntegrityResult[]> {
  const found = new Map<string, { violations: number; examples: string[] }>();
  for (const group of sameRows(checks.filter((c) => !proven.has(c.id)))) {
    if (group.checks.length === 1) {
      const check = group.checks[0]!;
      const [row] = await query<{ n: number; examples: string[] | null }>(
        `SELECT count(*)::int AS n, (array_agg(v.id ORDER BY v.id))[1:3] AS examples FROM (${check.sql}) v`,
      );
      // An aggregate always returns its one row: a runner that returns none is broken, and fails here.
      found.set(check.id, { violations: row!.n, examples: row!.examples ?? [] });
      continue;
    }
    const { alias, from, conditions } = group;
    const columns = conditions.map(
      (c, i) =>
        `count(*) FILTER (WHERE ${c})::int AS n${i}, (array_agg(${alias}.id ORDER BY ${alias}.id) FILTER (WHERE ${c}))[1:3] AS e${i}`,
    );
    const [row] = await query<Record<string, unknown>>(
      `SELECT ${columns.join(", ")} FROM ${from} WHERE ${conditions.map((c) => `(${c})`).join(" OR ")}`,
    );
    for (const [i, check] of group.checks.entries())
      found.set(check.id, {
        violations: Number(row![`n${i}`]),
        examples: (row![`e${i}`] as string[] | null) ?? [],
      });
  }
  return checks.map((check) => {
    const constraint = proven.get(check.id);
    if (constraint) return { id: check.id, text: check.text, violations: 0, examples: [], provenBy: constraint };
    return { id: check.id, text: check.text, ...found.get(check.id)! };
  });
}

/** `SELECT a.id FROM <tables> WHERE <condition>`, where <tables> holds no subquery. */
const SHAPE = /^SELECT (\w+)\.id FROM ([^()]+?) WHERE (.+)$/s;

/**
 * Checks grouped by the rows they read (alias and FROM clause); others alone. A condition with
 * a subquery stays alone: ORed with others, a NOT EXISTS could no longer be planned as an anti
 * join and would run once per row.
 */
function sameRows(
  checks: readonly IntegrityCheck[],
): { checks: IntegrityCheck[]; alias: string; from: string; conditions: string[] }[] {
  const groups = new Map<string, { checks: IntegrityCheck[]; alias: string; from: string; conditions: string[] }>();
  for (const check of checks) {
    const subquery = (check.sql.match(/\bSELECT\b/gi) ?? []).length > 1;
    const shape = subquery ? null : SHAPE.exec(check.sql);
    const key = shape ? `${shape[1]} ${shape[2]}` : `alone ${check.id}`;
    let group = groups.get(key);
    if (!group)
      groups.set(key, (group = { checks: [], alias: shape?.[1] ?? "", from: shape?.[2] ?? "", conditions: [] }));
    group.checks.push(check);
    group.conditions.push(shape?.[3] ?? "");
  }
  return [...groups.values()];
}

/**
 * The orphan checks that the live database's own foreign keys already prove: check id →
 * constraint name, for every single-column foreign key of the seeded tables that is validated
 * (`convalidated`) and references the parent's id. PostgreSQL checked every row against it
 * (on insert, or when the writer recreated it after a bulk load), so running the check again
 * in SQL would only repeat that work.
 *
 * @example
 * const results = await runIntegrityChecks(query, INTEGRITY_CHECKS, await provenOrphanChecks(query));
 */
export async function provenOrphanChecks(query: QueryRunner): Promise<Map<string, string>> {
  const rows = await query<{ child: string; column: string; parent: string; name: string }>(
    `SELECT ct.relname AS child, a.attname AS column, pt.relname AS parent, c.conname AS name
       FROM pg_constraint c
       JOIN pg_class ct ON ct.oid = c.conrelid
       JOIN pg_class pt ON pt.oid = c.confrelid
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
       JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
      WHERE c.contype = 'f' AND c.convalidated AND cardinality(c.conkey) = 1 AND pa.attname = 'id'
        AND ct.relnamespace = current_schema()::regnamespace AND pt.relnamespace = ct.relnamespace`,
  );
  const proven = new Map<string, string>();
  for (const table of TABLES) {
    for (const fk of table.foreignKeys) {
      const parent = tableOf(fk.references).name;
      const column = fk.columns[0]!;
      const live = rows.find((r) => r.child === table.name && r.column === column && r.parent === parent);
      if (live && fk.columns.length === 1) proven.set(`no-orphans:${table.name}.${column}`, live.name);
    }
  }
  return proven;
}
