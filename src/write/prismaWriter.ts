import { insertOrder, waves, type ModelName, type Rows, type Table } from "../core/datamodel.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";
import type { EventLog } from "../core/log.ts";
import { Tally, type WriteResult } from "./tally.ts";
import { cancelOnAbort, checkAborted, lockTables, rolledBack, type WriteOptions } from "./transaction.ts";

type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

interface Delegate {
  deleteMany(): Promise<{ count: number }>;
  createMany(args: { data: unknown[] }): Promise<{ count: number }>;
}

/** PostgreSQL binds at most 65,535 parameters in one statement. */
const MAX_PARAMS = 65_535;

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
