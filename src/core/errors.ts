/** Exit codes of every command; `--help` and the README list the same table. */
export const EXIT_CODES = {
  ok: 0,
  seedFailed: 1,
  usage: 2,
  refused: 3,
  sighup: 129,
  sigint: 130,
  sigterm: 143,
} as const;

/** The signals that interrupt a run (rolled back, then exit 128 + the signal's number). */
export const SIGNALS = ["SIGHUP", "SIGINT", "SIGTERM"] as const;
export type InterruptSignal = (typeof SIGNALS)[number];

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** Every way a run can fail, each mapped to the exit code it ends with. */
export const ERROR_CODES = {
  INVALID_USAGE: EXIT_CODES.usage,
  INVALID_CONFIG: EXIT_CODES.usage,
  INVALID_DATA_FILE: EXIT_CODES.usage,
  INVALID_SCENARIO: EXIT_CODES.usage,
  DATABASE_UNREACHABLE: EXIT_CODES.usage,
  DATABASE_MISSING: EXIT_CODES.usage,
  AUTH_FAILED: EXIT_CODES.usage,
  PENDING_MIGRATIONS: EXIT_CODES.usage,
  SCHEMA_MISMATCH: EXIT_CODES.usage,
  MIGRATION_FAILED: EXIT_CODES.seedFailed,
  INVALID_FIXTURES: EXIT_CODES.seedFailed,
  SEED_FAILED: EXIT_CODES.seedFailed,
  INTEGRITY_FAILED: EXIT_CODES.seedFailed,
  SEED_BUSY: EXIT_CODES.seedFailed,
  TABLE_LOCKED: EXIT_CODES.seedFailed,
  STATEMENT_TIMEOUT: EXIT_CODES.seedFailed,
  CONNECTION_LOST: EXIT_CODES.seedFailed,
  PRODUCTION_REFUSED: EXIT_CODES.refused,
  REMOTE_REFUSED: EXIT_CODES.refused,
  INTERRUPTED_SIGHUP: EXIT_CODES.sighup,
  INTERRUPTED_SIGINT: EXIT_CODES.sigint,
  INTERRUPTED_SIGTERM: EXIT_CODES.sigterm,
} as const;

export type SeedErrorCode = keyof typeof ERROR_CODES;

/**
 * The one error class of the seeding system. Its message is a single line that says what is
 * wrong and how to fix it; `cause` keeps the original error for `--verbose`.
 *
 * @example
 * throw new SeedError("INVALID_CONFIG", "PGPORT is 'abc': set it to a port number such as 5432", { cause: err });
 */
export class SeedError extends Error {
  readonly code: SeedErrorCode;
  /** Each problem on its own, where there are several (the local seed file's, with JSON paths). */
  readonly problems?: readonly { path: string; expected: string }[];

  constructor(
    code: SeedErrorCode,
    message: string,
    options?: { cause?: unknown; problems?: readonly { path: string; expected: string }[] },
  ) {
    super(message, options);
    this.name = "SeedError";
    this.code = code;
    if (options?.problems) this.problems = options.problems;
  }

  /** The process exit code this error ends a command with. */
  get exitCode(): ExitCode {
    return ERROR_CODES[this.code];
  }
}

/**
 * The error of a run stopped by an aborted signal whose reason names the signal (the CLI aborts
 * with "SIGINT", "SIGTERM" or "SIGHUP"; any other reason counts as SIGINT).
 *
 * @example
 * if (signal.aborted) throw interrupted(signal);
 */
export function interrupted(signal: AbortSignal): SeedError {
  const name: InterruptSignal = (SIGNALS as readonly unknown[]).includes(signal.reason)
    ? (signal.reason as InterruptSignal)
    : "SIGINT";
  return new SeedError(
    `INTERRUPTED_${name}`,
    `interrupted by ${name}: the transaction was rolled back, the database is as it was`,
  );
}

/**
 * True for a SeedError with the given code (or any code when none is given).
 *
 * @example
 * await seedDatabase().catch((error) => { if (isSeedError(error, "DATABASE_MISSING")) console.log("run npm run db:reset"); });
 */
export function isSeedError(error: unknown, code?: SeedErrorCode): error is SeedError {
  return error instanceof SeedError && (code === undefined || error.code === code);
}
