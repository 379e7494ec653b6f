import { runEnv, resolveSeedSettings, secretsOf, type Env } from "../db/config.ts";
import { connect } from "../db/connection.ts";
import { assertDatabaseNotProduction, assertNoDowngrade, environmentName, guardTarget, recordEnvironment } from "../db/guard.ts";
import { restoreHistory, saveHistory } from "../monitoring/history.ts";
import { acquireSeedLock, releaseSeedLock } from "../db/lock.ts";
import { createEventLog, silentSink, type SeedLogSink } from "../core/log.ts";
import { applyMigrations, ensureDatabase, readMigrations, resetSchema } from "../db/migrations.ts";
import { asSeedError } from "../db/asSeedError.ts";
import { seedDatabase, type SeedOptions, type SeedSummary } from "./seed.ts";

/** Options of migrateDatabase. */
export interface MigrateOptions {
  env?: Env;
  databaseUrl?: string;
  loadDotEnv?: boolean;
  sink?: SeedLogSink;
  migrationsDir?: string;
  /** Allow a database host other than this machine (also SEED_ALLOW_REMOTE=1). */
  allowRemote?: boolean;
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
  const env = runEnv(options);
  const log = createEventLog(options.sink ?? silentSink);
  try {
    const config = guardTarget(env, { allowRemote: options.allowRemote, allowProduction: true });
    const migrations = readMigrations(options.migrationsDir);
    const createdDatabase = await ensureDatabase(config);
    if (createdDatabase) log.emit("complete", { step: "database", message: `created database ${config.database}` });
    const client = await connect(config);
    try {
      const name = environmentName(env);
      await assertNoDowngrade(client, config.database, name);
      const applied = await applyMigrations(client, migrations, log);
      await recordEnvironment(client, name);
      log.emit("complete", { step: "migrate", message: applied.length ? `${applied.length} migration(s) applied to ${config.database} (${name})` : `${config.database} is up to date (${name})`, applied });
      return { target: config.target, createdDatabase, applied, environment: name };
    } finally {
      await client.end().catch(() => {});
    }
  } catch (error) {
    const seedError = asSeedError(error, secretsOf(env));
    log.emit("error", { step: "migrate" }, { code: seedError.code, message: seedError.message });
    throw seedError;
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
  const env = runEnv(options);
  const log = createEventLog(options.sink ?? silentSink);
  let migrations: MigrateResult;
  let client;
  try {
    const config = guardTarget(env, { allowRemote: options.allowRemote });
    const settings = resolveSeedSettings(env);
    const list = readMigrations(options.migrationsDir);
    const createdDatabase = await ensureDatabase(config);
    if (createdDatabase) log.emit("complete", { step: "database", message: `created database ${config.database}` });
    client = await connect(config);
    await assertDatabaseNotProduction(client, config.database);
    await acquireSeedLock(client, { waitMs: options.lockWaitMs ?? settings.lockWaitMs, log, signal: options.signal });
    // Another session using the schema (the app, psql) must not make the reset hang.
    await client.query(`SET lock_timeout = ${settings.lockTimeoutMs}`);
    const keptHistory = await saveHistory(client);
    await resetSchema(client);
    await client.query(`SET lock_timeout = 0`);
    log.emit("cleanup", { step: "schema", message: `dropped and recreated schema public of ${config.database}` });
    const applied = await applyMigrations(client, list, log);
    // The run history is not seed data: it survives the reset.
    if (keptHistory) await restoreHistory(client);
    const name = environmentName(env);
    await recordEnvironment(client, name);
    log.emit("complete", { step: "migrate", message: `${applied.length} migration(s) applied to ${config.database} (${name})`, applied });
    migrations = { target: config.target, createdDatabase, applied, environment: name };
  } catch (error) {
    if (client) await client.end().catch(() => {});
    const seedError = asSeedError(error, secretsOf(env));
    log.emit("error", { step: "reset" }, { code: seedError.code, message: seedError.message });
    throw seedError;
  }
  try {
    const summary = await seedDatabase({ ...options, env, loadDotEnv: false, command: "reset", connection: client });
    return { ...summary, migrations };
  } finally {
    await releaseSeedLock(client);
    await client.end().catch(() => {});
  }
}
