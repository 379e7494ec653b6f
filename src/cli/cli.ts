import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { redact, secretsOf } from "../db/config.ts";
import { ERROR_CODES, EXIT_CODES, SIGNALS, type InterruptSignal, type SeedError } from "../core/errors.ts";
import { createEventLog, jsonSink, type SeedLogSink } from "../core/log.ts";
import { createLogger, humanSink } from "./output.ts";
import { EMBEDDED_DIR, POSTGRES_MAJOR, releaseEarly } from "../db/embedded.ts";
import { allFlags, flagUsage, parseArgv, usageLine, type AnyCommand } from "./command.ts";
import type { CliContext, CliIO } from "./context.ts";
import seed from "./seed.ts";
import migrate from "./migrate.ts";
import reset from "./reset.ts";
import report from "./report.ts";
import verify from "./verify.ts";
import serve from "./serve.ts";

export type { CliIO } from "./context.ts";
export { SERVE_PORT } from "./flags.ts";

const toSeedError = async (error: unknown, secrets: readonly string[]): Promise<SeedError> =>
  (await import("../db/asSeedError.ts")).asSeedError(error, secrets);

/**
 * The commands of the CLI, as data: parsing, `--help`, the flag errors and the README's flag
 * table are made from these records. The first is the default command.
 */
export const COMMANDS: readonly AnyCommand[] = [seed, migrate, reset, report, verify, serve] as readonly AnyCommand[];

/**
 * `--help`: usage, commands and flags from the records; the environment and exit codes.
 *
 * @example
 * helpText().includes("--profile"); // true
 */
export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.script.length));
  const flags = allFlags(COMMANDS);
  const flagWidth = Math.max(...flags.map(([name, flag]) => flagUsage(name, flag).length));
  const flagLines = flags.map(([name, flag]) => {
    const scope = COMMANDS.filter((c) => c.flags[name]).map((c) => c.name);
    const only = scope.length <= 2 ? `${scope.join(", ")}: ` : "";
    return `  ${flagUsage(name, flag).padEnd(flagWidth)}  ${only}${flag.description}${flag.default ? ` (default: ${flag.default})` : ""}`;
  });
  return `chatgenius-seed: fill a ChatGenius PostgreSQL database with consistent test data

Usage:
${COMMANDS.map((c) => usageLine(c, width)).join("\n")}
  npx prisma db seed -- [seed flags]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(8)}  ${c.description}`).join("\n")}

Flags:
${flagLines.join("\n")}

With no DATABASE_URL, no PG* variable and no .env file, every command uses the embedded
PostgreSQL ${POSTGRES_MAJOR} in ${EMBEDDED_DIR} (started for the command, shared with any other
running at the time); configure any of them to use a server instead.

Environment (also read from .env when present; the environment wins):
  DATABASE_URL    postgresql://USER:PASSWORD@HOST:PORT/DATABASE; when set, PG* are ignored
  PGHOST          server host or Unix socket directory (default: localhost)
  PGPORT          server port (default: 5432)
  PGDATABASE      database name (default: chatgenius)
  PGUSER          user (default: postgres)
  PGPASSWORD      password (never printed)
  NODE_ENV, APP_ENV  'production' in either refuses seed and reset; migrate records it in the database
  SEED_ALLOW_REMOTE  1: same as --allow-remote
  SEED_DATA_FILE     same as --data FILE
  SEED_LOCK_WAIT     seconds a run waits for another seed or reset of the same database (default 60)
  SEED_LOCK_TIMEOUT  seconds the seed waits for a table another session holds (default 10)
  SEED_STATEMENT_TIMEOUT  seconds one statement may run, 0 for no limit (default 600)
  SEED_CACHE         0: never keep or reuse large plans (over 50,000 rows); 1: also for library calls
  SEED_CACHE_DIR     where large plans are kept (default: .chatgenius/cache)
  SEED_CACHE_MB      most megabytes the kept plans take, least recently used go first (default 2048)

Exit codes:
  0  success
  1  the seed or a migration failed and was rolled back; the database is as it was (verify: the database differs)
  2  invalid usage or configuration (flags, variables, connection, database missing, pending migrations, schema mismatch)
  3  refused by the environment guard: production (local environment or the database's marker), or a remote host
  129  interrupted by SIGHUP (the terminal closed): rolled back, the database is as it was
  130  interrupted by SIGINT (Ctrl-C): rolled back, the database is as it was
  143  interrupted by SIGTERM: rolled back, the database is as it was
`;
}

/**
 * Runs one CLI invocation and returns its exit code. Never calls process.exit.
 *
 * @example
 * const code = await runCli(["seed", "--profile", "minimal"], { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr });
 */
export async function runCli(argv: readonly string[], io: CliIO, signal?: AbortSignal): Promise<number> {
  const json = argv.includes("--json");
  const verbose = argv.includes("--verbose");
  // Human output is written by consola, loaded once a command runs (--help and a bad flag answer
  // without it) and while the run resolves and connects: until it is ready, lines and events wait
  // in order.
  let human: SeedLogSink | null = null;
  const waiting: (() => void)[] = [];
  const inOrder = (write: () => void) => (json || human ? write() : waiting.push(write));
  const write = (text: string) => io.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  const out = (text: string) => inOrder(() => write(text));
  const toJson = jsonSink(write);
  let reported = false;
  const sink: SeedLogSink = (event) => {
    if (event.operation === "error" && event.details.step !== "transaction") reported = true;
    if (json) toJson(event);
    else inOrder(() => human!(event));
  };
  const context: CliContext = {
    io,
    out,
    notice: (text) => (json ? io.stderr.write(`${text}\n`) : out(text)),
    log: createEventLog(sink),
    json,
    verbose,
    signal,
    secrets: [...secretsOf(io.env)],
  };
  let loading: Promise<void> = Promise.resolve();
  try {
    const { command, values } = parseArgv(argv, COMMANDS);
    if (values.help) {
      write(helpText());
      return EXIT_CODES.ok;
    }
    if (!json) {
      loading = createLogger(io, verbose)
        .then(
          (logger) => humanSink(logger, io),
          () => () => {},
        )
        .then((ready) => {
          human = ready;
          for (const next of waiting.splice(0)) next();
        });
    }
    const code = await command.run(values, context);
    await loading;
    return code;
  } catch (error) {
    await loading;
    const seedError = await toSeedError(error, context.secrets);
    // Errors raised before a run starts (flags, .env) have not been reported as an event yet.
    if (json && !reported) {
      context.log.emit("error", { step: "cli" }, { code: seedError.code, message: seedError.message });
    }
    io.stderr.write(`error: ${seedError.message}\n`);
    if (verbose && seedError.cause)
      io.stderr.write(`${redact(String((seedError.cause as Error).stack ?? seedError.cause), context.secrets)}\n`);
    return seedError.exitCode;
  }
}

function isMain(): boolean {
  try {
    return (
      process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))
    );
  } catch {
    return false;
  }
}

/**
 * A signal that arrives again within this time is the same keypress delivered twice, not a
 * second Ctrl-C: a terminal signals every process of its foreground group, and a runner in
 * between (npm, tsx) relays the signal to its child as well.
 */
export const REPEAT_WINDOW_MS = 500;

/** Once the run has ended, the process exits after this long even if a handle is still open. */
export const EXIT_GRACE_MS = 2_000;

/**
 * Runs the CLI for this process and returns its exit code. Ctrl-C (SIGINT), SIGTERM and SIGHUP
 * (the terminal closed) abort the run, which rolls back and ends with 130, 143 or 129. A
 * second signal (after REPEAT_WINDOW_MS) exits at once: PostgreSQL rolls back the open
 * transaction when the connection closes.
 *
 * @example
 * process.exitCode = await main(["seed", "--profile", "minimal"]);
 */
export async function main(argv: readonly string[]): Promise<number> {
  const controller = new AbortController();
  const onSignal = signalHandler(controller, (code) => process.exit(code));
  const handlers = SIGNALS.map((name) => [name, () => onSignal(name)] as const);
  for (const [name, handler] of handlers) process.on(name, handler);
  // After SIGHUP the terminal is gone and writing to it fails (EIO, EPIPE): the rollback and
  // the exit code must not depend on it.
  const ignore = () => {};
  for (const stream of [process.stdout, process.stderr]) stream.on("error", ignore);
  try {
    return await runCli(
      argv,
      { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr },
      controller.signal,
    );
  } finally {
    // A server started ahead for this command (bin/chatgenius-seed.mjs) that it never used.
    await releaseEarly();
    for (const [name, handler] of handlers) process.off(name, handler);
  }
}

/**
 * What the process does on each signal: the first aborts the run (which rolls back and ends
 * with the signal's code), the same delivery again within REPEAT_WINDOW_MS is ignored, and a
 * later one exits at once with the signal's code.
 *
 * @example
 * process.on("SIGINT", () => onSignal("SIGINT")); // onSignal = signalHandler(controller, process.exit)
 */
export function signalHandler(
  controller: AbortController,
  exit: (code: number) => void,
  now: () => number = Date.now,
): (name: InterruptSignal) => void {
  let firstAt = 0;
  return (name) => {
    if (!controller.signal.aborted) {
      firstAt = now();
      controller.abort(name);
    } else if (now() - firstAt >= REPEAT_WINDOW_MS) {
      exit(ERROR_CODES[`INTERRUPTED_${name}`]);
    }
  };
}

/**
 * The command as a process (bin/chatgenius-seed.mjs, `tsx src/cli/cli.ts`): runs main(), sets
 * the exit code, and guarantees the process ends within EXIT_GRACE_MS of the run's end, so no
 * stray handle (a library's socket or timer) can keep a terminal or a CI job waiting.
 */
export async function runProcess(argv: readonly string[]): Promise<void> {
  const code = await main(argv);
  process.exitCode = code;
  setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
}

if (isMain()) await runProcess(process.argv.slice(2));
