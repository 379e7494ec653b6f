import type { Env } from "../db/config.ts";
import type { EventLog } from "../core/log.ts";
import type { ResolvedRun, RunKind, RunOptions } from "../api/run.ts";
import type { Profile } from "../plan/plan.ts";
import { EMBEDDED_DIR } from "../db/embedded.ts";
import { openTarget } from "../db/target.ts";

/** What the CLI reads and writes, injectable for tests. */
export interface CliIO {
  env: Env;
  cwd: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** What a command's run is given besides its flags. */
export interface CliContext {
  readonly io: CliIO;
  /** A line on stdout. */
  out(text: string): void;
  /** A notice for a person: stdout, or stderr under --json (where stdout holds events only). */
  notice(text: string): void;
  /** The run's event log (the terminal, or JSON lines), made once. */
  readonly log: EventLog;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly signal?: AbortSignal;
  /** What must never be printed; the resolved run adds those of `.env`. */
  readonly secrets: string[];
}

/**
 * The environment part of every command's run options: the CLI's `.env`, cwd and environment.
 *
 * @example
 * resolveRun("report", cliOptions(context.io, values["allow-remote"]));
 */
export function cliOptions(io: CliIO, allowRemote: boolean | undefined): RunOptions {
  return { env: io.env, loadDotEnv: true, cwd: io.cwd, allowRemote };
}

/** The flags that choose a plan, as seed, reset and verify take them. */
export interface PlanFlags {
  readonly profile?: string;
  readonly scale?: number;
  readonly seed?: number;
  readonly data?: string;
  readonly "allow-remote"?: boolean;
}

/**
 * A plan command's run options: the environment part, the plan and the local accounts file
 * (`default`: prisma/seed.local.json when present).
 *
 * @example
 * resolveRun("verify", planOptions(context.io, { profile: "minimal", seed: 42 }));
 */
export function planOptions(
  io: CliIO,
  values: PlanFlags,
): RunOptions & { profile?: Profile; scale?: number; seed?: number; dataFile: string } {
  return {
    ...cliOptions(io, values["allow-remote"]),
    profile: values.profile as Profile | undefined,
    scale: values.scale,
    seed: values.seed,
    dataFile: values.data ?? "default",
  };
}

/**
 * Settles the run once (resolveRun), then hands it to `body` against its database: the
 * configured server, or, with nothing configured, the embedded one, started (and kept
 * migrated) for the command and stopped after it. Bad flags, `.env`, variables and a
 * production environment are refused here, before any database is opened.
 *
 * @example
 * return withRun(context, "report", cliOptions(context.io, false), async (run) => EXIT_CODES.ok);
 */
export async function withRun(
  context: CliContext,
  kind: RunKind,
  options: RunOptions,
  body: (run: ResolvedRun) => Promise<number>,
): Promise<number> {
  const { resolveRun, retarget } = await import("../api/run.ts");
  const run = resolveRun(kind, options);
  context.secrets.push(...run.secrets);
  if (run.serverConfigured) return body(run);
  context.notice(
    `Using the embedded database in ${EMBEDDED_DIR}: set DATABASE_URL (or PGHOST/PGPORT/…, or write a .env) to use a PostgreSQL server instead`,
  );
  // The server starts in a process of its own while this one loads the code that uses it and,
  // for a seed, builds its plan (pure work, which needs no server).
  const plans = kind === "seed" || kind === "reset";
  const loading = import("../api/reset.ts");
  loading.catch(() => {});
  const whileStarting = plans
    ? () => void import("../generation/planSource.ts").then(({ preparePlan }) => preparePlan(run.plan)).catch(() => {})
    : undefined;
  const opening = openTarget(run, {
    cwd: context.io.cwd,
    signal: context.signal,
    notice: context.notice,
    whileStarting,
  });
  const target = await opening;
  try {
    const embedded = retarget(run, target.config);
    // The embedded database belongs to the project: it is always kept migrated (a seed sees to
    // it on its own connection; reset and migrate migrate anyway).
    if (kind === "verify" || kind === "report") await (await loading).migrateWith(() => embedded, context);
    return await body(embedded);
  } finally {
    await target.release();
  }
}
