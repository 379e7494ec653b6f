import type pg from "pg";
import { insertOrder } from "../core/datamodel.ts";
import { ident } from "../db/connection.ts";
import type { EventLog } from "../core/log.ts";
import { copyInto, type EncodedChunk } from "./copy.ts";
import type { QueryRunner } from "./integrity.ts";
import { TableFingerprint } from "./fingerprint.ts";
import { dropConstraints, restoreConstraints } from "./constraints.ts";
import { Tally, type WriteResult } from "./tally.ts";
import { cancelOnAbort, checkAborted, lockTables, rolledBack, type WriteOptions } from "./transaction.ts";

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
        // Truncated above in this transaction: the rows can go in frozen.
        const copying = copyInto(client, table, part.data, undefined, true);
        // Hashed while the server loads the rows (this thread would only wait).
        if (part.fingerprintFromCopy) fingerprint.addCopyLines(part.data);
        await copying;
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
