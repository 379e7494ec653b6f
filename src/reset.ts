import { loadEnv, resolveDatabaseConfig, secretsOf, type Env } from "./config.ts";
import { connect } from "./db.ts";
import { assertNotProduction } from "./guard.ts";
import { createEventLog, silentSink, type SeedLogSink } from "./log.ts";
import { applyMigrations, ensureDatabase, readMigrations, resetSchema } from "./migrations.ts";
import { asSeedError, seedDatabase, type SeedOptions, type SeedSummary } from "./seed.ts";

/** Options of migrateDatabase. */
export interface MigrateOptions {
  env?: Env;
  databaseUrl?: string;
  loadDotEnv?: boolean;
  sink?: SeedLogSink;
  migrationsDir?: string;
}

/** What migrateDatabase did. */
export interface MigrateResult {
  target: string;
  createdDatabase: boolean;
  applied: string[];
}

function environment(options: MigrateOptions): Env {
  const base = options.env ?? process.env;
  const env = options.loadDotEnv ? loadEnv({ env: base }) : { ...base };
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  return env;
}

/**
 * Creates the target database if it does not exist, then applies pending migrations in order,
 * each in its own transaction, recorded in `_prisma_migrations` as Prisma Migrate records them.
 *
 * @example
 * const { applied } = await migrateDatabase({ databaseUrl: "postgresql://postgres@127.0.0.1/chatgenius" });
 */
export async function migrateDatabase(options: MigrateOptions = {}): Promise<MigrateResult> {
  return run(options, false);
}

/**
 * What `prisma migrate reset` followed by `prisma db seed` do, without Prisma's binary: create
 * the database if missing, drop and recreate its schema, apply every migration, then seed.
 * Refused in production.
 *
 * @example
 * const summary = await resetDatabase({ profile: "dev" });
 */
export async function resetDatabase(options: SeedOptions = {}): Promise<SeedSummary & { migrations: MigrateResult }> {
  const migrations = await run({ ...options }, true);
  const summary = await seedDatabase({ ...options, env: environment(options), loadDotEnv: false, command: "reset" });
  return { ...summary, migrations };
}

async function run(options: MigrateOptions, reset: boolean): Promise<MigrateResult> {
  const env = environment(options);
  const log = createEventLog(options.sink ?? silentSink);
  try {
    assertNotProduction(env);
    const config = resolveDatabaseConfig(env);
    const migrations = readMigrations(options.migrationsDir);
    const createdDatabase = await ensureDatabase(config);
    if (createdDatabase) log.emit("complete", { step: "database", message: `created database ${config.database}` });
    const client = await connect(config);
    try {
      if (reset) {
        await resetSchema(client);
        log.emit("cleanup", { step: "schema", message: `dropped and recreated schema public of ${config.database}` });
      }
      const applied = await applyMigrations(client, migrations, log);
      log.emit("complete", { step: "migrate", message: applied.length ? `${applied.length} migration(s) applied to ${config.database}` : `${config.database} is up to date`, applied });
      return { target: config.target, createdDatabase, applied };
    } finally {
      await client.end().catch(() => {});
    }
  } catch (error) {
    const seedError = asSeedError(error, secretsOf(env));
    log.emit("error", { step: reset ? "reset" : "migrate" }, { code: seedError.code, message: seedError.message });
    throw seedError;
  }
}
