import type pg from "pg";
import { ALL_TABLES, type Table } from "../core/datamodel.ts";
import { SeedError } from "../core/errors.ts";
import { bringsAppObjects, describeAppObject, missingAppObjects } from "./appObjects.ts";
import { assertNoPendingMigrations, readMigrations } from "./migrations.ts";

interface LiveColumn {
  table_name: string;
  column_name: string;
  udt_name: string;
  character_maximum_length: number | null;
}

/**
 * Problems that would make the seed's inserts fail against the live schema: a table or
 * column the fixtures write that is missing, or whose type is not compatible (another type,
 * or a VARCHAR shorter than the schema's).
 *
 * @example
 * await schemaProblems(client); // [] when the database matches prisma/schema.prisma
 */
export async function schemaProblems(client: pg.ClientBase, tables: readonly Table[] = ALL_TABLES): Promise<string[]> {
  const { rows } = await client.query<LiveColumn>(
    `SELECT table_name, column_name, udt_name, character_maximum_length
       FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY($1)`,
    [tables.map((t) => t.name)],
  );
  const live = new Map<string, Map<string, LiveColumn>>();
  for (const row of rows) {
    if (!live.has(row.table_name)) live.set(row.table_name, new Map());
    live.get(row.table_name)!.set(row.column_name, row);
  }
  const problems: string[] = [];
  for (const table of tables) {
    const columns = live.get(table.name);
    if (!columns) {
      problems.push(`table ${table.name} is missing`);
      continue;
    }
    for (const column of table.columns) {
      const found = columns.get(column.name);
      if (!found) problems.push(`column ${table.name}.${column.name} is missing`);
      else if (!compatible(column.udtName, column.maxLength, found)) {
        const actual = found.character_maximum_length
          ? `${found.udt_name}(${found.character_maximum_length})`
          : found.udt_name;
        const expected = column.maxLength ? `${column.udtName}(${column.maxLength})` : column.udtName;
        problems.push(`column ${table.name}.${column.name} is ${actual}, expected ${expected}`);
      }
    }
  }
  return problems;
}

/** Throws SCHEMA_MISMATCH listing what differs. */
export async function assertSchemaCompatible(client: pg.ClientBase, database: string): Promise<void> {
  const problems = await schemaProblems(client);
  if (problems.length === 0) return;
  const shown = problems.slice(0, 5).join("; ") + (problems.length > 5 ? ` and ${problems.length - 5} more` : "");
  throw new SeedError(
    "SCHEMA_MISMATCH",
    `database '${database}' does not match prisma/schema.prisma: ${shown}. Run 'npm run db:reset' to recreate it from the migrations`,
  );
}

function compatible(expected: string, maxLength: number | null, live: LiveColumn): boolean {
  if (expected === live.udt_name)
    return maxLength === null || live.character_maximum_length === null || live.character_maximum_length >= maxLength;
  // Text holds anything a VARCHAR does.
  if (expected === "varchar" && live.udt_name === "text") return true;
  if (expected === "_varchar" && live.udt_name === "_text") return true;
  return false;
}

/**
 * Throws SCHEMA_MISMATCH naming the ChatGenius server's functions and triggers the database
 * lacks though its migrations say they were applied (dropped by hand, or a schema recreated by
 * another tool): `db:migrate` brings them back.
 */
export async function assertAppObjects(client: pg.ClientBase, database: string): Promise<void> {
  const missing = await missingAppObjects(client);
  if (missing.length === 0) return;
  const shown =
    missing.slice(0, 3).map(describeAppObject).join(", ") +
    (missing.length > 3 ? ` and ${missing.length - 3} more` : "");
  throw new SeedError(
    "SCHEMA_MISMATCH",
    `database '${database}' lacks the functions and triggers the ChatGenius server calls (${shown}): run 'npm run db:migrate' to restore them`,
  );
}

/**
 * The database has every migration of prisma/migrations (or `migrationsDir`), matches the
 * schema the fixtures write and has the server's functions and triggers: what any command
 * checks before reading or writing seed data.
 */
export async function assertReady(client: pg.ClientBase, database: string, migrationsDir?: string): Promise<void> {
  const migrations = readMigrations(migrationsDir);
  await assertNoPendingMigrations(client, database, migrations);
  await assertSchemaCompatible(client, database);
  if (bringsAppObjects(migrations)) await assertAppObjects(client, database);
}
