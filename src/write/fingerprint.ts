import { hash } from "node:crypto";
import { TABLES, type Table } from "../core/datamodel.ts";
import { ident } from "../db/connection.ts";
import type { QueryRunner } from "./integrity.ts";
import { forEachCopyLineRecord, quoteRecordField, renderersOf, unsupportedRenderer } from "./pgText.ts";

/**
 * Session settings that make a row's text form (what a fingerprint hashes) the same in every
 * session: timestamps in UTC, ISO dates, exact floats.
 */
export const STABLE_TEXT_SETTINGS = [
  `SET LOCAL timezone = 'UTC'`,
  `SET LOCAL datestyle = 'ISO, YMD'`,
  `SET LOCAL extra_float_digits = 3`,
  `SET LOCAL intervalstyle = 'postgres'`,
];

/**
 * Per table: row count and an order-independent hash of the rows' text (sum of 60-bit slices
 * of md5), computed in SQL. Run inside a transaction (it sets its own LOCAL settings).
 *
 * @example
 * const prints = await tableFingerprints((sql) => client.query(sql).then((r) => r.rows));
 */
export async function tableFingerprints(
  query: QueryRunner,
  tables: readonly Table[] = TABLES,
  names?: (t: Table) => string,
): Promise<Record<string, string>> {
  for (const sql of STABLE_TEXT_SETTINGS) await query(sql);
  const out: Record<string, string> = {};
  for (const table of tables) {
    const [row] = await query<{ n: string; h: string }>(
      `SELECT count(*)::text AS n, coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text AS h FROM ${ident(names ? names(table) : table.name)} t`,
    );
    out[table.name] = `${row!.n}:${row!.h}`;
  }
  return out;
}

/** A TableFingerprint's partial sums as plain data (crosses worker threads). */
export interface TableFingerprintPart {
  rows: number;
  sum: string;
  unsupported: boolean;
}

/**
 * A table's fingerprint as db:verify computes it in SQL (tableFingerprints above: row count and the sum of
 * the first 60 bits of md5 of each row's text `t::text`), computed in JS from the rows while
 * they stream to the database, so the seed does not read 2M rows back to fingerprint them.
 * It renders each row exactly as PostgreSQL's record output does under STABLE_TEXT_SETTINGS
 * (UTC, ISO dates): `(id,"a b",,t,"2025-01-06 09:00:00.123+00")`.
 *
 * A table whose columns this cannot render exactly (a type it does not know, a number it
 * cannot print as PostgreSQL does) gets `unsupported`, and the writer falls back to SQL for it.
 *
 * @example
 * const print = new TableFingerprint(tableOf("User"));
 * for (const row of rows) print.add(row);
 * print.value(); // "30:1234567890123456789" (as tableFingerprints gives for the table)
 */
export class TableFingerprint {
  rows = 0;
  /** Sums of the high and low 30 bits of each row's 60-bit slice: exact as doubles up to 2^23 rows a chunk. */
  private hi = 0;
  private lo = 0;
  private carried = 0n;
  unsupported: boolean;
  private readonly render: ((value: unknown) => string | null)[];

  constructor(private readonly table: Table) {
    this.render = renderersOf(table);
    this.unsupported = this.render.some((r) => r === unsupportedRenderer);
  }

  /** Adds one row (the builder's object, keyed by field). */
  add(row: Record<string, unknown>): void {
    if (this.unsupported) return;
    const columns = this.table.columns;
    let text = "(";
    for (let i = 0; i < columns.length; i++) {
      if (i > 0) text += ",";
      const value = row[columns[i]!.field];
      if (value === null || value === undefined) continue;
      const out = this.render[i]!(value);
      if (out === null) {
        this.unsupported = true;
        return;
      }
      text += quoteRecordField(out);
    }
    this.addText(text + ")");
  }

  /**
   * Adds rows given as COPY text lines (as encodeChunk writes them, every value printed as
   * PostgreSQL prints it): each line becomes the row's record text, `\N` an empty field,
   * COPY's escapes undone and record_out's quoting applied. Byte by byte into one reused
   * buffer: every character that matters is ASCII, so UTF-8 passes through untouched, and no
   * string is made per row (the writer's thread does this for two million rows).
   */
  addCopyLines(data: Uint8Array): void {
    if (this.unsupported) return;
    forEachCopyLineRecord(data, this.table.columns.length, (record) => this.addText(record));
  }

  /** Adds one row given as its record text (what `t::text` prints), built by the caller. */
  addText(text: string | Uint8Array): void {
    if (this.unsupported) return;
    const digest = hash("md5", text, "buffer") as unknown as Buffer;
    // The first 15 hex digits (60 bits): bytes 0..6 and the high nibble of byte 7.
    const hi = (digest[0]! << 22) | (digest[1]! << 14) | (digest[2]! << 6) | (digest[3]! >>> 2);
    const lo =
      ((digest[3]! & 3) << 28) | (digest[4]! << 20) | (digest[5]! << 12) | (digest[6]! << 4) | (digest[7]! >>> 4);
    this.hi += hi;
    this.lo += lo;
    this.rows++;
    if ((this.rows & 0x3fffff) === 0) this.carry();
  }

  /** Merges the partial sums of another TableFingerprint of the same table (e.g. from a worker). */
  merge(part: TableFingerprintPart): void {
    this.carry();
    this.rows += part.rows;
    this.carried += BigInt(part.sum);
    this.unsupported ||= part.unsupported;
  }

  /** What merge() takes: plain data that crosses threads. */
  part(): TableFingerprintPart {
    this.carry();
    return { rows: this.rows, sum: this.carried.toString(), unsupported: this.unsupported };
  }

  /** `count:sum`, as tableFingerprints writes it; null when the table cannot be printed here. */
  value(): string | null {
    if (this.unsupported) return null;
    this.carry();
    return `${this.rows}:${this.carried}`;
  }

  private carry() {
    this.carried += (BigInt(this.hi) << 30n) + BigInt(this.lo);
    this.hi = 0;
    this.lo = 0;
  }
}

/**
 * The tables whose live columns are exactly the model's, in the same order and of the same
 * types: only for them is a streamed TableFingerprint what `t::text` hashes in the database.
 *
 * @example
 * const ok = await tablesWithModelColumns(query, TABLES); // Set { "users", … }
 */
export async function tablesWithModelColumns(query: QueryRunner, tables: readonly Table[]): Promise<Set<string>> {
  if (tables.length === 0) return new Set();
  const list = tables.map((t) => `to_regclass('${`"${t.name.replace(/"/g, '""')}"`.replace(/'/g, "''")}')`).join(", ");
  const rows = await query<{ name: string; columns: string[] }>(
    `SELECT c.relname AS name, array_agg(a.attname || ':' || ty.typname ORDER BY a.attnum) AS columns
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_type ty ON ty.oid = a.atttypid
      WHERE a.attrelid = ANY(ARRAY[${list}]::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped
      GROUP BY c.relname`,
  );
  const live = new Map(rows.map((r) => [r.name, r.columns.join(",")]));
  return new Set(
    tables
      .filter((t) => live.get(t.name) === t.columns.map((c) => `${c.name}:${c.udtName}`).join(","))
      .map((t) => t.name),
  );
}
