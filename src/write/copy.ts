import { SeedError } from "../core/errors.ts";
import { once } from "node:events";
import { finished } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { insertOrder, selfReferences, waves, type Rows, type Table } from "../core/datamodel.ts";
import { TableFingerprint, type TableFingerprintPart } from "./fingerprint.ts";
import { quoteRecordField, renderersOf } from "./pgText.ts";
import { ident } from "../db/connection.ts";

/**
 * Encodes rows as PostgreSQL COPY text format (tab-separated, `\N` for NULL) in the table's
 * column order, with the same values Prisma's createMany would write: Dates as UTC ISO
 * timestamps, JSON as JSON, lists as array literals, BigInts as digits.
 *
 * @example
 * encodeCopy(tableOf("User"), plan.rows.User); // "01JG…\tauth0|…\n…"
 */
export function encodeCopy(
  table: Table,
  rows: readonly Record<string, unknown>[],
  fingerprint?: TableFingerprint,
): string {
  const out = new ByteSink();
  encodeCopyInto(table, rows, out, fingerprint);
  return out.bytes().toString("utf8");
}

/**
 * Appends text to a growing buffer row by row. Appending to one JavaScript string builds a
 * rope of every row that must be flattened and copied again to become bytes: for a chunk of
 * 10,000 rows that cost more than encoding them (measured: half of the generator's time).
 */
class ByteSink {
  private buffer: Buffer;
  private length = 0;

  constructor(expectedBytes = 1 << 16) {
    this.buffer = Buffer.allocUnsafeSlow(Math.max(1024, expectedBytes));
  }

  write(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const room = this.length + text.length * 3;
    if (room > this.buffer.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(room, this.buffer.length * 2));
      this.buffer.copy(bigger, 0, 0, this.length);
      this.buffer = bigger;
    }
    this.length += this.buffer.write(text, this.length, "utf8");
  }

  /** The bytes written: a view of a buffer of their own (transferable to another thread, not pooled). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/**
 * encodeCopy into `out`. With `print`, each row's fingerprint is added too; with `exactOnly`,
 * returns whether every value was printed exactly as PostgreSQL prints it, so that the row's
 * fingerprint can later be computed from its COPY line (TableFingerprint.addCopyLines).
 */
function encodeCopyInto(
  table: Table,
  rows: readonly Record<string, unknown>[],
  out: ByteSink,
  fingerprint?: TableFingerprint,
  exactOnly = false,
): boolean {
  const encoders = encodersOf(table);
  const render = renderersOf(table);
  const fields = table.columns.map((c) => c.field);
  // Timestamps, booleans, integers and enum labels never print a character COPY reserves.
  const plain = table.columns.map(
    (c) => !c.isList && (c.kind === "enum" || ["timestamptz", "bool", "int4", "int8"].includes(c.udtName)),
  );
  const n = fields.length;
  let fingerprintFromCopy = exactOnly;
  for (const row of rows) {
    // Each value is printed once, as PostgreSQL prints it: valid COPY input, and the text the
    // row's fingerprint hashes (record syntax), so both come from one rendering.
    let line = "";
    let record = "(";
    let exact = fingerprint !== undefined;
    for (let i = 0; i < n; i++) {
      if (i > 0) {
        line += "\t";
        if (exact) record += ",";
      }
      const value = row[fields[i]!];
      if (value === null || value === undefined) {
        line += encoders[i]!(value, row);
        continue;
      }
      const text = render[i]!(value);
      if (text === null) {
        line += encoders[i]!(value, row);
        exact = false;
        fingerprintFromCopy = false;
        continue;
      }
      line += plain[i] ? text : escapeCopy(text);
      if (exact) record += quoteRecordField(text);
    }
    out.write(line + "\n");
    if (fingerprint) {
      if (exact) fingerprint.addText(record + ")");
      else fingerprint.add(row);
    }
  }
  return fingerprintFromCopy;
}

type FieldEncoder = (value: unknown, row: Record<string, unknown>) => string;
const encoderCache = new Map<string, FieldEncoder[]>();

/** One COPY text encoder per column of a table, chosen once from its type. */
function encodersOf(table: Table): FieldEncoder[] {
  let encoders = encoderCache.get(table.name);
  if (!encoders) {
    encoders = table.columns.map((column) => {
      const missing = (row: Record<string, unknown>) => {
        // COPY does not apply column defaults to a listed column: fixtures must set every required value.
        if (column.isRequired && !column.isList)
          throw new SeedError(
            "INVALID_FIXTURES",
            `${table.name}.${column.name} of row ${String(row.id)} has no value: set it in the fixture builder`,
          );
        return "\\N";
      };
      const typed = (value: unknown): string => {
        if (column.isList) return escapeCopy(arrayLiteral(value as unknown[]));
        if (value instanceof Date) return value.toISOString();
        switch (column.type) {
          case "Json":
            return escapeCopy(JSON.stringify(value));
          case "Boolean":
            return value ? "t" : "f";
          case "BigInt":
          case "Int":
          case "Float":
          case "Decimal":
            return String(value);
          default:
            return escapeCopy(String(value));
        }
      };
      return (value: unknown, row: Record<string, unknown>) =>
        value === null || value === undefined ? missing(row) : typed(value);
    });
    encoderCache.set(table.name, encoders);
  }
  return encoders;
}

/**
 * `COPY "table" ("a", "b", …) FROM STDIN` for the table's columns (into another table of the
 * same shape with `into`). With `freeze` the rows are written already frozen, as VACUUM FREEZE
 * would leave them; PostgreSQL allows it only into a table created or truncated in the same
 * transaction, which is what the writer loads.
 */
export function copyStatement(table: Table, into: string = table.name, freeze = false): string {
  return `COPY ${ident(into)} (${table.columns.map((c) => ident(c.name)).join(", ")}) FROM STDIN${freeze ? " WITH (FREEZE)" : ""}`;
}

/** Bytes handed to a COPY stream per write. */
const COPY_WRITE_BYTES = 1 << 20;

/**
 * Streams COPY data (as encodeCopy/encodeChunk make it) into a table, with backpressure.
 *
 * @example
 * await copyInto(client, tableOf("User"), Buffer.from(encodeCopy(tableOf("User"), rows)));
 */
export async function copyInto(
  client: pg.ClientBase,
  table: Table,
  data: Uint8Array,
  into?: string,
  freeze = false,
): Promise<void> {
  const stream = client.query(copyFrom(copyStatement(table, into, freeze)));
  const done = finished(stream);
  // A failing COPY rejects `done`; keep it observed while the data is written.
  done.catch(() => {});
  for (let i = 0; i < data.length; i += COPY_WRITE_BYTES) {
    if (!stream.write(data.subarray(i, i + COPY_WRITE_BYTES))) await Promise.race([once(stream, "drain"), done]);
  }
  stream.end();
  await done;
}

function arrayLiteral(values: unknown[]): string {
  return `{${values.map((v) => (v === null ? "NULL" : `"${String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`)).join(",")}}`;
}

// Backslash, tab, newline and carriage return are the characters COPY text format reserves.
const RESERVED = /[\\\t\n\r]/;
function escapeCopy(text: string): string {
  if (!RESERVED.test(text)) return text;
  return text.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r");
}

/** One chunk of a plan encoded as COPY text, table by table in insert order (empty tables left out). */
export interface EncodedChunk {
  /**
   * The rows' fingerprint (TableFingerprint): `printable`, every value of `data` is printed as
   * PostgreSQL prints it, so the writer hashes the rows from their COPY lines while the server
   * loads them (TableFingerprint.addCopyLines); or `print`, already summed (or marked unsupported).
   */
  tables: {
    name: string;
    rows: number;
    data: Uint8Array;
    fingerprintFromCopy?: true;
    fingerprint?: TableFingerprintPart;
  }[];
}

/**
 * Encodes every table of a chunk as COPY text, rows that reference their own table after the
 * rows they point at (a thread's root before its replies).
 *
 * @example
 * const encoded = encodeChunk(plan.rows);
 */
export function encodeChunk(rows: Rows): EncodedChunk {
  const tables: EncodedChunk["tables"] = [];
  for (const table of insertOrder()) {
    const list = rows[table.model] as unknown as Record<string, unknown>[];
    if (list.length === 0) continue;
    const ordered = parentsFirst(table, list);
    // The generator only builds the COPY lines; turning them into record text and hashing it
    // (md5 per row) is left to the writer's thread, which otherwise waits on the server: the
    // generator is the bottleneck. About 200 bytes a row (messages); the sink grows when rows are longer.
    const data = new ByteSink(ordered.length * 200);
    const fingerprintFromCopy =
      !new TableFingerprint(table).unsupported && encodeCopyInto(table, ordered, data, undefined, true);
    tables.push({
      name: table.name,
      rows: list.length,
      data: data.bytes(),
      ...(fingerprintFromCopy
        ? { fingerprintFromCopy: true as const }
        : { fingerprint: { rows: 0, sum: "0", unsupported: true } }),
    });
  }
  return { tables };
}

/** Rows as a JSON array keyed by column name, with the values COPY would write. */
export function encodeJson(
  table: Table,
  rows: readonly Record<string, unknown>[],
  fingerprint?: TableFingerprint,
): string {
  return JSON.stringify(
    rows.map((row) => {
      fingerprint?.add(row);
      const out: Record<string, unknown> = {};
      for (const column of table.columns) {
        const value = row[column.field];
        if (value === undefined || value === null) {
          if (column.isRequired && !column.isList)
            throw new SeedError(
              "INVALID_FIXTURES",
              `${table.name}.${column.name} of row ${String(row.id)} has no value: set it in the fixture builder`,
            );
          continue;
        }
        out[column.name] = typeof value === "bigint" ? value.toString() : value;
      }
      return out;
    }),
  );
}

/** Rows in an order where each comes after the rows of its own table it references: as built, when they already are. */
function parentsFirst(table: Table, rows: Record<string, unknown>[]): Record<string, unknown>[] {
  const refs = selfReferences(table).map((fk) => fk.fields[0]!);
  if (refs.length === 0) return rows;
  const seen = new Set<unknown>();
  for (const row of rows) {
    for (const f of refs) {
      const v = row[f];
      if (v !== null && v !== undefined && !seen.has(v)) return waves(table, rows).flat();
    }
    seen.add(row.id);
  }
  return rows;
}
