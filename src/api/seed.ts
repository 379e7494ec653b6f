import pg from "pg";
import { resolvePlanCache, runEnv, resolveSeedSettings, secretsOf, type DatabaseConfig, type Env } from "../db/config.ts";
import { connect, createPrisma, translatePgError } from "../db/connection.ts";
import type { Rows } from "../core/datamodel.ts";
import { SeedError } from "../core/errors.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import { assertDatabaseNotProduction, guardTarget } from "../db/guard.ts";
import { acquireSeedLock, releaseSeedLock } from "../db/lock.ts";
import { recordRun, type RunRecord } from "../monitoring/history.ts";
import type { IntegrityResult } from "../write/integrity.ts";
import { createEventLog, silentSink, type SeedLogSink } from "../core/log.ts";
import { appendRows, checkPlanOptions, countTables, emptyRows, estimateRows, planChunks, type PlanOptions, type Profile } from "../plan/plan.ts";
import { assertReady } from "../db/schemaCheck.ts";
import { encodedChunks, startGenerators, type StartedGenerators } from "../write/chunks.ts";
import { encodeChunk, type BulkFormat, type EncodedChunk } from "../write/copy.ts";
import { resolveLocalRows } from "../plan/localSeed.ts";
import { validatedChunks, type ChunkTiming } from "../plan/validate.ts";
import { writeWithCopy, writeWithPrisma, type WriteMethod } from "../write/writer.ts";
import { openCachedPlan, planKey, printsWithout, recordPlan, type CachedPlan, type PlanRecorder } from "../write/planCache.ts";
import { asSeedError } from "../db/asSeedError.ts";
import { needsJsonBulk } from "../db/embedded.ts";

/**
 * Seeds of at least this many rows are written with COPY instead of Prisma's createMany: all of
 * them. COPY (and its TRUNCATE cleanup) was faster at every size measured, 15 rows included, and
 * a run that does not load Prisma's client starts faster. Prisma's path stays, on request
 * (`method: "prisma"`).
 */
export const COPY_THRESHOLD = 0;

/**
 * From this many rows the COPY path drops foreign keys and secondary indexes for the load and
 * rebuilds them before commit (measured with `npm run bench`: slower below, faster above).
 */
export const DEFER_CONSTRAINTS_FROM = 100_000;

/** Plans up to this many rows are kept in memory between calls in one process. */
const CACHE_LIMIT = 50_000;

/** Options of seedDatabase. Everything has a default; tests inject env, URL, sink and clients. */
export interface SeedOptions extends PlanOptions {
  /** The environment to read configuration from (default: process.env, with `.env` under it when `loadDotEnv`). */
  env?: Env;
  /** Target database; overrides DATABASE_URL and PG* in `env`. */
  databaseUrl?: string;
  /** Read `.env` from the current directory (the CLI does; default false for library calls). */
  loadDotEnv?: boolean;
  /** Validate and plan, write nothing. */
  dryRun?: boolean;
  /** Where events go (default: nowhere). */
  sink?: SeedLogSink;
  /** `auto` (default) picks COPY from COPY_THRESHOLD rows up, Prisma below. */
  method?: WriteMethod | "auto";
  /** A pg pool to take the connection from, kept warm across calls (Vitest between files). */
  pool?: pg.Pool;
  /** A Prisma client to reuse across calls for the Prisma path; seedDatabase leaves it open. */
  prisma?: PrismaClient;
  /** Folder of migrations to compare the database with (default: prisma/migrations). */
  migrationsDir?: string;
  /** Longest the Prisma seed transaction may run (ms, default 10 minutes). */
  transactionTimeoutMs?: number;
  /** Command name shown in the start event. */
  command?: string;
  /** Allow a database host other than this machine (also SEED_ALLOW_REMOTE=1). */
  allowRemote?: boolean;
  /** Aborting it (reason "SIGINT", "SIGTERM" or "SIGHUP") stops the run and rolls back. */
  signal?: AbortSignal;
  /** Overrides of SEED_LOCK_WAIT / SEED_LOCK_TIMEOUT / SEED_STATEMENT_TIMEOUT, in ms. */
  lockWaitMs?: number;
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  /**
   * The local seed file of developers' own accounts: a path (must exist), or `"default"` for
   * prisma/seed.local.json when present (the CLI's behaviour). SEED_DATA_FILE in `env` names
   * one too. Library calls read none unless told.
   */
  dataFile?: string;
  /**
   * Keep a plan of over 50,000 rows in the plan cache (SEED_CACHE_DIR, default
   * `.chatgenius/cache`) and, next time the same options and code ask for it, stream it from
   * there instead of generating it: the same bytes, checked by crc32. The CLI's default is
   * true, a library call's false; SEED_CACHE=1 or 0 in `env` decides for both.
   */
  cache?: boolean;
  /** Directory relative paths are resolved from (default: process.cwd()). */
  cwd?: string;
  /** @internal A connection that already holds the seed lock (resetDatabase passes its own). */
  connection?: pg.ClientBase;
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
  const started = performance.now();
  const env = runEnv(options);
  const log = createEventLog(options.sink ?? silentSink);
  const secrets = secretsOf(env);
  const startedAt = new Date();
  let target = "(not configured)";
  // Set once the run has a database it may write to: from then on its outcome is recorded.
  let history: { config: DatabaseConfig; run: Omit<RunRecord, "status" | "finishedAt" | "rowsPerTable"> } | null = null;
  try {
    const config = guardTarget(env, { allowRemote: options.allowRemote });
    target = config.target;
    const settings = { ...resolveSeedSettings(env), ...definedOnly({ lockWaitMs: options.lockWaitMs, lockTimeoutMs: options.lockTimeoutMs, statementTimeoutMs: options.statementTimeoutMs }) };
    const planOptions = checkPlanOptions(options);
    const cacheSettings = resolvePlanCache(env, options.cwd ?? process.cwd(), options.cache ?? false);
    const method: WriteMethod = options.method && options.method !== "auto" ? options.method : estimateRows(planOptions) >= COPY_THRESHOLD ? "copy" : "prisma";
    const dryRun = options.dryRun ?? false;
    // The local accounts are checked before anything is contacted: a bad file changes nothing.
    const local = resolveLocalRows(options, env, planOptions);
    log.emit("start", { step: "run", command: options.command ?? "seed", target, ...planOptions, method, dryRun, ...(local ? { localAccounts: local.accounts } : {}) });

    const summary: SeedSummary = {
      target, ...planOptions, dryRun, method, tables: [], totalRows: 0, integrity: [],
      phases: { validate: 0, generate: 0, cleanup: 0, write: 0, verify: 0, total: 0 },
      ...(local ? { localAccounts: local.accounts } : {}),
    };
    const client = options.connection ? { client: options.connection, release: () => {} } : await acquire(config, options.pool);
    let locked = false;
    let generators: StartedGenerators | undefined;
    let cachedPlan: CachedPlan | null = null;
    let recorder: PlanRecorder | null = null;
    try {
      let t = performance.now();
      // The embedded PGlite speaks the protocol but not COPY FROM STDIN: served by this process,
      // its rows go by COPY from a blob; served by another (db:serve), as JSON.
      const format: BulkFormat = (await needsJsonBulk(client.client)) ? "json" : "copy";
      const timing: ChunkTiming = { generate: 0, validate: 0 };
      // Large plans stream from generator workers, started now: their start-up and first chunks
      // overlap the checks, the lock and the cleanup below. Small plans are built here (and kept).
      const streamed = method === "copy" && !dryRun && estimateRows(planOptions) > CACHE_LIMIT;
      // A plan built before with the same options and code is read back instead of generated.
      const planCache = streamed ? cacheSettings : null;
      const key = planCache ? planKey(planOptions, format) : "";
      cachedPlan = planCache ? openCachedPlan(planCache, key, format) : null;
      if (streamed && !cachedPlan) generators = startGenerators(planOptions, timing, undefined, format);
      recorder = planCache && !cachedPlan ? recordPlan(planCache, key, format, log) : null;
      await assertDatabaseNotProduction(client.client, config.database);
      if (!dryRun) {
        const run = { command: options.command ?? "seed", profile: planOptions.profile, seed: planOptions.seed, scale: planOptions.scale, method, startedAt, localAccounts: local?.hash ?? null };
        history = { config, run };
      }
      if (!options.connection && !dryRun) {
        await acquireSeedLock(client.client, { waitMs: settings.lockWaitMs, log, signal: options.signal });
        locked = true;
      }
      await assertReady(client.client, config.database, options.migrationsDir);
      const preflightMs = performance.now() - t;
      let fingerprints: Record<string, string> | null = null;
      const chunks = streamed ? null : planSource(planOptions, timing);
      if (dryRun) {
        const rows = emptyRows();
        for (const chunk of chunks!) countInto(rows, chunk);
        if (local) countInto(rows, local.rows);
        summary.tables = countTables(rows).map((x) => ({ table: x.table.name, rows: x.rows }));
      } else if (method === "prisma") {
        const rows = emptyRows();
        for (const chunk of chunks!) appendRows(rows, chunk);
        if (local) appendRows(rows, local.rows);
        const prisma = options.prisma ?? (await createPrisma(config));
        try {
          const result = await writeWithPrisma(prisma, rows, log, { transactionTimeoutMs: options.transactionTimeoutMs, ...settings, signal: options.signal, cancel: canceller(config) });
          fill(summary, result);
          fingerprints = result.fingerprints;
        } finally {
          if (!options.prisma) await prisma.$disconnect();
        }
      } else {
        if (cachedPlan) log.emit("start", { step: "cache", action: "hit", file: cachedPlan.file, rows: cachedPlan.rows, bytes: cachedPlan.bytes });
        const planned = chunks ? encodedChunks(chunks, timing, format) : cachedPlan ? cachedPlan.chunks() : recorder ? recorder.record(generators!.chunks) : generators!.chunks;
        const source = local ? followedBy(planned, local.rows, format) : planned;
        const expectedRows = estimateRows(planOptions) + (local ? countRows(local.rows) : 0);
        const result = await writeWithCopy(client.client, source, log, { expectedRows, deferConstraints: expectedRows >= DEFER_CONSTRAINTS_FROM, ...settings, signal: options.signal, cancel: canceller(config) });
        fill(summary, result);
        fingerprints = result.fingerprints;
        // Committed: the plan is kept for the next run (without the local accounts, added on top each time).
        recorder?.commit(printsWithout(result.prints, local?.rows));
      }
      summary.phases.generate = Math.round(timing.generate);
      summary.phases.validate = Math.round(preflightMs + timing.validate);
      if (history && fingerprints) {
        await recordRun(client.client, { ...history.run, status: "success", finishedAt: new Date(), rowsPerTable: Object.fromEntries(summary.tables.map((t) => [t.table, t.rows])), fingerprints });
        history = null;
      }
    } finally {
      recorder?.discard();
      cachedPlan?.close();
      await generators?.stop();
      if (locked) await releaseSeedLock(client.client);
      client.release();
    }
    summary.totalRows = summary.tables.reduce((sum, x) => sum + x.rows, 0);
    summary.phases.total = Math.round(performance.now() - started);
    log.emit("complete", { step: "run", totalRows: summary.totalRows, durationMs: summary.phases.total, summary });
    return summary;
  } catch (error) {
    const seedError = asSeedError(error, secrets);
    if (history) await recordFailure(history, seedError);
    log.emit("error", { step: "run", target }, { code: seedError.code, message: seedError.message });
    throw seedError;
  }
}

/** Cancels a backend's running statement from a connection of its own. */
function canceller(config: DatabaseConfig): (backendPid: number) => Promise<void> {
  return async (backendPid) => {
    const client = await connect(config);
    try {
      await client.query(`SELECT pg_cancel_backend($1)`, [backendPid]);
    } finally {
      await client.end().catch(() => {});
    }
  };
}

/** Records a failed, rolled-back run, on a fresh connection: the run's own may be gone. */
async function recordFailure(history: { config: DatabaseConfig; run: Omit<RunRecord, "status" | "finishedAt" | "rowsPerTable"> }, error: SeedError): Promise<void> {
  const client = await connect(history.config).catch(() => null);
  if (!client) return;
  try {
    await recordRun(client, { ...history.run, status: "failed", finishedAt: new Date(), rowsPerTable: {}, errorCode: error.code, errorMessage: error.message });
  } finally {
    await client.end().catch(() => {});
  }
}

function fill(summary: SeedSummary, result: Awaited<ReturnType<typeof writeWithCopy>>) {
  summary.tables = Object.entries(result.inserted).map(([table, v]) => ({ table, rows: v.rows, removed: result.removed[table] ?? 0, ms: v.ms }));
  summary.integrity = result.integrity;
  summary.phases.cleanup = result.phases.cleanup;
  summary.phases.write = result.phases.write;
  summary.phases.verify = result.phases.verify;
}

async function* followedBy(chunks: AsyncIterable<EncodedChunk>, last: Rows, format: BulkFormat): AsyncGenerator<EncodedChunk> {
  yield* chunks;
  yield encodeChunk(last, format);
}


function countRows(rows: Rows): number {
  return Object.values(rows).reduce((sum, list) => sum + list.length, 0);
}

function countInto(rows: Rows, chunk: Rows) {
  for (const model of Object.keys(rows) as (keyof Rows)[]) (rows[model] as unknown[]).length += chunk[model].length;
}

/** Validated chunks of the plan; small plans are kept for the next call with the same options. */
let cached: { key: string; chunks: Rows[] } | undefined;
function planSource(options: Required<PlanOptions>, timing: ChunkTiming): Iterable<Rows> {
  const key = JSON.stringify(options);
  if (cached?.key === key) return cached.chunks;
  const stream = validatedChunks(planChunks(options), timing);
  if (estimateRows(options) > CACHE_LIMIT) return stream;
  const chunks = [...stream];
  cached = { key, chunks };
  return chunks;
}

/** A connection from the caller's pool, or a new one. */
async function acquire(config: DatabaseConfig, pool?: pg.Pool): Promise<{ client: pg.ClientBase; release: () => void }> {
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


function definedOnly<T extends Record<string, number | undefined>>(values: T): Partial<Record<keyof T, number>> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<Record<keyof T, number>>;
}
