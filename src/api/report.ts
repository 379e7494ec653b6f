import { connect } from "../db/connection.ts";
import { assertNoPendingMigrations, readMigrations } from "../db/migrations.ts";
import { buildReport, type SeedReport } from "../monitoring/report.ts";
import { asSeedError } from "../db/asSeedError.ts";
import { resolveRun, type ResolvedRun, type RunOptions } from "./run.ts";

/** Options of reportDatabase. */
export interface ReportOptions extends Pick<RunOptions, "env" | "databaseUrl" | "loadDotEnv" | "cwd" | "allowRemote"> {
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
  return reportWith(() => resolveRun("report", options), options.last ?? 20);
}

/**
 * @internal reportDatabase of a run already resolved (the CLI's).
 *
 * @example
 * const report = await reportWith(() => resolveRun("report", {}), 20);
 */
export async function reportWith(resolve: () => ResolvedRun, last: number): Promise<SeedReport> {
  let run: ResolvedRun | undefined;
  try {
    run = resolve();
    const client = await connect(run.target);
    try {
      await assertNoPendingMigrations(client, run.target.database, readMigrations());
      return await buildReport(client, run.target.target, last);
    } finally {
      await client.end().catch(() => {});
    }
  } catch (error) {
    throw asSeedError(error, run?.secrets ?? []);
  }
}
