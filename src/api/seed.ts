import type pg from "pg";
import type { DatabaseConfig } from "../db/config.ts";
import { connect, createPrisma, translatePgError } from "../db/connection.ts";
import type { Rows } from "../core/datamodel.ts";
import type { SeedError } from "../core/errors.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import { assertDatabaseNotProduction } from "../db/guard.ts";
import { acquireSeedLock, releaseSeedLock } from "../db/lock.ts";
import { recordRun, type RunRecord } from "../monitoring/history.ts";
import type { IntegrityResult } from "../write/integrity.ts";
import { createEventLog, silentSink, type EventLog, type SeedLogSink } from "../core/log.ts";
import { appendRows, countTables, emptyRows, estimateRows, type Profile } from "../plan/plan.ts";
import { assertReady } from "../db/schemaCheck.ts";
import { migrateOn, readMigrations } from "../db/migrations.ts";
import type { ChunkTiming } from "../plan/validate.ts";
import type { WriteMethod } from "../write/transaction.ts";
import { writeWithPrisma } from "../write/prismaWriter.ts";
import { writeWithCopy } from "../write/copyWriter.ts";
import { openPlanSource, type PlanSource } from "../generation/planSource.ts";
import { asSeedError, failed } from "../db/asSeedError.ts";
import { effectiveLimits, serverSettings, type ServerSettings } from "../db/serverSettings.ts";
import { resolveRun, type ResolvedRun, type RunOptions } from "./run.ts";

/**
 * Seeds of at least this many rows are written with COPY instead of Prisma's createMany: all of
 * them. COPY (and its TRUNCATE cleanup) was faster at every size measured, 15 rows included, and
 * a run that does not load Prisma's client starts faster. Prisma's path stays, on request
 * (`method: "prisma"`).
 */
export const COPY_THRESHOLD: number = 0;

/**
 * From this many rows the COPY path drops foreign keys and secondary indexes for the load and
 * rebuilds them before commit (measured with `npm run bench`: slower below, faster above).
 */
export const DEFER_CONSTRAINTS_FROM = 100_000;

/**
 * What a run is given besides its configuration: where events go and the live objects it
 * borrows. Never part of the resolved value (they are not settled, they are used).
 */
export interface SeedHandles {
  /** Where events go (default: nowhere). */
  sink?: SeedLogSink;
  /** A pg pool to take the connection from, kept warm across calls (Vitest between files). */
  pool?: pg.Pool;
  /** A Prisma client to reuse across calls for the Prisma path; seedDatabase leaves it open. */
  prisma?: PrismaClient;
  /** Aborting it (reason "SIGINT", "SIGTERM" or "SIGHUP") stops the run and rolls back. */
  signal?: AbortSignal;
  /** @internal A connection that already holds the seed lock (resetDatabase passes its own). */
  connection?: pg.ClientBase;
}

/**
 * Options of seedDatabase. Everything has a default; tests inject env, URL, sink and clients.
 * `dataFile`: a path (must exist), or `"default"` for prisma/seed.local.json when present (the
 * CLI's behaviour); SEED_DATA_FILE in `env` names one too; library calls read none unless told.
 * `cache`: keep a plan of over 50,000 rows in the plan cache (SEED_CACHE_DIR, default
 * `.chatgenius/cache`) and stream it from there next time the same options and code ask for
 * it; the CLI's default is true, a library call's false; SEED_CACHE=1 or 0 in `env` decides for both.
 */
export interface SeedOptions extends RunOptions, SeedHandles {}

/** @internal What the functions below an entry are handed: the log, made once at the entry, and the live objects. */
export interface RunHandles extends Omit<SeedHandles, "sink"> {
  readonly log: EventLog;
}

/**
 * @internal The handles of an entry's options, with its one event log.
 *
 * @example
 * const handles = handlesOf({ sink: jsonSink((line) => process.stdout.write(line)) });
 */
export function handlesOf(options: SeedHandles): RunHandles {
  return {
    pool: options.pool,
    prisma: options.prisma,
    signal: options.signal,
    connection: options.connection,
    log: createEventLog(options.sink ?? silentSink),
  };
}

/** What a run did: the figures the CLI prints and `--json` reports. */
export interface SeedSummary {
  target: string;
  profile: Profile;
  seed: number;
  scale: number;
  dryRun: boolean;
  method: WriteMethod;
  /** Tables in insert order. `removed`/`ms` are absent on a dry run. */
  tables: { table: string; rows: number; removed?: number; ms?: number }[];
  totalRows: number;
  /** Milliseconds per phase. */
  phases: { validate: number; generate: number; cleanup: number; write: number; verify: number; total: number };
  integrity: IntegrityResult[];
  /** Developers' own accounts from the local seed file, when one was used. */
  localAccounts?: { file: string; users: { username: string; auth0Id: string }[] };
}

/**
 * Seeds a database: validates configuration, connection, schema and the planned rows, then
 * replaces the contents of every seeded table in one transaction, checks integrity in SQL and
 * commits. On any failure nothing changes and a SeedError says why and how to fix it.
 *
 * @example
 * import { seedDatabase } from "chatgenius-seed";
 * const summary = await seedDatabase({ databaseUrl: "postgresql://postgres@127.0.0.1:5432/chatgenius_test", profile: "minimal" });
 * summary.totalRows; // 15
 */
export async function seedDatabase(options: SeedOptions = {}): Promise<SeedSummary> {
  const handles = handlesOf(options);
  let run: ResolvedRun;
  try {
    run = resolveRun("seed", options);
  } catch (error) {
    throw failed(handles.log, { step: "run", target: "(not configured)" }, error, []);
  }
  return seedWith(run, handles);
}

/**
 * @internal The seed of a run already resolved: the CLI's, a reset's (on the reset's own
 * connection, which holds the seed lock and was checked for the production marker).
 *
 * @example
 * const summary = await seedWith(resolveRun("seed", { profile: "minimal" }), handlesOf({}));
 */
export async function seedWith(run: ResolvedRun, handles: RunHandles): Promise<SeedSummary> {
  const started = performance.now();
  const { log } = handles;
  const startedAt = new Date();
  const { target: config, plan: planOptions, settings, local, dryRun } = run;
  const target = config.target;
  // Set once the run has a database it may write to: from then on its outcome is recorded.
  let history: { config: DatabaseConfig; run: Omit<RunRecord, "status" | "finishedAt" | "rowsPerTable"> } | null = null;
  // What the database or role sets itself (a timeout, read-only): an error names it, not SEED_*.
  let server: ServerSettings = {};
  try {
    const method: WriteMethod =
      run.method !== "auto"
        ? run.method
        : // Estimating builds a slice: only when a threshold above 0 makes the row count matter.
          COPY_THRESHOLD <= 0 || estimateRows(planOptions) >= COPY_THRESHOLD
          ? "copy"
          : "prisma";
    log.emit("start", {
      step: "run",
      command: run.command,
      target,
      ...planOptions,
      method,
      dryRun,
      ...(local ? { localAccounts: local.accounts } : {}),
    });

    const summary: SeedSummary = {
      target,
      ...planOptions,
      dryRun,
      method,
      tables: [],
      totalRows: 0,
      integrity: [],
      phases: { validate: 0, generate: 0, cleanup: 0, write: 0, verify: 0, total: 0 },
      ...(local ? { localAccounts: local.accounts } : {}),
    };
    const client = handles.connection
      ? { client: handles.connection, release: () => {} }
      : await acquire(config, handles.pool);
    // Prisma writes on connections of its own, so the run's connection is idle to cancel through.
    const cancel = canceller(config, method === "prisma" ? client.client : undefined);
    server = await serverSettings(client.client).catch(() => ({}));
    const limits = effectiveLimits(settings, server);
    let locked = false;
    const timing: ChunkTiming = { generate: 0, validate: 0 };
    // Large plans stream (from the plan cache, or generator workers started now: their start-up
    // and first chunks overlap the checks, the lock and the cleanup below); small ones are built here.
    const bulk = method === "copy" && !dryRun;
    let source: PlanSource | undefined;
    try {
      const t = performance.now();
      source = openPlanSource(run, { bulk, timing, log });
      if (!handles.connection) await assertDatabaseNotProduction(client.client, config.database);
      if (!dryRun) {
        const record = {
          command: run.command,
          profile: planOptions.profile,
          seed: planOptions.seed,
          scale: planOptions.scale,
          method,
          startedAt,
          localAccounts: local?.hash ?? null,
        };
        history = { config, run: record };
      }
      if (!handles.connection && !dryRun) {
        await acquireSeedLock(client.client, { waitMs: settings.lockWaitMs, log, signal: handles.signal });
        locked = true;
      }
      await ready(client.client, run, log);
      const preflightMs = performance.now() - t;
      let fingerprints: Record<string, string> | null = null;
      if (dryRun) {
        const rows = emptyRows();
        for (const chunk of source.rows()) countInto(rows, chunk);
        summary.tables = countTables(rows).map((x) => ({ table: x.table.name, rows: x.rows }));
      } else if (method === "prisma") {
        const rows = emptyRows();
        for (const chunk of source.rows()) appendRows(rows, chunk);
        const prisma = handles.prisma ?? (await createPrisma(config));
        try {
          const result = await writeWithPrisma(prisma, rows, log, {
            transactionTimeoutMs: run.transactionTimeoutMs,
            ...limits,
            signal: handles.signal,
            cancel,
          });
          fill(summary, result);
          fingerprints = result.fingerprints;
        } finally {
          if (!handles.prisma) await prisma.$disconnect();
        }
      } else {
        const { cached } = source;
        if (cached)
          log.emit("start", {
            step: "cache",
            action: "hit",
            file: cached.file,
            rows: cached.rows,
            bytes: cached.bytes,
          });
        const result = await writeWithCopy(client.client, source.encoded(), log, {
          expectedRows: source.expectedRows,
          deferConstraints: source.expectedRows >= DEFER_CONSTRAINTS_FROM,
          ...limits,
          signal: handles.signal,
          cancel,
        });
        fill(summary, result);
        fingerprints = result.fingerprints;
        source.committed(result.streamedFingerprints);
      }
      summary.phases.generate = Math.round(timing.generate);
      summary.phases.validate = Math.round(preflightMs + timing.validate);
      if (history && fingerprints) {
        await recordRun(client.client, {
          ...history.run,
          status: "success",
          finishedAt: new Date(),
          rowsPerTable: Object.fromEntries(summary.tables.map((t) => [t.table, t.rows])),
          fingerprints,
        });
        history = null;
      }
    } finally {
      await source?.close();
      if (locked) await releaseSeedLock(client.client);
      client.release();
    }
    summary.totalRows = summary.tables.reduce((sum, x) => sum + x.rows, 0);
    summary.phases.total = Math.round(performance.now() - started);
    log.emit("complete", { step: "run", totalRows: summary.totalRows, durationMs: summary.phases.total, summary });
    return summary;
  } catch (error) {
    const seedError = asSeedError(error, run.secrets, { settings, server });
    if (history) await recordFailure(history, seedError);
    throw failed(log, { step: "run", target }, seedError, run.secrets);
  }
}

/**
 * The database's checks before anything is read or written (assertReady). The project's own
 * database (`run.keepMigrated`: the embedded one) that lacks migrations, or the app's functions
 * and triggers, gets them on this connection, under the seed lock, and is checked again: one
 * connection and one look at the migration history when nothing is pending, as on a server.
 */
async function ready(client: pg.ClientBase, run: ResolvedRun, log: EventLog): Promise<void> {
  const database = run.target.database;
  try {
    await assertReady(client, database, run.migrationsDir);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (!run.keepMigrated || (code !== "PENDING_MIGRATIONS" && code !== "SCHEMA_MISMATCH")) throw error;
    const migrations = readMigrations(run.migrationsDir);
    await migrateOn(client, { database, environment: run.guard.environment, migrations, log });
    await assertReady(client, database, run.migrationsDir);
  }
}

/**
 * Cancels a backend's running statement. `idle` is a connection of this run that sits idle
 * while the write runs elsewhere (the Prisma path writes on Prisma's own): cancelling through
 * it needs no new connection, which a server at its connection limit would refuse. Otherwise
 * (COPY writes on the run's connection) a connection of its own is opened per attempt.
 */
function canceller(config: DatabaseConfig, idle?: pg.ClientBase): (backendPid: number) => Promise<void> {
  return async (backendPid) => {
    if (idle) {
      await idle.query(`SELECT pg_cancel_backend($1)`, [backendPid]);
      return;
    }
    const client = await connect(config);
    try {
      await client.query(`SELECT pg_cancel_backend($1)`, [backendPid]);
    } finally {
      await client.end().catch(() => {});
    }
  };
}

/** Records a failed, rolled-back run, on a fresh connection: the run's own may be gone. */
async function recordFailure(
  history: { config: DatabaseConfig; run: Omit<RunRecord, "status" | "finishedAt" | "rowsPerTable"> },
  error: SeedError,
): Promise<void> {
  const client = await connect(history.config).catch(() => null);
  if (!client) return;
  try {
    await recordRun(client, {
      ...history.run,
      status: "failed",
      finishedAt: new Date(),
      rowsPerTable: {},
      errorCode: error.code,
      errorMessage: error.message,
    });
  } finally {
    await client.end().catch(() => {});
  }
}

function fill(summary: SeedSummary, result: Awaited<ReturnType<typeof writeWithCopy>>) {
  summary.tables = Object.entries(result.inserted).map(([table, v]) => ({
    table,
    rows: v.rows,
    removed: result.removed[table] ?? 0,
    ms: v.ms,
  }));
  summary.integrity = result.integrity;
  summary.phases.cleanup = result.phases.cleanup;
  summary.phases.write = result.phases.write;
  summary.phases.verify = result.phases.verify;
}

function countInto(rows: Rows, chunk: Rows) {
  for (const model of Object.keys(rows) as (keyof Rows)[]) (rows[model] as unknown[]).length += chunk[model].length;
}

/** A connection from the caller's pool, or a new one. */
async function acquire(
  config: DatabaseConfig,
  pool?: pg.Pool,
): Promise<{ client: pg.ClientBase; release: () => void }> {
  if (!pool) {
    const client = await connect(config);
    return { client, release: () => void client.end().catch(() => {}) };
  }
  try {
    const client = await pool.connect();
    return { client, release: () => client.release() };
  } catch (error) {
    throw translatePgError(error, config);
  }
}
