import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import { withDatabase, type DatabaseConfig } from "./config.ts";
import { connect, ident, translatePgError } from "./connection.ts";
import { APP_OBJECTS_MIGRATION, missingAppObjects } from "./appObjects.ts";
import { SeedError } from "../core/errors.ts";
import { packageRoot } from "../core/paths.ts";
import type { EventLog } from "../core/log.ts";
import { assertNoDowngrade, recordEnvironment } from "./guard.ts";

/** prisma/migrations of this package. */
export const MIGRATIONS_DIR = join(packageRoot(), "prisma", "migrations");

/** The advisory lock key Prisma Migrate takes, so that our runner and Prisma's never overlap. */
const PRISMA_MIGRATE_LOCK = 72707369;

/** One migration folder: its name, its SQL and the checksum Prisma records for it. */
export interface Migration {
  readonly name: string;
  readonly sql: string;
  /** sha256 of migration.sql, hex: what Prisma Migrate stores in `_prisma_migrations.checksum`. */
  readonly checksum: string;
}

/** The table Prisma Migrate keeps its history in, exactly as Prisma creates it. */
const HISTORY_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/**
 * Reads the migration folders in Prisma's layout (`<timestamp>_<name>/migration.sql`), in
 * name order, which is the order Prisma applies them in.
 *
 * @example
 * readMigrations().map((m) => m.name); // ["20261123234500_init"]
 */
export function readMigrations(dir: string = MIGRATIONS_DIR): Migration[] {
  if (!existsSync(dir))
    throw new SeedError("MIGRATION_FAILED", `no migrations folder at ${dir}: restore prisma/migrations from git`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, "migration.sql")))
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(join(dir, name, "migration.sql"));
      return { name, sql: bytes.toString("utf8"), checksum: createHash("sha256").update(bytes).digest("hex") };
    });
}

/** Rows of `_prisma_migrations`, or none when the table does not exist yet. */
async function history(
  client: pg.ClientBase,
): Promise<{ migration_name: string; checksum: string; finished_at: Date | null; rolled_back_at: Date | null }[]> {
  const exists = await client.query(`SELECT to_regclass('_prisma_migrations') IS NOT NULL AS ok`);
  if (!exists.rows[0].ok) return [];
  const { rows } = await client.query(
    `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" ORDER BY started_at`,
  );
  return rows;
}

/**
 * Names of the local migrations the database has not applied. A migration that started and
 * failed (no finished_at, not rolled back) is an error, as it is for Prisma.
 *
 * @example
 * await pendingMigrations(client); // [] when up to date
 */
export async function pendingMigrations(
  client: pg.ClientBase,
  migrations: readonly Migration[] = readMigrations(),
): Promise<string[]> {
  const rows = await history(client);
  const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
  if (failed) {
    throw new SeedError(
      "PENDING_MIGRATIONS",
      `migration ${failed.migration_name} failed part-way in this database: run 'npm run db:reset' to recreate it`,
    );
  }
  const applied = new Set(
    rows.filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => r.migration_name),
  );
  return migrations.filter((m) => !applied.has(m.name)).map((m) => m.name);
}

/** Throws PENDING_MIGRATIONS naming every unapplied migration. */
export async function assertNoPendingMigrations(
  client: pg.ClientBase,
  database: string,
  migrations?: readonly Migration[],
): Promise<void> {
  const pending = await pendingMigrations(client, migrations);
  if (pending.length > 0) {
    throw new SeedError(
      "PENDING_MIGRATIONS",
      `${pending.length} migration(s) not applied to database '${database}': ${pending.join(", ")}. Run 'npm run db:migrate' (or 'npm run db:reset')`,
    );
  }
}

/**
 * Creates the target database when it does not exist, connecting to the server's `postgres`
 * maintenance database. Returns true when it created it.
 *
 * @example
 * await ensureDatabase(config); // true the first time
 */
export async function ensureDatabase(config: DatabaseConfig): Promise<boolean> {
  let admin: pg.Client;
  try {
    admin = await connect(withDatabase(config, "postgres"));
  } catch (error) {
    // Not every server has (or lets us into) `postgres`; the target itself may exist.
    if (error instanceof SeedError && error.code === "DATABASE_MISSING")
      admin = await connect(withDatabase(config, "template1"));
    else throw error;
  }
  try {
    return await createDatabaseOn(admin, config.database, config);
  } finally {
    await admin.end();
  }
}

/**
 * Creates `database` from a session on another database of the same server (`postgres`, say)
 * when the server has none of that name. Returns true when it created it; errors name `config`'s server.
 *
 * @example
 * await createDatabaseOn(admin, "chatgenius", config); // true the first time
 */
export async function createDatabaseOn(
  admin: pg.ClientBase,
  database: string,
  config: DatabaseConfig,
): Promise<boolean> {
  try {
    const found = await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [database]);
    if (found.rowCount) return false;
    await admin.query(`CREATE DATABASE ${ident(database)}`);
    return true;
  } catch (error) {
    // Another run created it at the same moment (as the catalog's unique index may say it first).
    const code = (error as { code?: string }).code;
    if (code === "42P04" || code === "23505") return false;
    throw translatePgError(error, config);
  }
}

/**
 * Applies pending migrations in order, each in its own transaction, and records each in
 * `_prisma_migrations` as Prisma Migrate does (random UUID id, sha256 checksum, start and
 * finish times, one applied step). Holds Prisma's advisory lock meanwhile. Returns the names
 * applied.
 *
 * @example
 * await applyMigrations(client, readMigrations(), log);
 */
export async function applyMigrations(
  client: pg.ClientBase,
  migrations: readonly Migration[],
  log?: EventLog,
): Promise<string[]> {
  await client.query(`SELECT pg_advisory_lock(${PRISMA_MIGRATE_LOCK})`);
  try {
    await client.query(HISTORY_DDL);
    const pending = new Set(await pendingMigrations(client, migrations));
    const applied: string[] = [];
    for (const migration of migrations) {
      if (!pending.has(migration.name)) continue;
      log?.emit("start", { step: "migration", name: migration.name });
      const started = Date.now();
      await client.query("BEGIN");
      try {
        const id = randomUUID();
        await client.query(
          `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
          [id, migration.checksum, migration.name],
        );
        await client.query(migration.sql);
        await client.query(
          `UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`,
          [id],
        );
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {});
        const e = error as { message?: string };
        throw new SeedError(
          "MIGRATION_FAILED",
          `migration ${migration.name} failed and was rolled back: ${e.message ?? String(error)}. Fix its migration.sql or run 'npm run db:reset'`,
          { cause: error },
        );
      }
      log?.emit("complete", { step: "migration", name: migration.name, ms: Date.now() - started });
      applied.push(migration.name);
    }
    await restoreAppObjects(client, migrations, pending, log);
    return applied;
  } finally {
    await client.query(`SELECT pg_advisory_unlock(${PRISMA_MIGRATE_LOCK})`).catch(() => {});
  }
}

/**
 * What `db:migrate` does on a connection to the database: refuses a database marked production
 * from another environment, applies the pending migrations (bringing back the app's functions
 * and triggers if they were dropped), records the environment name, and logs one line. Returns
 * the names applied.
 *
 * @example
 * const applied = await migrateOn(client, { database: "chatgenius", environment: "development", migrations: readMigrations(), log });
 */
export async function migrateOn(
  client: pg.ClientBase,
  options: { database: string; environment: string; migrations: readonly Migration[]; log: EventLog },
): Promise<string[]> {
  const { database, environment, log } = options;
  await assertNoDowngrade(client, database, environment);
  const applied = await applyMigrations(client, options.migrations, log);
  await recordEnvironment(client, environment);
  log.emit("complete", {
    step: "migrate",
    message: applied.length
      ? `${applied.length} migration(s) applied to ${database} (${environment})`
      : `${database} is up to date (${environment})`,
    applied,
  });
  return applied;
}

/**
 * A database whose history says the app's functions and triggers were applied but that lacks
 * some of them (dropped by hand, or its schema recreated by another tool) gets them again:
 * their migration is idempotent (CREATE OR REPLACE), so it is run once more, in a
 * transaction, without a new history row (Prisma's bookkeeping stays as Prisma left it).
 */
async function restoreAppObjects(
  client: pg.ClientBase,
  migrations: readonly Migration[],
  pending: ReadonlySet<string>,
  log?: EventLog,
): Promise<void> {
  const migration = migrations.find((m) => m.name === APP_OBJECTS_MIGRATION);
  if (!migration || pending.has(migration.name) || (await missingAppObjects(client)).length === 0) return;
  log?.emit("start", { step: "migration", name: `${migration.name} (restoring missing functions and triggers)` });
  const started = Date.now();
  await client.query("BEGIN");
  try {
    await client.query(migration.sql);
    await client.query("COMMIT");
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw new SeedError(
      "MIGRATION_FAILED",
      `restoring the functions and triggers of ${migration.name} failed and was rolled back: ${(error as Error).message}. Run 'npm run db:reset'`,
      { cause: error },
    );
  }
  log?.emit("complete", { step: "migration", name: migration.name, ms: Date.now() - started });
}

/**
 * Drops and recreates the `public` schema: what `prisma migrate reset` does before it
 * reapplies every migration.
 */
export async function resetSchema(client: pg.ClientBase): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public;`);
}
