import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadEnv, redact, resolvePlanCache, secretsOf, type Env } from "../db/config.ts";
import { ERROR_CODES, EXIT_CODES, SeedError, SIGNALS, type InterruptSignal } from "../core/errors.ts";
import { consoleSink, createEventLog, createPrinter, jsonSink, type SeedLogSink } from "../core/log.ts";
import { DEFAULT_DATA_FILE } from "../plan/localSeed.ts";
import { EMBEDDED_DIR, embeddedDir, isServerConfigured, startEmbedded } from "../db/embedded.ts";
import { checkPlanOptions, DEFAULT_PROFILE, DEFAULT_SEED, MAX_SCALE, PROFILES, type Profile } from "../plan/plan.ts";
import { assertNotProduction } from "../db/guard.ts";

// What a command does is loaded when it runs (dynamic imports): `--help` and a bad flag answer
// without loading the database driver, and each command loads only its own code.
const api = () => Promise.all([import("../api/seed.ts"), import("../api/reset.ts"), import("../api/seedScript.ts")]).then(([seed, reset, script]) => ({ ...seed, ...reset, ...script }));
const toSeedError = async (error: unknown, secrets: string[]): Promise<SeedError> => (await import("../db/asSeedError.ts")).asSeedError(error, secrets);

/** The commands of the CLI; one list feeds the type, the check and `--help`. */
export const COMMANDS = ["seed", "migrate", "reset", "report", "verify", "serve"] as const;
export type Command = (typeof COMMANDS)[number];

/** What the CLI reads and writes, injectable for tests. */
export interface CliIO {
  env: Env;
  cwd: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const OPTIONS = {
  profile: { type: "string" },
  scale: { type: "string" },
  seed: { type: "string" },
  json: { type: "boolean" },
  "dry-run": { type: "boolean" },
  verbose: { type: "boolean" },
  "allow-remote": { type: "boolean" },
  data: { type: "string" },
  last: { type: "string" },
  port: { type: "string" },
  regenerate: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** Port db:serve listens on unless --port says otherwise. */
export const SERVE_PORT = 5499;

/** Flags each command accepts. */
const ACCEPTS: Record<Command, readonly (keyof typeof OPTIONS)[]> = {
  seed: ["profile", "scale", "seed", "json", "dry-run", "verbose", "allow-remote", "data", "help"],
  reset: ["profile", "scale", "seed", "json", "verbose", "allow-remote", "data", "help"],
  migrate: ["json", "verbose", "allow-remote", "help"],
  report: ["json", "verbose", "allow-remote", "last", "help"],
  verify: ["profile", "scale", "seed", "json", "verbose", "allow-remote", "data", "regenerate", "help"],
  serve: ["port", "verbose", "help"],
};

export const HELP = `chatgenius-seed: fill a ChatGenius PostgreSQL database with consistent test data

Usage:
  npm run db:seed    -- [--profile ${PROFILES.join("|")}] [--scale N] [--seed N] [--json] [--dry-run] [--verbose] [--allow-remote] [--data FILE]
  npm run db:reset   -- [--profile ${PROFILES.join("|")}] [--scale N] [--seed N] [--json] [--verbose] [--allow-remote] [--data FILE]
  npm run db:migrate -- [--json] [--verbose] [--allow-remote]
  npm run db:report  -- [--last N] [--json] [--allow-remote]
  npm run db:serve   -- [--port N]
  npm run db:verify  -- [--profile ${PROFILES.join("|")}] [--scale N] [--seed N] [--data FILE] [--regenerate] [--json] [--allow-remote]
  npx prisma db seed -- [seed flags]

Commands:
  seed      replace the contents of every seeded table in one transaction (default)
  migrate   create the database if missing, apply pending migrations (recorded as Prisma Migrate does)
  reset     create the database if missing, drop and recreate its schema, migrate, seed
  report    run history (success rate, errors by code, mean and p95 duration), row counts, integrity, constraints
  verify    is the database exactly what that seed writes? compares per-table fingerprints, then rows; writes nothing
  serve     serve the embedded database on a local port (migrated and seeded first if new) until Ctrl-C

Flags:
  --profile NAME  minimal: canonical data only; dev: a realistic workspace; edge: every boundary and
                  hostile string, for QA (default: ${DEFAULT_PROFILE})
  --scale N       multiply the generated part of dev, 1 to ${MAX_SCALE} (default: 1)
  --seed N        random seed, a whole number ≥ 0; same seed, same rows (default: ${DEFAULT_SEED})
  --json          print one JSON event per line on stdout and nothing else there
  --dry-run       validate and print the plan (tables in order, row counts); write nothing
  --verbose       show transaction steps and, on failure, the underlying error
  --allow-remote  allow a database host other than this machine (loopback or Unix socket)
  --last N        report: how many recent runs to list and compute rates over (default: 20)
  --port N        serve: the port to listen on (default: ${SERVE_PORT})
  --regenerate    verify: compare with regenerated rows even when the recorded fingerprints match
  --data FILE     your own accounts (JSON, see prisma/seed.local.example.json); default: ${DEFAULT_DATA_FILE} when present
  -h, --help      show this help

With no DATABASE_URL, no PG* variable and no .env file, every command uses the embedded
PostgreSQL (PGlite) in ${EMBEDDED_DIR}; configure any of them to use a server instead.

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

/**
 * Runs one CLI invocation and returns its exit code. Never calls process.exit.
 *
 * @example
 * const code = await runCli(["seed", "--profile", "minimal"], { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr });
 */
export async function runCli(argv: readonly string[], io: CliIO, signal?: AbortSignal): Promise<number> {
  const json = argv.includes("--json");
  const verbose = argv.includes("--verbose");
  const out = (text: string) => io.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
  const render: SeedLogSink = json ? jsonSink(out) : consoleSink(createPrinter(io.stdout, io.stderr), verbose);
  let reported = false;
  const sink: SeedLogSink = (event) => {
    if (event.operation === "error" && event.details.step !== "transaction") reported = true;
    render(event);
  };
  let secrets: string[] = secretsOf(io.env);
  try {
    const { command, values } = parse(argv);
    if (values.help) {
      out(HELP);
      return EXIT_CODES.ok;
    }
    const env = loadEnv({ cwd: io.cwd, env: io.env });
    secrets = secretsOf(env);
    // Bad flags and a production environment are refused before any database is opened.
    checkPlanOptions({ profile: values.profile as Profile | undefined, scale: integer(values.scale, "--scale"), seed: integer(values.seed, "--seed") });
    if (command === "seed" || command === "reset") {
      assertNotProduction(env);
      resolvePlanCache(env, io.cwd, true);
    }
    const embedded = !isServerConfigured(io.env, io.cwd);
    if (command === "serve") return await serve(io, values.port, embedded, out, signal);
    if (!embedded) return await run(command, values, env, io, json, out, sink, signal);
    // Nothing configured: the embedded database, said first (stderr under --json, where stdout is events only).
    const { migrateDatabase } = await api();
    const db = await startEmbedded({ dir: embeddedDir(io.cwd), env });
    const notice = `Using the embedded PostgreSQL (PGlite) in ${EMBEDDED_DIR}: set DATABASE_URL (or PGHOST/PGPORT/…, or write a .env) to use a PostgreSQL server instead`;
    if (json) io.stderr.write(`${notice}\n`);
    else out(notice);
    try {
      // The embedded database belongs to the project: it is always kept migrated.
      if (command !== "migrate" && command !== "reset") await migrateDatabase({ env: { ...env, DATABASE_URL: db.url }, sink });
      return await run(command, values, { ...env, DATABASE_URL: db.url }, io, json, out, sink, signal);
    } finally {
      await db.stop();
    }
  } catch (error) {
    const seedError = await toSeedError(error, secrets);
    // Errors raised before a run starts (flags, .env) have not been reported as an event yet.
    if (json && !reported) {
      createEventLog(sink).emit("error", { step: "cli" }, { code: seedError.code, message: seedError.message });
    }
    io.stderr.write(`error: ${seedError.message}\n`);
    if (verbose && seedError.cause) io.stderr.write(`${redact(String((seedError.cause as Error).stack ?? seedError.cause), secrets)}\n`);
    return seedError.exitCode;
  }
}

type Values = ReturnType<typeof parse>["values"];

/** One command against a resolved environment (a server, or the embedded database's URL). */
async function run(command: Command, values: Values, env: Env, io: CliIO, json: boolean, out: (text: string) => void, sink: SeedLogSink, signal?: AbortSignal): Promise<number> {
  const plan = { profile: values.profile as Profile | undefined, scale: integer(values.scale, "--scale"), seed: integer(values.seed, "--seed") };
  const allowRemote = values["allow-remote"] ?? false;
  const local = { dataFile: values.data ?? "default", cwd: io.cwd };
  const { migrateDatabase, createSeedScript } = await api();
  if (command === "migrate") {
    await migrateDatabase({ env, sink, allowRemote });
    return EXIT_CODES.ok;
  }
  const { formatReport, formatSummary, formatVerify } = await import("./summary.ts");
  if (command === "report") {
    const { reportDatabase } = await import("../monitoring/reportDatabase.ts");
    const report = await reportDatabase({ env, allowRemote, last: values.last === undefined ? undefined : positive(values.last, "--last") });
    out(json ? JSON.stringify(report) : formatReport(report));
    return EXIT_CODES.ok;
  }
  if (command === "verify") {
    const { verifyDatabase } = await import("../monitoring/verify.ts");
    const result = await verifyDatabase({ env, ...plan, ...local, allowRemote, regenerate: values.regenerate ?? false });
    out(json ? JSON.stringify(result) : formatVerify(result));
    return result.identical ? EXIT_CODES.ok : EXIT_CODES.seedFailed;
  }
  // seed and reset run as the spec's SeedScript; its error goes to the log once, and runCli
  // prints the one line and returns the exit code.
  const script = createSeedScript({ env, sink, ...plan, ...local, dryRun: values["dry-run"] ?? false, command: command === "reset" ? "reset" : "seed", allowRemote, signal, cache: true });
  try {
    await script.runSeeds();
  } catch (error) {
    script.handleError(error as Error);
    throw error;
  }
  if (!json) out(formatSummary(script.summary!));
  return EXIT_CODES.ok;
}

/**
 * `db:serve`: the embedded database over the PostgreSQL protocol on a loopback port, for the
 * ChatGenius app or psql, until Ctrl-C / SIGTERM. A new database is migrated and seeded first.
 */
async function serve(io: CliIO, portFlag: string | undefined, embedded: boolean, out: (text: string) => void, signal?: AbortSignal): Promise<number> {
  if (!embedded) {
    throw new SeedError("INVALID_USAGE", "db:serve serves the embedded database, but a server is configured (DATABASE_URL, PG* or .env): connect to that server directly, or unset them to use the embedded one");
  }
  const port = portFlag === undefined ? SERVE_PORT : integer(portFlag, "--port")!;
  if (port < 1 || port > 65535) throw new SeedError("INVALID_USAGE", `--port must be from 1 to 65535, got '${portFlag}'`);
  const [{ migrateDatabase, seedDatabase }, { readMigrations }] = await Promise.all([api(), import("../db/migrations.ts")]);
  const db = await startEmbedded({ dir: embeddedDir(io.cwd), port, serving: true, env: io.env });
  try {
    const env = { DATABASE_URL: db.url };
    const { applied } = await migrateDatabase({ env });
    if (applied.includes(readMigrations()[0]!.name)) {
      out(`New embedded database: seeding the ${DEFAULT_PROFILE} profile`);
      await seedDatabase({ env });
    }
    out(`Serving the embedded PostgreSQL (PGlite) in ${EMBEDDED_DIR} on 127.0.0.1:${port}`);
    out(`DATABASE_URL=${db.url}`);
    out(`psql ${db.url}`);
    out("Ctrl-C to stop");
    await new Promise<void>((resolve) => {
      if (!signal) return;
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve(), { once: true });
    });
  } finally {
    await db.stop();
  }
  out("Stopped: the embedded database is saved");
  return EXIT_CODES.ok;
}

function parse(argv: readonly string[]) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    const e = error as { code?: string; message: string };
    const option = /'(-{1,2}[\w-]+)/.exec(e.message)?.[1];
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw new SeedError("INVALID_USAGE", `unknown flag '${option}': run with --help to see the flags`);
    if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") throw new SeedError("INVALID_USAGE", `flag '${option ?? "?"}' needs a value, e.g. --scale 2: run with --help to see the flags`);
    throw new SeedError("INVALID_USAGE", `${e.message.split(".")[0]}: run with --help to see the flags`);
  }
  const { values, positionals } = parsed;
  const name = positionals[0] ?? "seed";
  if (!COMMANDS.includes(name as Command) || positionals.length > 1) {
    throw new SeedError("INVALID_USAGE", `unknown command '${positionals.join(" ")}': use one of ${COMMANDS.join(", ")} (see --help)`);
  }
  const command = name as Command;
  for (const flag of Object.keys(values) as (keyof typeof OPTIONS)[]) {
    if (!ACCEPTS[command].includes(flag)) throw new SeedError("INVALID_USAGE", `--${flag} does not apply to '${command}': run with --help to see its flags`);
  }
  if (values.profile !== undefined && !PROFILES.includes(values.profile as Profile)) {
    throw new SeedError("INVALID_USAGE", `unknown profile '${values.profile}': use --profile ${PROFILES.join(" or --profile ")}`);
  }
  return { command, values };
}

function positive(value: string, flag: string): number {
  const n = integer(value, flag)!;
  if (n < 1) throw new SeedError("INVALID_USAGE", `${flag} must be a whole number ≥ 1, got '${value}'`);
  return n;
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim())) {
    const range = flag === "--scale" ? `from 1 to ${MAX_SCALE}` : "≥ 0";
    throw new SeedError("INVALID_USAGE", `${flag} must be a whole number ${range}, got '${value}'`);
  }
  return Number(value.trim());
}

function isMain(): boolean {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
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
    return await runCli(argv, { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr }, controller.signal);
  } finally {
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
export function signalHandler(controller: AbortController, exit: (code: number) => void, now: () => number = Date.now): (name: InterruptSignal) => void {
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
