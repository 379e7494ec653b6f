// The one transaction both write paths run: its timeouts and table locks taken up front, an
// abort that cancels the running statement, and the report of a rollback.
import type { Table } from "../core/datamodel.ts";
import { ident } from "../db/connection.ts";
import { interrupted, SeedError } from "../core/errors.ts";
import { sqlState } from "../db/asSeedError.ts";
import type { EventLog } from "../core/log.ts";

/** How rows reach the database: Prisma's createMany, or PostgreSQL's COPY for large seeds. */
export const WRITE_METHODS = ["prisma", "copy"] as const;
export type WriteMethod = (typeof WRITE_METHODS)[number];

/** How a write runs: its limits, its cancellation, the COPY path's choices. */
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

/**
 * Sets the transaction's timeouts and takes every seeded table's lock up front, children
 * first, one table at a time: a table another session holds then fails within the lock
 * timeout with an error that names it, instead of hanging somewhere in the cleanup.
 *
 * @example
 * await lockTables((sql) => client.query(sql), insertOrder(), { lockTimeoutMs: 10_000 });
 */
export async function lockTables(
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

/**
 * Stops the run between statements once the signal is aborted.
 *
 * @example
 * for (const chunk of chunks) { checkAborted(options.signal); await write(chunk); }
 */
export function checkAborted(signal: AbortSignal | undefined): void {
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
 *
 * @example
 * const stopCancelling = cancelOnAbort(options, backendPid);
 */
export function cancelOnAbort(options: WriteOptions, backendPid: number): () => void {
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
 *
 * @example
 * catch (error) { throw rolledBack(log, error, options.signal); }
 */
export function rolledBack(log: EventLog, error: unknown, signal?: AbortSignal): unknown {
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
