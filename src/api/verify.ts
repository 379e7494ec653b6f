import type { VerifyResult } from "../monitoring/verify.ts";
import { compareWithSeed } from "../monitoring/verify.ts";
import { asSeedError } from "../db/asSeedError.ts";
import { resolveRun, type ResolvedRun, type RunOptions } from "./run.ts";

/** Options of verifyDatabase: the seed to compare with, and where. */
export interface VerifyOptions
  extends Pick<
    RunOptions,
    "env" | "databaseUrl" | "loadDotEnv" | "dataFile" | "cwd" | "allowRemote" | "profile" | "seed" | "scale"
  > {
  /** Compare with freshly generated rows even when a recorded run's fingerprints match. */
  regenerate?: boolean;
}

/**
 * Compares the live database with what a seed (profile, seed, scale, local accounts) writes,
 * table by table, without writing. Per-table fingerprints are computed in SQL and compared
 * with those the last successful matching run recorded; only tables whose fingerprints differ
 * are compared row by row, against the regenerated rows loaded into temporary tables in a
 * transaction that is rolled back. Read-only: production is not refused; a remote host still
 * needs opting in.
 *
 * @example
 * const result = await verifyDatabase({ profile: "dev" });
 * result.identical; // true right after `npm run db:seed`
 */
export async function verifyDatabase(options: VerifyOptions = {}): Promise<VerifyResult> {
  return verifyWith(() => resolveRun("verify", options), options.regenerate ?? false);
}

/**
 * @internal verifyDatabase of a run already resolved (the CLI's).
 *
 * @example
 * const result = await verifyWith(() => resolveRun("verify", { profile: "dev" }), false);
 */
export async function verifyWith(resolve: () => ResolvedRun, regenerate: boolean): Promise<VerifyResult> {
  let run: ResolvedRun | undefined;
  try {
    run = resolve();
    return await compareWithSeed({
      target: run.target,
      plan: run.plan,
      local: run.local,
      lockTimeoutMs: run.settings.lockTimeoutMs,
      regenerate,
    });
  } catch (error) {
    throw asSeedError(error, run?.secrets ?? []);
  }
}
