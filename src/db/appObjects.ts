import type pg from "pg";
import { ALL_TABLES } from "../core/datamodel.ts";

/**
 * The migration that brings the ChatGenius server's functions and triggers (Prisma's schema
 * language cannot express them, so `schema.prisma` does not list them).
 */
export const APP_OBJECTS_MIGRATION = "20261202000000_app_functions";

/** A function or trigger the ChatGenius server relies on, as the schema document lists them. */
export interface AppObject {
  readonly kind: "function" | "trigger";
  readonly name: string;
  /** Functions: the number of arguments of this form. Triggers: the table they are on. */
  readonly of: number | string;
}

/**
 * Every function and trigger of `APP_OBJECTS_MIGRATION`: `generate_ulid()`, both forms of
 * `sync_auth0_user`, an `updated_at` trigger on each table that has the column (derived from
 * the schema, so a new table gets one expected) and the archived channel's read-only trigger.
 *
 * @example
 * APP_OBJECTS.filter((o) => o.kind === "trigger").length; // 10
 */
export const APP_OBJECTS: readonly AppObject[] = [
  { kind: "function", name: "generate_ulid", of: 0 },
  { kind: "function", name: "sync_auth0_user", of: 5 },
  { kind: "function", name: "sync_auth0_user", of: 6 },
  ...ALL_TABLES.filter((t) => t.seeded && t.columns.some((c) => c.name === "updated_at")).map(
    (t): AppObject => ({ kind: "trigger", name: `${t.name}_set_updated_at`, of: t.name }),
  ),
  { kind: "trigger", name: "channels_archived_read_only", of: "channels" },
];

/** How a missing object reads in an error line: `sync_auth0_user(5 arguments)`, `trigger x on t`. */
export function describeAppObject(o: AppObject): string {
  return o.kind === "function"
    ? `function ${o.name}(${o.of} argument${o.of === 1 ? "" : "s"})`
    : `trigger ${o.name} on ${o.of}`;
}

/**
 * The app's functions and triggers that the database in the current schema lacks.
 *
 * @example
 * await missingAppObjects(client); // [] after db:migrate
 */
export async function missingAppObjects(client: pg.ClientBase): Promise<AppObject[]> {
  const { rows } = await client.query<{ kind: string; name: string; of: string }>(
    `SELECT 'function' AS kind, p.proname AS name, p.pronargs::text AS of
       FROM pg_proc p WHERE p.pronamespace = current_schema()::regnamespace
     UNION ALL
     SELECT 'trigger', t.tgname, c.relname
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
      WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND c.relnamespace = current_schema()::regnamespace`,
  );
  const live = new Set(rows.map((r) => `${r.kind}:${r.name}:${r.of}`));
  return APP_OBJECTS.filter((o) => !live.has(`${o.kind}:${o.name}:${o.of}`));
}

/** True when this list of migrations is the one that brings the app's objects. */
export function bringsAppObjects(migrations: readonly { readonly name: string }[]): boolean {
  return migrations.some((m) => m.name === APP_OBJECTS_MIGRATION);
}
