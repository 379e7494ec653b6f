import { TABLES, type Table } from "../core/datamodel.ts";
import { ident } from "../db/connection.ts";
import { SeedError } from "../core/errors.ts";
import type { EventLog } from "../core/log.ts";
import {
  INTEGRITY_CHECKS,
  provenOrphanChecks,
  runIntegrityChecks,
  type IntegrityResult,
  type QueryRunner,
} from "./integrity.ts";
import {
  type TableFingerprint,
  type TableFingerprintPart,
  tableFingerprints,
  tablesWithModelColumns,
} from "./fingerprint.ts";
import type { WriteMethod } from "./transaction.ts";

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

/**
 * Accumulates per-table figures and emits the events both write paths share; verify() checks
 * the written tables before commit.
 *
 * @example
 * const tally = new Tally(log, insertOrder());
 * tally.wrote(table, rows.length, ms);
 * await tally.verify(query);
 * return tally.result("copy");
 */
export class Tally {
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
