import { runEnv, secretsOf, type Env } from "../db/config.ts";
import { connect } from "../db/connection.ts";
import { guardTarget } from "../db/guard.ts";
import { assertNoPendingMigrations, readMigrations } from "../db/migrations.ts";
import { buildReport, type SeedReport } from "./report.ts";
import { asSeedError } from "../db/asSeedError.ts";

/** Options of reportDatabase. */
export interface ReportOptions {
  /** The environment to read configuration from (default: process.env). */
  env?: Env;
  /** Target database; overrides DATABASE_URL and PG* in `env`. */
  databaseUrl?: string;
  /** Read `.env` from the current directory (the CLI does). */
  loadDotEnv?: boolean;
  /** Allow a database host other than this machine (also SEED_ALLOW_REMOTE=1). */
  allowRemote?: boolean;
  /** How many recent runs to list and compute rates over (default 20). */
  last?: number;
}

/**
 * `db:report`: the run history and health of a seeded database. Reads only.
 *
 * @example
 * const report = await reportDatabase({ last: 50 });
 * report.successRate.rate; // 0.96
 */
export async function reportDatabase(options: ReportOptions = {}): Promise<SeedReport> {
  const env = runEnv(options);
  try {
    const config = guardTarget(env, { allowRemote: options.allowRemote, allowProduction: true });
    const client = await connect(config);
    try {
      await assertNoPendingMigrations(client, config.database, readMigrations());
      return await buildReport(client, config.target, options.last ?? 20);
    } finally {
      await client.end().catch(() => {});
    }
  } catch (error) {
    throw asSeedError(error, secretsOf(env));
  }
}
