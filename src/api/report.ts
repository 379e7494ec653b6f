import { connect } from "../db/connection.ts";
import { assertNoPendingMigrations, readMigrations } from "../db/migrations.ts";
import { buildReport, type SeedReport } from "../monitoring/report.ts";
import { workspaceStates, type WorkspaceStates } from "../monitoring/states.ts";
import { asSeedError } from "../db/asSeedError.ts";
import { resolveRun, type ResolvedRun, type RunOptions } from "./run.ts";

/** Options of reportDatabase. */
export interface ReportOptions extends Pick<RunOptions, "env" | "databaseUrl" | "loadDotEnv" | "cwd" | "allowRemote"> {
  /** How many recent runs to list and compute rates over (default 20). */
  last?: number;
  /** Also look for every state the app has code for (docs/dev-workspace.md): `report.states`. */
  states?: boolean;
}

/** What reportDatabase returns: the report, and the states when asked for. */
export type ReportWithStates = SeedReport & { states?: WorkspaceStates };

/**
 * `db:report`: the run history and health of a seeded database. Reads only.
 *
 * @example
 * const report = await reportDatabase({ last: 50 });
 * report.successRate.rate; // 0.96
 * (await reportDatabase({ states: true })).states?.missing; // [] on the dev profile
 */
export async function reportDatabase(options: ReportOptions = {}): Promise<ReportWithStates> {
  return reportWith(() => resolveRun("report", options), options.last ?? 20, options.states ?? false);
}

/**
 * @internal reportDatabase of a run already resolved (the CLI's).
 *
 * @example
 * const report = await reportWith(() => resolveRun("report", {}), 20, false);
 */
export async function reportWith(resolve: () => ResolvedRun, last: number, states: boolean): Promise<ReportWithStates> {
  let run: ResolvedRun | undefined;
  try {
    run = resolve();
    const client = await connect(run.target);
    try {
      await assertNoPendingMigrations(client, run.target.database, readMigrations());
      const report = await buildReport(client, run.target.target, last);
      return states ? { ...report, states: await workspaceStates(client) } : report;
    } finally {
      await client.end().catch(() => {});
    }
  } catch (error) {
    throw asSeedError(error, run?.secrets ?? []);
  }
}
