import { ident } from "../db/connection.ts";

/** The function every `updated_at` trigger runs (made by the app-functions migration). */
export const SET_UPDATED_AT = "set_updated_at";

/**
 * The tables of a migration script that gain an `updated_at` column: every table it creates
 * with one, and every table it adds one to. Read from the script as Prisma's engine writes it
 * (`CREATE TABLE "t" (` … `);`, `ALTER TABLE "t" ADD COLUMN "updated_at"`).
 *
 * @example
 * tablesGainingUpdatedAt('CREATE TABLE "bookmarks" (\n    "updated_at" TIMESTAMPTZ(6) NOT NULL,\n);'); // ["bookmarks"]
 */
export function tablesGainingUpdatedAt(sql: string): string[] {
  const tables: string[] = [];
  for (const [, table, body] of sql.matchAll(/^CREATE TABLE "((?:[^"]|"")+)" \(([\s\S]*?)^\);/gm))
    if (/^\s*"updated_at"\s/m.test(body!)) tables.push(table!.replace(/""/g, '"'));
  for (const [, table, changes] of sql.matchAll(/^ALTER TABLE "((?:[^"]|"")+)"([\s\S]*?);/gm))
    if (/ADD COLUMN\s+"updated_at"\s/.test(changes!)) tables.push(table!.replace(/""/g, '"'));
  return [...new Set(tables)];
}

/**
 * The statements that keep each table's `updated_at` current on every UPDATE, as the
 * app-functions migration makes them for the other tables (`<table>_set_updated_at`, the name
 * the live check looks for).
 *
 * @example
 * updatedAtTriggers(["bookmarks"]); // "-- CreateTrigger\nCREATE OR REPLACE TRIGGER \"bookmarks_set_updated_at\" BEFORE UPDATE ON \"bookmarks\" …"
 */
export function updatedAtTriggers(tables: readonly string[]): string {
  return tables
    .map(
      (table) =>
        `-- CreateTrigger\nCREATE OR REPLACE TRIGGER ${ident(`${table}_set_updated_at`)} BEFORE UPDATE ON ${ident(table)} FOR EACH ROW EXECUTE FUNCTION ${SET_UPDATED_AT}();\n`,
    )
    .join("\n");
}
