import { EXIT_CODES, SeedError } from "../core/errors.ts";
import { resetWith } from "./reset.ts";
import { asSeedError, failed } from "../db/asSeedError.ts";
import { handlesOf, seedWith, type RunHandles, type SeedOptions, type SeedSummary } from "./seed.ts";
import { resolveRun, type ResolvedRun } from "./run.ts";
import { runEnv } from "../db/config.ts";
import { checkPlanOptions } from "../plan/plan.ts";
import { resolveLocalRows } from "../plan/localSeed.ts";

/** The seed script of the ChatGenius feature spec, by its name and shape. */
export interface SeedScript {
  /** Seeds (or, for `command: "reset"`, recreates and seeds) in one transaction; rejects with a SeedError. */
  runSeeds(): Promise<void>;
  /** Is the configured local seed file fine? Problems go to the log, each with its JSON path. */
  validateSeedFile(): boolean;
  /** Logs one `error` event for a failure and sets `exitCode` to its documented exit code. */
  handleError(error: Error): void;
}

/** Options of createSeedScript: those of seedDatabase, and which command the script runs. */
export interface SeedScriptOptions extends SeedOptions {
  /** `seed` (default) replaces the seeded tables' contents; `reset` recreates the schema first. */
  command?: "seed" | "reset";
}

/** What a script adds to the spec's interface: the outcome of its last run. */
export interface SeedScriptState {
  /** The summary of the last successful runSeeds(). */
  readonly summary: SeedSummary | undefined;
  /** 0, or the exit code of the last error handleError() was given (README, "Exit codes"). */
  readonly exitCode: number;
}

/**
 * The spec's `SeedScript` over seedDatabase/resetDatabase: the CLI (`db:seed`, `db:reset`,
 * `npx prisma db seed`) runs through it, and so can the ChatGenius app's own scripts.
 *
 * @example
 * import { createSeedScript } from "chatgenius-seed";
 * const script = createSeedScript({ databaseUrl: process.env.DATABASE_URL, profile: "minimal" });
 * if (script.validateSeedFile()) await script.runSeeds().catch((error) => script.handleError(error));
 * process.exitCode = script.exitCode;
 */
export function createSeedScript(options: SeedScriptOptions = {}): SeedScript & SeedScriptState {
  const kind = options.command === "reset" ? "reset" : "seed";
  // validateSeedFile checks the file alone (a bad URL is not the file's problem); a run resolves all.
  const localFile = () =>
    resolveLocalRows(
      { dataFile: options.dataFile ?? "default", cwd: options.cwd },
      runEnv(options),
      checkPlanOptions(options),
    );
  return scriptOf(() => resolveRun(kind, options), handlesOf(options), localFile);
}

/**
 * @internal The script of a run already resolved (the CLI's): nothing is worked out again.
 *
 * @example
 * const script = scriptOf(() => run, { log, signal }, () => run.local);
 */
export function scriptOf(
  resolve: () => ResolvedRun,
  handles: RunHandles,
  localFile: () => ResolvedRun["local"],
): SeedScript & SeedScriptState {
  const { log } = handles;
  // seedWith and resetWith log the error of a run themselves: remember which one, so that
  // handleError() adds an event only for errors that were not logged yet.
  let logged: unknown;
  let run: ResolvedRun | undefined;
  let summary: SeedSummary | undefined;
  let exitCode: number = EXIT_CODES.ok;
  return {
    get summary() {
      return summary;
    },
    get exitCode() {
      return exitCode;
    },
    async runSeeds() {
      try {
        try {
          run ??= resolve();
        } catch (error) {
          throw failed(log, { step: "run", target: "(not configured)" }, error, []);
        }
        summary = run.kind === "reset" ? await resetWith(() => run!, handles) : await seedWith(run, handles);
      } catch (error) {
        logged = error;
        throw error;
      }
    },
    validateSeedFile() {
      try {
        const local = localFile();
        log.emit("complete", {
          step: "validate",
          message: local
            ? `${local.accounts.file}: ${local.accounts.users.length} account(s), every check passes`
            : "no local seed file",
          file: local?.accounts.file ?? null,
        });
        return true;
      } catch (error) {
        const seedError = asSeedError(error);
        const problems = seedError.problems ?? [{ path: "", expected: seedError.message }];
        for (const problem of problems)
          log.emit(
            "error",
            { step: "validate", path: problem.path },
            { code: seedError.code, message: problem.path ? `${problem.path}: ${problem.expected}` : problem.expected },
          );
        return false;
      }
    },
    handleError(error: Error) {
      const seedError = asSeedError(error, run?.secrets ?? []);
      if (error !== logged) log.emit("error", { step: "run" }, { code: seedError.code, message: seedError.message });
      exitCode = seedError instanceof SeedError ? seedError.exitCode : EXIT_CODES.seedFailed;
    },
  };
}
