import { insertOrder, selfReferences, type ModelName, type Table } from "./datamodel.ts";
import { SeedError } from "./errors.ts";
import type { PrismaClient } from "./generated/prisma/client.ts";
import { runIntegrityChecks, type IntegrityResult } from "./integrity.ts";
import type { EventLog } from "./log.ts";
import { rowsOf, type Plan } from "./plan.ts";

type Tx = Parameters<Parameters<PrismaClient["$transaction"]>[0]>[0];

interface Delegate {
  deleteMany(): Promise<{ count: number }>;
  createMany(args: { data: unknown[] }): Promise<{ count: number }>;
}

/** PostgreSQL binds at most 65,535 parameters in one statement. */
const MAX_PARAMS = 65_535;

/** What the writer did, table by table and phase by phase. */
export interface WriteResult {
  readonly removed: Record<string, number>;
  readonly inserted: Record<string, { rows: number; ms: number }>;
  readonly integrity: IntegrityResult[];
  readonly phases: { cleanup: number; write: number; verify: number };
}

export interface WriteOptions {
  /** Longest the interactive transaction may run before Prisma aborts it (ms). */
  transactionTimeoutMs?: number;
}

/**
 * The one piece of code that writes seed data. In one transaction: deletes every seeded
 * table's rows (children first), inserts the plan (parents first; self-referencing rows such
 * as thread replies after the rows they point at), checks every integrity rule in SQL and
 * commits only if all pass. Any failure rolls everything back.
 *
 * @example
 * const result = await writePlan(prisma, buildPlan(), log);
 */
export async function writePlan(prisma: PrismaClient, plan: Plan, log: EventLog, options: WriteOptions = {}): Promise<WriteResult> {
  const order = insertOrder();
  const removed: Record<string, number> = {};
  const inserted: Record<string, { rows: number; ms: number }> = {};
  const phases = { cleanup: 0, write: 0, verify: 0 };
  let integrity: IntegrityResult[] = [];
  log.emit("start", { step: "transaction", action: "begin" });
  try {
    await prisma.$transaction(
      async (tx) => {
        let t = performance.now();
        for (const table of [...order].reverse()) {
          const { count } = await delegate(tx, table.model).deleteMany();
          removed[table.name] = count;
          log.emit("cleanup", { step: "cleanup", table: table.name, rows: count });
        }
        phases.cleanup = Math.round(performance.now() - t);

        t = performance.now();
        for (const table of order) {
          const started = performance.now();
          const rows = rowsOf(plan, table.model);
          for (const wave of waves(table, rows)) {
            for (const chunk of chunks(wave, chunkSize(table))) await delegate(tx, table.model).createMany({ data: chunk });
          }
          const ms = Math.round(performance.now() - started);
          inserted[table.name] = { rows: rows.length, ms };
          log.emit("insert", { step: "insert", table: table.name, rows: rows.length, ms });
        }
        phases.write = Math.round(performance.now() - t);

        t = performance.now();
        integrity = await runIntegrityChecks((sql) => tx.$queryRawUnsafe(sql));
        await assertCounts(tx, plan, order);
        phases.verify = Math.round(performance.now() - t);
        const broken = integrity.filter((r) => r.violations > 0);
        if (broken.length > 0) {
          const list = broken.map((r) => `${r.id} (${r.violations} rows, e.g. ${r.examples.join(", ")})`).join("; ");
          throw new SeedError("INTEGRITY_FAILED", `integrity checks failed after the inserts: ${list}. Nothing was committed; fix the fixtures or the live schema`);
        }
      },
      { timeout: options.transactionTimeoutMs ?? 10 * 60_000, maxWait: 30_000 },
    );
  } catch (error) {
    log.emit("error", { step: "transaction", action: "rollback" }, { code: error instanceof SeedError ? error.code : "SEED_FAILED", message: "transaction rolled back" });
    throw error;
  }
  log.emit("complete", { step: "transaction", action: "commit" });
  return { removed, inserted, integrity, phases };
}

/** Counts every table inside the transaction: what was written is what was planned. */
async function assertCounts(tx: Tx, plan: Plan, order: readonly Table[]): Promise<void> {
  for (const table of order) {
    const expected = rowsOf(plan, table.model).length;
    const [row] = await tx.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM "${table.name}"`);
    if (row?.n !== expected) {
      throw new SeedError("INTEGRITY_FAILED", `table ${table.name} holds ${row?.n} rows after the inserts but ${expected} were planned: something else writes to it (a trigger?); nothing was committed`);
    }
  }
}

function delegate(tx: Tx, model: ModelName): Delegate {
  const key = model.charAt(0).toLowerCase() + model.slice(1);
  return (tx as unknown as Record<string, Delegate>)[key]!;
}

/**
 * Splits rows so that a row comes after the rows it references in its own table: first the
 * rows whose self-references are empty, then those pointing only at earlier waves.
 */
export function waves(table: Table, rows: Record<string, unknown>[]): Record<string, unknown>[][] {
  const refs = selfReferences(table).map((fk) => fk.fields[0]!);
  if (refs.length === 0) return [rows];
  const done = new Set<unknown>();
  let rest = rows;
  const out: Record<string, unknown>[][] = [];
  while (rest.length > 0) {
    const ready = rest.filter((r) => refs.every((f) => r[f] === null || r[f] === undefined || done.has(r[f])));
    if (ready.length === 0) throw new SeedError("INVALID_FIXTURES", `rows of ${table.name} reference each other in a cycle: fix the fixture builder`);
    for (const r of ready) done.add(r.id);
    const readySet = new Set(ready);
    rest = rest.filter((r) => !readySet.has(r));
    out.push(ready);
  }
  return out;
}

function chunkSize(table: Table): number {
  return Math.max(1, Math.floor(MAX_PARAMS / table.columns.length / 2));
}

function* chunks<T>(rows: T[], size: number): Generator<T[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}
