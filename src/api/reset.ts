import type pg from "pg";
import { connect } from "../db/connection.ts";
import { assertDatabaseNotProduction, recordEnvironment } from "../db/guard.ts";
import { restoreHistory, saveHistory } from "../monitoring/history.ts";
import { acquireSeedLock, releaseSeedLock } from "../db/lock.ts";
import type { SeedLogSink } from "../core/log.ts";
import { asSeedError, failed } from "../db/asSeedError.ts";
import { effectiveLimits, serverSettings, type ServerSettings } from "../db/serverSettings.ts";
import { applyMigrations, ensureDatabase, migrateOn, readMigrations, resetSchema } from "../db/migrations.ts";
import { handlesOf, seedWith, type RunHandles, type SeedOptions, type SeedSummary } from "./seed.ts";
import { resolveRun, type ResolvedRun, type RunOptions } from "./run.ts";

/** Options of migrateDatabase. */
export interface MigrateOptions
  extends Pick<RunOptions, "env" | "databaseUrl" | "loadDotEnv" | "cwd" | "migrationsDir" | "allowRemote"> {
  sink?: SeedLogSink;
}

/** What migrateDatabase did. */
export interface MigrateResult {
  target: string;
  createdDatabase: boolean;
  applied: string[];
  /** The environment name recorded in the database. */
  environment: string;
}

/**
 * Creates the target database if it does not exist, then applies pending migrations in order,
 * each in its own transaction, recorded in `_prisma_migrations` as Prisma Migrate records them,
 * and records the environment name (APP_ENV, NODE_ENV, else development) in the database.
 * Runs in production too (it deletes nothing), but never re-marks a production database.
 *
 * @example
 * const { applied } = await migrateDatabase({ databaseUrl: "postgresql://postgres@127.0.0.1/chatgenius" });
 */
export async function migrateDatabase(options: MigrateOptions = {}): Promise<MigrateResult> {
  return migrateWith(() => resolveRun("migrate", options), handlesOf(options));
}

/**
 * @internal migrateDatabase of a run already resolved (the CLI's; the embedded database's).
 *
 * @example
 * await migrateWith(() => run, handlesOf({}));
 */
export async function migrateWith(
  resolve: () => ResolvedRun,
  { log }: Pick<RunHandles, "log">,
): Promise<MigrateResult> {
  let run: ResolvedRun | undefined;
  try {
    run = resolve();
    const { target: config, guard } = run;
    const migrations = readMigrations(run.migrationsDir);
    const createdDatabase = await ensureDatabase(config);
    if (createdDatabase) log.emit("complete", { step: "database", message: `created database ${config.database}` });
    const client = await connect(config);
    try {
      const applied = await migrateOn(client, {
        database: config.database,
        environment: guard.environment,
        migrations,
        log,
      });
      return { target: config.target, createdDatabase, applied, environment: guard.environment };
    } finally {
      await client.end().catch(() => {});
    }
  } catch (error) {
    throw failed(log, { step: "migrate" }, error, run?.secrets ?? []);
  }
}

/**
 * What `prisma migrate reset` followed by `prisma db seed` do, without Prisma's binary: create
 * the database if missing, drop and recreate its schema, apply every migration, record the
 * environment, then seed, all under the seed lock so that no other seed or reset interleaves.
 * Refused in production, by the local environment or by the database's own marker.
 *
 * @example
 * const summary = await resetDatabase({ profile: "dev" });
 */
export async function resetDatabase(options: SeedOptions = {}): Promise<SeedSummary & { migrations: MigrateResult }> {
  return resetWith(() => resolveRun("reset", options), handlesOf(options));
}

/**
 * @internal resetDatabase of a run already resolved (the CLI's): the same resolved value goes
 * on to the seed, on this connection, which holds the seed lock.
 *
 * @example
 * const summary = await resetWith(() => resolveRun("reset", { profile: "dev" }), handlesOf({}));
 */
export async function resetWith(
  resolve: () => ResolvedRun,
  handles: RunHandles,
): Promise<SeedSummary & { migrations: MigrateResult }> {
  const { log } = handles;
  let run: ResolvedRun | undefined;
  let migrations: MigrateResult;
  let client: pg.Client | undefined;
  let server: ServerSettings = {};
  try {
    run = resolve();
    const { target: config, settings, guard } = run;
    const list = readMigrations(run.migrationsDir);
    const createdDatabase = await ensureDatabase(config);
    if (createdDatabase) log.emit("complete", { step: "database", message: `created database ${config.database}` });
    client = await connect(config);
    server = await serverSettings(client).catch(() => ({}));
    await assertDatabaseNotProduction(client, config.database);
    await acquireSeedLock(client, { waitMs: settings.lockWaitMs, log, signal: handles.signal });
    // Another session using the schema (the app, psql) must not make the reset hang.
    await client.query(`SET lock_timeout = ${effectiveLimits(settings, server).lockTimeoutMs}`);
    const keptHistory = await saveHistory(client);
    await resetSchema(client);
    await client.query(`SET lock_timeout = 0`);
    log.emit("cleanup", { step: "schema", message: `dropped and recreated schema public of ${config.database}` });
    const applied = await applyMigrations(client, list, log);
    // The run history is not seed data: it survives the reset.
    if (keptHistory) await restoreHistory(client);
    await recordEnvironment(client, guard.environment);
    log.emit("complete", {
      step: "migrate",
      message: `${applied.length} migration(s) applied to ${config.database} (${guard.environment})`,
      applied,
    });
    migrations = { target: config.target, createdDatabase, applied, environment: guard.environment };
  } catch (error) {
    if (client) await client.end().catch(() => {});
    throw failed(
      log,
      { step: "reset" },
      run ? asSeedError(error, run.secrets, { settings: run.settings, server }) : error,
      run?.secrets ?? [],
    );
  }
  try {
    const summary = await seedWith(run, { ...handles, connection: client });
    return { ...summary, migrations };
  } finally {
    await releaseSeedLock(client);
    await client.end().catch(() => {});
  }
}
