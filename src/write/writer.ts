import type pg from "pg";
import { copyInto, insertJson, type EncodedChunk } from "./copy.ts";
import { TABLES, insertOrder, waves, type ModelName, type Rows, type Table } from "../core/datamodel.ts";
import { ident } from "../db/connection.ts";
import { interrupted, SeedError } from "../core/errors.ts";
import { sqlState } from "../db/asSeedError.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import {
  INTEGRITY_CHECKS,
  provenOrphanChecks,
  runIntegrityChecks,
  type IntegrityResult,
  type QueryRunner,
} from "./integrity.ts";
import {
  TableFingerprint,
  type TableFingerprintPart,
  tableFingerprints,
  tablesWithModelColumns,
} from "./fingerprint.ts";
import type { EventLog } from "../core/log.ts";

/** How rows reach the database: Prisma's createMany, or PostgreSQL's COPY for large seeds. */
export const WRITE_METHODS = ["prisma", "copy"] as const;
export type WriteMethod = (typeof WRITE_METHODS)[number];

type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

interface Delegate {
  deleteMany(): Promise<{ count: number }>;
  createMany(args: { data: unknown[] }): Promise<{ count: number }>;
}

/** PostgreSQL binds at most 65,535 parameters in one statement. */
const MAX_PARAMS = 65_535;
/** Progress events at most this often. */
const PROGRESS_EVERY_MS = 1_000;

/** What the writer did, table by table and phase by phase. */
export interface WriteResult {
  readonly method: WriteMethod;
  readonly removed: Record<string, number>;
  readonly inserted: Record<string, { rows: number; ms: number }>;
  readonly integrity: IntegrityResult[];
  /** Per table fingerprint of what was committed (see tableFingerprints). */
  readonly fingerprints: Record<string, string>;
  /** COPY path: each table's fingerprint sums as computed from the stream (what the plan cache keeps). */
  readonly streamedFingerprints: Record<string, TableFingerprintPart>;
  /** ms; `generate` is time spent building rows while writing (streamed plans only). */
  readonly phases: { cleanup: number; generate: number; write: number; verify: number };
}

export interface WriteOptions {
  /** Longest the Prisma interactive transaction may run before Prisma aborts it (ms). */
  transactionTimeoutMs?: number;
  /**
   * COPY path: drop the seeded tables' foreign keys and secondary indexes after the cleanup and
   * recreate them from their own definitions after the load, inside the same transaction, as
   * pg_restore does. Recreating validates every row (FKs, unique indexes) before commit.
   */
  deferConstraints?: boolean;
  /** Longest the transaction waits for a table another session holds (ms); 0 waits forever. */
  lockTimeoutMs?: number;
  /** Longest one statement may run (ms); 0 for no limit. */
  statementTimeoutMs?: number;
  /** Aborting it cancels the running statement (with `cancel`), or stops at the next one, and rolls back. */
  signal?: AbortSignal;
  /** Cancels the statement a backend is running (pg_cancel_backend from another connection). */
  cancel?: (backendPid: number) => Promise<void>;
  /** Rows the plan is expected to hold, for progress estimates of streamed plans. */
  expectedRows?: number;
}

/** Accumulates per-table figures and emits the events both write paths share. */
class Tally {
  readonly removed: Record<string, number> = {};
  readonly inserted: Record<string, { rows: number; ms: number }> = {};
  readonly phases = { cleanup: 0, generate: 0, write: 0, verify: 0 };
  integrity: IntegrityResult[] = [];
  fingerprints: Record<string, string> = {};
  private lastProgress = performance.now();
  private readonly started = performance.now();
  private done = 0;

  constructor(
    private readonly log: EventLog,
    private readonly order: readonly Table[],
    private readonly expectedRows?: number,
  ) {
    for (const t of order) this.inserted[t.name] = { rows: 0, ms: 0 };
  }

  cleaned(table: Table, rows: number) {
    this.removed[table.name] = rows;
    this.log.emit("cleanup", { step: "cleanup", table: table.name, rows });
  }

  wrote(table: Table, rows: number, ms: number) {
    const entry = this.inserted[table.name]!;
    entry.rows += rows;
    entry.ms += ms;
    this.done += rows;
  }

  /** A progress event per second at most, with rows/s and an estimate of the time left. */
  progress() {
    const now = performance.now();
    // Below a few thousand rows a rate says nothing yet (the generator is still warming up).
    if (now - this.lastProgress < PROGRESS_EVERY_MS || this.done < 5_000) return;
    this.lastProgress = now;
    const seconds = (now - this.started) / 1000;
    const rate = Math.round(this.done / seconds);
    const left =
      this.expectedRows && rate > 0 ? Math.max(0, Math.round(((this.expectedRows - this.done) / rate) * 1000)) : null;
    const tables = Object.fromEntries(Object.entries(this.inserted).map(([name, v]) => [name, v.rows]));
    this.log.emit("insert", {
      step: "progress",
      rows: this.done,
      expectedRows: this.expectedRows ?? null,
      rowsPerSecond: rate,
      etaMs: left,
      tables,
    });
  }

  /** The per-table insert event, once a table is complete. */
  finished(table: Table) {
    const { rows, ms } = this.inserted[table.name]!;
    this.inserted[table.name] = { rows, ms: Math.round(ms) };
    this.log.emit("insert", { step: "insert", table: table.name, rows, ms: Math.round(ms) });
  }

  result(method: WriteMethod, streamed: ReadonlyMap<string, TableFingerprint> = new Map()): WriteResult {
    const parts = Object.fromEntries([...streamed].map(([name, fingerprint]) => [name, fingerprint.part()]));
    return {
      method,
      removed: this.removed,
      inserted: this.inserted,
      integrity: this.integrity,
      fingerprints: this.fingerprints,
      streamedFingerprints: parts,
      phases: this.phases,
    };
  }

  /**
   * Integrity checks in SQL (the application rules; an orphan check only where no validated
   * foreign key already proves it), and every table holds exactly what was written. With
   * `streamed` (fingerprints computed while the rows were encoded), only the tables they
   * cannot stand for are fingerprinted in SQL.
   */
  async verify(query: QueryRunner, streamed?: ReadonlyMap<string, TableFingerprint>) {
    const t = performance.now();
    // The checks' plans look expensive to the planner on millions of rows, and compiling them
    // with JIT costs more than it saves: each runs once.
    await query(`SET LOCAL jit = off`);
    // The checks hash-join messages against their channels and members: with the default 4 MB
    // those joins spill to disk in batches (all checks at scale 1000: 3.1–3.5 s; with 64 MB,
    // 2.3–2.7 s). Only this transaction's statements get it, and only until it ends.
    await query(`SET LOCAL work_mem = '64MB'`);
    this.integrity = await runIntegrityChecks(query, INTEGRITY_CHECKS, await provenOrphanChecks(query));
    const [counts] = await query<Record<string, number>>(
      `SELECT ${this.order.map((tb) => `(SELECT count(*)::int FROM ${ident(tb.name)}) AS ${ident(tb.name)}`).join(", ")}`,
    );
    for (const table of this.order) {
      const expected = this.inserted[table.name]!.rows;
      const n = counts?.[table.name];
      if (n !== expected) {
        throw new SeedError(
          "INTEGRITY_FAILED",
          `table ${table.name} holds ${n} rows after the inserts but ${expected} were written: something else writes to it (a trigger?); nothing was committed`,
        );
      }
    }
    const broken = this.integrity.filter((r) => r.violations > 0);
    if (broken.length > 0) {
      const list = broken.map((r) => `${r.id} (${r.violations} rows, e.g. ${r.examples.join(", ")})`).join("; ");
      throw new SeedError(
        "INTEGRITY_FAILED",
        `integrity checks failed after the inserts: ${list}. Nothing was committed; fix the fixtures or the live schema`,
      );
    }
    // What db:verify compares with later, without regenerating the rows.
    const fingerprintFromCopy = streamed ? await tablesWithModelColumns(query, TABLES) : new Set<string>();
    const fromStream = new Map<string, string>();
    for (const table of TABLES) {
      const value = fingerprintFromCopy.has(table.name) ? streamed?.get(table.name)?.value() : null;
      if (value) fromStream.set(table.name, value);
    }
    const rest = TABLES.filter((table) => !fromStream.has(table.name));
    const computed = rest.length > 0 ? await tableFingerprints(query, rest) : {};
    this.fingerprints = Object.fromEntries(
      TABLES.map((table) => [table.name, fromStream.get(table.name) ?? computed[table.name]!]),
    );
    this.phases.verify = Math.round(performance.now() - t);
  }
}

/**
 * Sets the transaction's timeouts and takes every seeded table's lock up front, children
 * first, one table at a time: a table another session holds then fails within the lock
 * timeout with an error that names it, instead of hanging somewhere in the cleanup.
 */
async function lockTables(
  run: (sql: string) => Promise<unknown>,
  order: readonly Table[],
  options: WriteOptions,
): Promise<void> {
  await run(`SET LOCAL lock_timeout = ${Math.max(0, Math.round(options.lockTimeoutMs ?? 10_000))}`);
  await run(`SET LOCAL statement_timeout = ${Math.max(0, Math.round(options.statementTimeoutMs ?? 600_000))}`);
  for (const table of [...order].reverse()) {
    try {
      await run(`LOCK TABLE ${ident(table.name)} IN ACCESS EXCLUSIVE MODE`);
    } catch (error) {
      if (sqlState(error) === "55P03") {
        throw new SeedError(
          "TABLE_LOCKED",
          `table ${table.name} is locked by another session and was not released within ${Math.round((options.lockTimeoutMs ?? 10_000) / 1000)} s: finish or close that session (see pg_locks), or raise SEED_LOCK_TIMEOUT (seconds). Nothing was changed`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}

/** Stops the run between statements once the signal is aborted. */
function checkAborted(signal: AbortSignal | undefined): void {
  if (!signal?.aborted) return;
  throw interrupted(signal);
}

/** How often an abort's cancel is sent again while the transaction is still running. */
const CANCEL_RETRY_MS = 250;

/**
 * While the transaction runs, an abort cancels the backend's running statement, so Ctrl-C
 * does not wait for a long one (an index build, a large COPY) to finish. The cancel is sent
 * again every CANCEL_RETRY_MS until the writer stops it: one cancel can be lost (its
 * connection refused on a busy server, or landing between two statements just before the
 * next one starts), and a lost cancel meant waiting for the whole statement. Returns the stop,
 * which the writer calls before it rolls back, so no cancel lands on the ROLLBACK.
 */
function cancelOnAbort(options: WriteOptions, backendPid: number): () => void {
  const { signal, cancel } = options;
  if (!signal || !cancel) return () => {};
  let stopped = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const send = () => {
    if (stopped) return;
    void cancel(backendPid)
      .catch(() => {})
      .finally(() => {
        if (!stopped) retry = setTimeout(send, CANCEL_RETRY_MS);
      });
  };
  signal.addEventListener("abort", send, { once: true });
  return () => {
    stopped = true;
    clearTimeout(retry);
    signal.removeEventListener("abort", send);
  };
}

/**
 * Reports a rolled-back transaction and returns the error to throw: an interruption wins over
 * the statement error it caused.
 */
function rolledBack(log: EventLog, error: unknown, signal?: AbortSignal): unknown {
  let reported = error;
  try {
    checkAborted(signal);
  } catch (interrupted) {
    reported = interrupted;
  }
  log.emit(
    "error",
    { step: "transaction", action: "rollback" },
    { code: reported instanceof SeedError ? reported.code : "SEED_FAILED", message: "transaction rolled back" },
  );
  return reported;
}

/**
 * The small-seed write path. In one Prisma interactive transaction: deletes every seeded
 * table's rows (children first), inserts the rows with createMany (parents first;
 * self-referencing rows such as thread replies after the rows they point at), checks every
 * integrity rule in SQL, and commits only if all pass. Any failure rolls everything back.
 *
 * @example
 * const result = await writeWithPrisma(prisma, buildPlan().rows, log);
 */
export async function writeWithPrisma(
  prisma: PrismaClient,
  rows: Rows,
  log: EventLog,
  options: WriteOptions = {},
): Promise<WriteResult> {
  const order = insertOrder();
  const tally = new Tally(log, order);
  log.emit("start", { step: "transaction", action: "begin", method: "prisma" });
  let stopCancelling = () => {};
  try {
    await prisma.$transaction(
      async (tx) => {
        const [backend] = await tx.$queryRawUnsafe<{ pid: number }[]>(`SELECT pg_backend_pid() AS pid`);
        stopCancelling = cancelOnAbort(options, backend!.pid);
        try {
          let t = performance.now();
          await lockTables((sql) => tx.$executeRawUnsafe(sql), order, options);
          for (const table of [...order].reverse())
            tally.cleaned(table, (await delegate(tx, table.model).deleteMany()).count);
          tally.phases.cleanup = Math.round(performance.now() - t);
          t = performance.now();
          for (const table of order) {
            checkAborted(options.signal);
            const started = performance.now();
            const list = rows[table.model] as unknown as Record<string, unknown>[];
            for (const wave of waves(table, list)) {
              for (const chunk of chunks(wave, chunkSize(table))) {
                checkAborted(options.signal);
                await delegate(tx, table.model).createMany({ data: chunk });
              }
            }
            tally.wrote(table, list.length, performance.now() - started);
            tally.finished(table);
          }
          tally.phases.write = Math.round(performance.now() - t);
          checkAborted(options.signal);
          await tally.verify(async <T>(sql: string) =>
            sql.startsWith("SET ") ? (await tx.$executeRawUnsafe(sql), []) : tx.$queryRawUnsafe<T[]>(sql),
          );
          checkAborted(options.signal);
        } catch (error) {
          stopCancelling();
          throw error;
        }
      },
      { timeout: options.transactionTimeoutMs ?? 10 * 60_000, maxWait: 30_000 },
    );
  } catch (error) {
    throw rolledBack(log, error, options.signal);
  } finally {
    stopCancelling();
  }
  log.emit("complete", { step: "transaction", action: "commit" });
  return tally.result("prisma");
}

/**
 * The bulk write path, for large seeds: the same rows, the same single transaction and the
 * same checks as writeWithPrisma, written with COPY FROM STDIN chunk by chunk so that memory
 * does not grow with the seed. Cleanup is one TRUNCATE of every seeded table (transactional in
 * PostgreSQL; it fails rather than cascade if another table references them). `source`
 * produces the chunks' COPY data (encodedChunks, or workerChunks which builds the next chunk
 * while the server loads this one).
 *
 * @example
 * const result = await writeWithCopy(client, workerChunks({ scale: 100 }), log);
 */
export async function writeWithCopy(
  client: pg.ClientBase,
  source: AsyncIterable<EncodedChunk>,
  log: EventLog,
  options: WriteOptions = {},
): Promise<WriteResult> {
  const order = insertOrder();
  const byName = new Map(order.map((t) => [t.name, t]));
  const tally = new Tally(log, order, options.expectedRows);
  const fingerprints = new Map(order.map((t) => [t.name, new TableFingerprint(t)]));
  const query: QueryRunner = async <T>(sql: string) => (await client.query(sql)).rows as T[];
  log.emit("start", { step: "transaction", action: "begin", method: "copy" });
  const [backend] = await query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
  const stopCancelling = cancelOnAbort(options, backend!.pid);
  // The source may hold a worker thread: whatever happens, it is closed before this returns.
  const iterator = source[Symbol.asyncIterator]();
  await client.query("BEGIN");
  try {
    let t = performance.now();
    await lockTables((sql) => client.query(sql), order, options);
    // Every statement of this transaction runs once on many rows (constraint validation, the
    // checks): compiling their plans with JIT costs more than it saves.
    await client.query(`SET LOCAL jit = off`);
    const counts = await query<Record<string, number>>(
      `SELECT ${order.map((tb) => `(SELECT count(*)::int FROM ${ident(tb.name)}) AS ${ident(tb.name)}`).join(", ")}`,
    );
    await client.query(
      `TRUNCATE TABLE ${[...order]
        .reverse()
        .map((tb) => ident(tb.name))
        .join(", ")}`,
    );
    for (const table of [...order].reverse()) tally.cleaned(table, counts[0]?.[table.name] ?? 0);
    tally.phases.cleanup = Math.round(performance.now() - t);
    const deferred = options.deferConstraints ? await dropConstraints(client, order, log) : null;

    t = performance.now();
    let waited = 0;
    for (;;) {
      const w = performance.now();
      const next = await iterator.next();
      waited += performance.now() - w;
      if (next.done) break;
      for (const part of next.value.tables) {
        checkAborted(options.signal);
        const table = byName.get(part.name)!;
        const fingerprint = fingerprints.get(part.name)!;
        if (part.fingerprint) fingerprint.merge(part.fingerprint);
        const started = performance.now();
        if (next.value.format === "json") await insertJson(client, table, part.data);
        else {
          // Truncated above in this transaction: the rows can go in frozen.
          const copying = copyInto(client, table, part.data, undefined, true);
          // Hashed while the server loads the rows (this thread would only wait).
          if (part.fingerprintFromCopy) fingerprint.addCopyLines(part.data);
          await copying;
        }
        tally.wrote(table, part.rows, performance.now() - started);
      }
      tally.progress();
    }
    // Time spent waiting for rows that were not ready yet: generation the writer could not hide.
    tally.phases.generate = Math.round(waited);
    tally.phases.write = Math.round(performance.now() - t - waited);
    // Chunks interleave the tables: each table is complete only when the last chunk is written.
    for (const table of order) tally.finished(table);
    checkAborted(options.signal);
    if (deferred) {
      const r = performance.now();
      await restoreConstraints(client, deferred, log);
      tally.phases.write += Math.round(performance.now() - r);
    }
    await tally.verify(query, fingerprints);
    checkAborted(options.signal);
    await client.query("COMMIT");
  } catch (error) {
    stopCancelling();
    await client.query("ROLLBACK").catch(() => {});
    throw rolledBack(log, error, options.signal);
  } finally {
    stopCancelling();
    await iterator.return?.().catch(() => {});
  }
  log.emit("complete", { step: "transaction", action: "commit" });
  return tally.result("copy", fingerprints);
}

/** Definitions of what dropConstraints dropped, to recreate exactly. */
export interface Deferred {
  keys: { table: string; name: string; def: string }[];
  indexes: { name: string; def: string }[];
  foreignKeys: { table: string; name: string; def: string }[];
}

/**
 * Drops the seeded tables' foreign keys, their primary and unique keys and their other
 * indexes, as pg_restore loads: building an index once from the loaded rows costs a fraction
 * of maintaining it row by row (measured at scale 1000 on this machine: the load took 22 s
 * with the primary keys kept, 11 s without, and building them afterwards 7 s). A key another
 * table's foreign key depends on stays. Exported for the bench, whose server-alone limit loads
 * the same way.
 *
 * @example
 * await client.query("BEGIN");
 * const deferred = await dropConstraints(client, insertOrder(), createEventLog(silentSink));
 * // … COPY the rows …
 * await restoreConstraints(client, deferred, createEventLog(silentSink));
 * await client.query("COMMIT");
 */
export async function dropConstraints(
  client: pg.ClientBase,
  order: readonly Table[],
  log: EventLog,
): Promise<Deferred> {
  const tables = order.map((t) => t.name);
  const seeded = `ANY(SELECT to_regclass(quote_ident(t)) FROM unnest($1::text[]) t)`;
  const foreignKeys = (
    await client.query<{ table: string; name: string; def: string }>(
      `SELECT c.conrelid::regclass::text AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS def
         FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = ${seeded}
        ORDER BY c.conname`,
      [tables],
    )
  ).rows;
  const keys = (
    await client.query<{ table: string; name: string; def: string }>(
      `SELECT c.conrelid::regclass::text AS table, c.conname AS name, pg_get_constraintdef(c.oid) AS def
         FROM pg_constraint c WHERE c.contype IN ('p', 'u') AND c.conrelid = ${seeded}
          AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = c.conindid AND f.conrelid <> ALL(SELECT to_regclass(quote_ident(t)) FROM unnest($1::text[]) t))
        ORDER BY c.contype, c.conname`,
      [tables],
    )
  ).rows;
  const indexes = (
    await client.query<{ name: string; def: string }>(
      `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
         FROM pg_index i WHERE i.indrelid = ${seeded}
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1`,
      [tables],
    )
  ).rows;
  for (const fk of foreignKeys) await client.query(`ALTER TABLE ${fk.table} DROP CONSTRAINT ${ident(fk.name)}`);
  for (const key of keys) await client.query(`ALTER TABLE ${key.table} DROP CONSTRAINT ${ident(key.name)}`);
  for (const index of indexes) await client.query(`DROP INDEX ${index.name}`);
  log.emit("start", {
    step: "constraints",
    action: "deferred",
    foreignKeys: foreignKeys.length,
    keys: keys.length,
    indexes: indexes.length,
  });
  return { keys, indexes, foreignKeys };
}

/**
 * Recreates what dropConstraints dropped: keys, then indexes, then foreign keys (validated
 * against the loaded rows), in the caller's transaction.
 *
 * @example
 * await restoreConstraints(client, deferred, createEventLog(silentSink));
 */
export async function restoreConstraints(client: pg.ClientBase, deferred: Deferred, log: EventLog): Promise<void> {
  const t = performance.now();
  // Index builds sort in memory: give this transaction room for it.
  await client.query(`SET LOCAL maintenance_work_mem = '256MB'`);
  // Keys first: the foreign keys need the keys they reference.
  for (const key of deferred.keys)
    await client.query(`ALTER TABLE ${key.table} ADD CONSTRAINT ${ident(key.name)} ${key.def}`);
  for (const index of deferred.indexes) await client.query(index.def);
  for (const fk of deferred.foreignKeys)
    await client.query(`ALTER TABLE ${fk.table} ADD CONSTRAINT ${ident(fk.name)} ${fk.def}`);
  log.emit("complete", {
    step: "constraints",
    action: "restored",
    foreignKeys: deferred.foreignKeys.length,
    keys: deferred.keys.length,
    indexes: deferred.indexes.length,
    ms: Math.round(performance.now() - t),
  });
}

function delegate(tx: Tx, model: ModelName): Delegate {
  const key = model.charAt(0).toLowerCase() + model.slice(1);
  return (tx as unknown as Record<string, Delegate>)[key]!;
}

function chunkSize(table: Table): number {
  return Math.max(1, Math.floor(MAX_PARAMS / table.columns.length / 2));
}

function* chunks<T>(rows: T[], size: number): Generator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}
