import type { Column, Table } from "../core/datamodel.ts";

// PostgreSQL's text output of a row, in JS: per column the text its output function prints
// (which is also valid COPY input), and record_out's quoting of a whole row. The fingerprint
// hashes exactly this text, so a row streamed to COPY is fingerprinted without reading it back.

/** The renderer of a column this cannot print exactly: it always returns null. */
export function unsupportedRenderer(): string | null {
  return null;
}

const rendererCache = new Map<string, ((value: unknown) => string | null)[]>();

/**
 * Per column of a table, how PostgreSQL prints a (non-null) value: the text `t::text` shows,
 * which is also valid COPY input for the column. A renderer returns null for a value it
 * cannot print exactly (the caller then falls back).
 *
 * @example
 * renderersOf(tableOf("User"))[6]!(new Date(0)); // "1970-01-01 00:00:00+00"
 */
export function renderersOf(table: Table): ((value: unknown) => string | null)[] {
  let renderers = rendererCache.get(table.name);
  if (!renderers) rendererCache.set(table.name, (renderers = table.columns.map(renderer)));
  return renderers;
}

/** How PostgreSQL prints a column's value (its output function), or unsupportedRenderer. */
function renderer(column: Column): (value: unknown) => string | null {
  if (column.isList) {
    if (column.udtName !== "_varchar" && column.udtName !== "_text") return unsupportedRenderer;
    return (value) =>
      Array.isArray(value)
        ? `{${value.map((v) => (v === null ? "NULL" : quoteArrayElement(String(v)))).join(",")}}`
        : null;
  }
  if (column.kind === "enum") return (value) => String(value);
  switch (column.udtName) {
    case "varchar":
    case "text":
    case "bpchar":
      // bpchar pads to its length: only when the value already has it.
      return column.udtName === "bpchar"
        ? (value) => (typeof value === "string" && value.length === column.maxLength ? value : null)
        : (value) => String(value);
    case "bool":
      return (value) => (value ? "t" : "f");
    case "int4":
    case "int8":
      return (value) =>
        typeof value === "bigint" || (typeof value === "number" && Number.isSafeInteger(value))
          ? String(value)
          : typeof value === "string" && /^-?\d+$/.test(value)
            ? value.replace(/^(-?)0+(?=\d)/, "$1")
            : null;
    case "timestamptz":
      return timestamptz;
    case "jsonb":
      return (value) => jsonbText(value);
    default:
      return unsupportedRenderer;
  }
}

/** timestamptz in UTC with datestyle ISO: `2025-01-06 09:00:00.12+00` (trailing zeros of the fraction dropped). */
function timestamptz(value: unknown): string | null {
  const date = value instanceof Date ? value : typeof value === "string" ? new Date(value) : null;
  if (!date) return null;
  const ms = date.getTime();
  if (Number.isNaN(ms)) return null;
  const dayMs = ms - (((ms % DAY) + DAY) % DAY);
  // Seeds span a few hundred days: each date part is built once, the clock by arithmetic.
  let dayText = dayTexts.get(dayMs);
  if (dayText === undefined) {
    const iso = new Date(dayMs).toISOString();
    if (iso.length !== 24) return timestamptzSlow(date);
    if (dayTexts.size > 100_000) dayTexts.clear();
    dayTexts.set(dayMs, (dayText = `${iso.slice(0, 10)} `));
  }
  let rest = ms - dayMs;
  const milli = rest % 1000;
  rest = (rest - milli) / 1000;
  const sec = rest % 60;
  rest = (rest - sec) / 60;
  const min = rest % 60;
  const hour = (rest - min) / 60;
  const clock = `${dayText}${TWO[hour]}:${TWO[min]}:${TWO[sec]}`;
  return milli === 0 ? `${clock}+00` : `${clock}${FRACTION[milli]}+00`;
}

const DAY = 86_400_000;
const dayTexts = new Map<number, string>();
const TWO = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));
/** `.1`, `.12`, `.123`: the milliseconds as PostgreSQL prints them, trailing zeros dropped. */
const FRACTION = Array.from({ length: 1000 }, (_, i) => `.${String(i).padStart(3, "0")}`.replace(/0+$/, ""));

function timestamptzSlow(date: Date): string | null {
  const iso = date.toISOString();
  // Years outside 0001-9999 print differently (BC, six digits).
  if (iso.length !== 24) return null;
  let fraction = iso.slice(19, 23);
  if (fraction === ".000") fraction = "";
  else if (fraction.endsWith("00")) fraction = fraction.slice(0, 2);
  else if (fraction.endsWith("0")) fraction = fraction.slice(0, 3);
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${fraction}+00`;
}

/**
 * jsonb's output: object keys ordered by length then bytes, `": "` and `", "` separators,
 * duplicate keys collapsed to the last. Null for numbers whose output could differ.
 */
function jsonbText(value: unknown): string | null {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return jsonString(value);
    case "number":
      return Number.isSafeInteger(value) ? String(value) : null;
    case "object": {
      if (Array.isArray(value)) {
        const parts: string[] = [];
        for (const item of value) {
          const text = jsonbText(item === undefined ? null : item);
          if (text === null) return null;
          parts.push(text);
        }
        return `[${parts.join(", ")}]`;
      }
      if (value instanceof Date) return jsonString(value.toISOString());
      const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
      keys.sort(compareJsonbKeys);
      const parts: string[] = [];
      for (const key of keys) {
        const text = jsonbText((value as Record<string, unknown>)[key]);
        if (text === null) return null;
        parts.push(`${jsonString(key)}: ${text}`);
      }
      return `{${parts.join(", ")}}`;
    }
    default:
      return null;
  }
}

/** jsonb orders keys by UTF-8 byte length, then bytes. */
function compareJsonbKeys(a: string, b: string): number {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length - bb.length || Buffer.compare(ba, bb);
}

/** A JSON string as PostgreSQL's escape_json writes it (non-ASCII as is, controls escaped). */
function jsonString(text: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/["\\\u0000-\u001f]/.test(text)) return `"${text}"`;
  let out = '"';
  for (const ch of text) {
    switch (ch) {
      case '"':
        out += '\\"';
        break;
      case "\\":
        out += "\\\\";
        break;
      case "\b":
        out += "\\b";
        break;
      case "\f":
        out += "\\f";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      default:
        out += ch < " " ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}` : ch;
    }
  }
  return `${out}"`;
}

const [NL, TAB, BACKSLASH, N, OPEN, CLOSE, COMMA, QUOTE] = [0x0a, 0x09, 0x5c, 0x4e, 0x28, 0x29, 0x2c, 0x22];
/** Bytes record_out quotes a field for (RECORD_SPECIAL), by byte. */
const RECORD_SPECIAL_BYTE = new Uint8Array(128);
for (const ch of '",\\() \t\n\v\f\r') RECORD_SPECIAL_BYTE[ch.charCodeAt(0)] = 1;
let recordBuffer = Buffer.allocUnsafe(1 << 16);

/**
 * Writes one COPY field (data[from, to), not `\N`) into `out` at `n` as quoteRecordField would
 * write its text: COPY's escapes undone, quoted when empty or special, `"` and `\` doubled.
 */
function writeRecordField(data: Buffer, from: number, to: number, out: Buffer, n: number): number {
  let plain = to > from;
  for (let i = from; i < to && plain; i++)
    plain = data[i] !== BACKSLASH && !(data[i]! < 128 && RECORD_SPECIAL_BYTE[data[i]!]);
  if (plain) {
    // Short fields byte by byte: a copy call makes a view object, and this runs for every
    // field of two million rows.
    if (to - from > 64) return n + data.copy(out, n, from, to);
    for (let i = from; i < to; i++) out[n++] = data[i]!;
    return n;
  }
  let quoted = to === from;
  for (let i = from; i < to && !quoted; i++) {
    const b = data[i] === BACKSLASH ? unescaped(data[++i]!) : data[i]!;
    quoted = b < 128 && RECORD_SPECIAL_BYTE[b] === 1;
  }
  if (quoted) out[n++] = QUOTE;
  for (let i = from; i < to; i++) {
    const b = data[i] === BACKSLASH ? unescaped(data[++i]!) : data[i]!;
    if (quoted && (b === QUOTE || b === BACKSLASH)) out[n++] = b;
    out[n++] = b;
  }
  if (quoted) out[n++] = QUOTE;
  return n;
}

/** The byte a COPY escape `\x` stands for (copy.ts writes `\\`, `\t`, `\n` and `\r`). */
function unescaped(b: number): number {
  return b === 0x74 ? TAB : b === 0x6e ? NL : b === 0x72 ? 0x0d : b;
}

// record_out quotes a field that is empty or holds one of these (isspace: space, \t \n \v \f \r).
const RECORD_SPECIAL = /[",\\() \t\n\v\f\r]/;
/** A field of record_out: quoted (`"` and `\\` doubled) when empty or holding a special character. */
export function quoteRecordField(text: string): string {
  if (text !== "" && !RECORD_SPECIAL.test(text)) return text;
  return `"${text.replace(/["\\]/g, "$&$&")}"`;
}

// array_out quotes an element that is empty, "NULL" in any case, or holds one of these.
const ARRAY_SPECIAL = /[{},"\\ \t\n\v\f\r]/;
function quoteArrayElement(text: string): string {
  if (text !== "" && !ARRAY_SPECIAL.test(text) && text.toUpperCase() !== "NULL") return text;
  return `"${text.replace(/["\\]/g, "\\$&")}"`;
}

/**
 * Turns COPY text lines (as encodeChunk writes them, every value printed as PostgreSQL prints
 * it) into record texts, what `t::text` prints: `\N` an empty field, COPY's escapes undone and
 * record_out's quoting applied. Byte by byte into one reused buffer: every character that
 * matters is ASCII, so UTF-8 passes through untouched, and no string is made per row (the
 * writer's thread does this for two million rows). `each` must use the record before it returns.
 *
 * @example
 * forEachCopyLineRecord(Buffer.from("1\ta b\t\\N\n"), 3, (r) => console.log(String(r))); // (1,"a b",)
 */
export function forEachCopyLineRecord(data: Uint8Array, columnCount: number, each: (record: Uint8Array) => void): void {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let out = recordBuffer;
  for (let start = 0; start < bytes.length; ) {
    let end = bytes.indexOf(NL, start);
    if (end < 0) end = bytes.length;
    // A record is at most twice its line, plus the parentheses and quotes of each field.
    const room = 2 * (end - start) + 3 * columnCount + 2;
    if (room > out.length) out = recordBuffer = Buffer.allocUnsafe(Math.max(room, 2 * out.length));
    let n = 0;
    out[n++] = OPEN;
    for (let at = start; ; ) {
      let tab = bytes.indexOf(TAB, at);
      if (tab < 0 || tab > end) tab = end;
      if (!(tab - at === 2 && bytes[at] === BACKSLASH && bytes[at + 1] === N))
        n = writeRecordField(bytes, at, tab, out, n);
      if (tab === end) break;
      out[n++] = COMMA;
      at = tab + 1;
    }
    out[n++] = CLOSE;
    each(out.subarray(0, n));
    start = end + 1;
  }
}
