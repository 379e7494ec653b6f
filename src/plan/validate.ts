import { TABLES, type Column, type Rows, type Table } from "../core/datamodel.ts";
import { SeedError } from "../core/errors.ts";
import { WINDOW_END } from "./builders/clock.ts";
import { appendRows, emptyRows } from "./plan.ts";
import { checkRules, type Violation } from "./rules.ts";
import { isUlid, ulidTime, ulidTimeOrNaN } from "./ulid.ts";

/** Auth0 user ids: `<connection>|<id>`; database users are `auth0|` + 24 lowercase hex digits. */
// Other connections (samlp, github, …) keep their own id shapes; auth0 and google-oauth2 ids must be exact.
export const AUTH0_ID =
  /^(auth0\|[0-9a-f]{24}|google-oauth2\|[0-9]{21}|(?!auth0\||google-oauth2\|)[a-z0-9-]+\|[A-Za-z0-9._-]+)$/;

const fieldSets = new Map<string, ReadonlySet<string>>();
/** The fields of a table's columns: a row field outside them would be dropped by the writer without a word. */
function fieldsOf(table: Table): ReadonlySet<string> {
  let fields = fieldSets.get(table.name);
  if (!fields) fieldSets.set(table.name, (fields = new Set(table.columns.map((c) => c.field))));
  return fields;
}

function unknownFieldDetail(table: Table, field: string): string {
  return `${field} is no column of ${table.name} (schema.prisma): the database would never get it`;
}

/** A table's timestamp fields, every one of which must lie inside the fixture window: its DateTime columns. */
function timeFieldsOf(table: Table): string[] {
  return table.columns.filter((c) => c.type === "DateTime").map((c) => c.field);
}

/**
 * Every problem of a set of rows that would make the database reject them or break a rule the
 * application relies on: missing required values, values longer than their column, ids that
 * are not ULIDs agreeing with `created_at`, duplicate unique keys (emails case-insensitively),
 * references to rows that are not there, malformed Auth0 ids, timestamps after the fixture
 * window, and the application rules.
 *
 * @example
 * validateRows(buildPlan().rows); // []
 */
export function validateRows(rows: Rows, tables: readonly Table[] = TABLES): Violation[] {
  const out: Violation[] = [];
  const ids = new Map<string, Set<string>>();
  for (const table of tables) ids.set(table.model, new Set(rows[table.model].map((r) => r.id)));
  for (const table of tables) {
    const timeFields = timeFieldsOf(table);
    const list = rows[table.model] as unknown as Record<string, unknown>[];
    const seen = table.uniqueKeys.map(() => new Set<string>());
    const lengthChecked = table.columns.filter((c) => c.maxLength !== null);
    const required = table.columns.filter((c) => c.isRequired && !c.isList && !c.hasDefault);
    const fks = table.foreignKeys.map((fk) => ({ fk, field: fk.fields[0]!, parents: ids.get(fk.references)! }));
    for (const row of list) {
      const rowId = String(row.id);
      const bad = (rule: string, detail: string) => out.push({ rule, table: table.name, rowId, detail });
      for (const column of required) {
        const value = row[column.field];
        if (value === undefined || value === null) bad("required", `${column.name} is required`);
      }
      for (const column of lengthChecked) {
        const value = row[column.field];
        if (Array.isArray(value)) {
          for (const v of value)
            if (tooLong(v, column.maxLength!))
              bad("length", `${column.name} has an element longer than ${column.maxLength} characters`);
        } else if (tooLong(value, column.maxLength!))
          bad("length", `${column.name} is longer than ${column.maxLength} characters`);
      }
      for (const field in row) if (!fieldsOf(table).has(field)) bad("unknown-field", unknownFieldDetail(table, field));
      const created = row.createdAt;
      if (!isUlid(rowId)) bad("ulid", "id is not a ULID");
      else if (!(created instanceof Date) || ulidTime(rowId) !== created.getTime())
        bad("ulid-time", "id and created_at are not the same millisecond");
      for (const field of timeFields) {
        const value = row[field];
        if (value instanceof Date && value.getTime() > WINDOW_END)
          bad("past-window", `${field} lies after the fixture window`);
      }
      for (let i = 0; i < table.uniqueKeys.length; i++) {
        const key = table.uniqueKeys[i]!;
        const value = key.length === 1 ? String(row[key[0]!]) : key.map((f) => String(row[f])).join("\u0000");
        if (seen[i]!.has(value)) bad("unique", `duplicate ${key.join(", ")}`);
        seen[i]!.add(value);
      }
      for (const { fk, field, parents } of fks) {
        const value = row[field];
        if (value !== null && value !== undefined && !parents.has(String(value)))
          bad("reference", `${fk.columns.join(", ")} points at a missing ${fk.references}`);
      }
    }
  }
  out.push(...duplicateEmails(rows.User));
  for (const u of rows.User) {
    if (!AUTH0_ID.test(u.auth0Id))
      out.push({ rule: "auth0-id", table: "users", rowId: u.id, detail: "auth0_id is not <connection>|<id>" });
  }
  for (const s of rows.UserSettings) {
    if (Array.isArray(s.mutedChannels) && s.mutedChannels.some((c) => !ids.get("Channel")!.has(c)))
      out.push({
        rule: "reference",
        table: "user_settings",
        rowId: s.id,
        detail: "muted_channels names a missing channel",
      });
  }
  out.push(...checkRules(rows));
  return out;
}

/** Longer than `max` characters (code points, as PostgreSQL counts them). */
function tooLong(value: unknown, max: number): boolean {
  // UTF-16 length is never below the code point count: count only when it might be over.
  return typeof value === "string" && value.length > max && [...value].length > max;
}

/**
 * Throws SeedError INVALID_FIXTURES naming the table, row and rule of the first violations.
 *
 * @example
 * assertValidRows(buildPlan({ profile: "minimal" }).rows);
 */
export function assertValidRows(rows: Rows): void {
  throwViolations(validateRows(rows));
}

/** Throws INVALID_FIXTURES naming the first violations, if there are any. */
function throwViolations(violations: Violation[]): void {
  if (violations.length === 0) return;
  const shown = violations
    .slice(0, 3)
    .map((v) => `${v.table} row ${v.rowId} breaks '${v.rule}' (${v.detail})`)
    .join("; ");
  const more = violations.length > 3 ? ` and ${violations.length - 3} more` : "";
  throw new SeedError(
    "INVALID_FIXTURES",
    `the planned rows break ${violations.length} rule(s): ${shown}${more}. Fix the row builder in src/plan/builders/ for that table; nothing was written`,
  );
}

/** Milliseconds spent building and validating the rows of a streamed plan. */
export interface ChunkTiming {
  generate: number;
  validate: number;
  /** Encoding as COPY data (bulk path only). */
  encode?: number;
}

/** Per table, what validateChunk checks on every row: columns with a length, time fields. */
interface ChunkChecks {
  readonly lengths: readonly Column[];
  readonly times: readonly string[];
  readonly ulid: boolean;
}
const chunkChecks = new Map<string, ChunkChecks>();
function checksOf(table: Table): ChunkChecks {
  let checks = chunkChecks.get(table.name);
  if (!checks) {
    const fields = new Set(table.columns.map((c) => c.field));
    checks = {
      lengths: table.columns.filter((c) => c.maxLength !== null),
      times: timeFieldsOf(table),
      ulid: fields.has("id") && fields.has("createdAt"),
    };
    chunkChecks.set(table.name, checks);
  }
  return checks;
}

/**
 * The checks of a streamed chunk: what neither Prisma's row types nor the way the builders
 * work can guarantee, and the database does not check by itself before commit. Kept: values
 * longer than their column, an id whose ULID time is not its `created_at`, timestamps after
 * the fixture window, emails unique case-insensitively, Auth0 id shapes, muted channels that
 * do not exist, and every application rule (against `canonical`, which every chunk may
 * reference). Left to what already guarantees them: required values (the row types; the COPY
 * encoder refuses a missing one), ULID characters (ulid() makes every id), unique keys and
 * foreign keys (the database's own constraints, in the same transaction; with deferred
 * constraints they are rebuilt and validated before commit).
 *
 * @example
 * validateChunk(chunk, canonicalRows); // []
 */
export function validateChunk(rows: Rows, canonical?: Rows): Violation[] {
  const out: Violation[] = [];
  for (const table of TABLES) {
    const list = rows[table.model] as unknown as Record<string, unknown>[];
    if (list.length === 0) continue;
    const { lengths, times, ulid } = checksOf(table);
    // Builders make every row of a table the same shape: the first row shows a stray field.
    for (const field in list[0]!)
      if (!fieldsOf(table).has(field))
        out.push({
          rule: "unknown-field",
          table: table.name,
          rowId: String(list[0]!.id),
          detail: unknownFieldDetail(table, field),
        });
    for (const row of list) {
      for (const column of lengths) {
        const value = row[column.field];
        if (Array.isArray(value)) {
          for (const v of value)
            if (tooLong(v, column.maxLength!))
              out.push({
                rule: "length",
                table: table.name,
                rowId: String(row.id),
                detail: `${column.name} has an element longer than ${column.maxLength} characters`,
              });
        } else if (tooLong(value, column.maxLength!))
          out.push({
            rule: "length",
            table: table.name,
            rowId: String(row.id),
            detail: `${column.name} is longer than ${column.maxLength} characters`,
          });
      }
      if (ulid) {
        const created = row.createdAt;
        if (!(created instanceof Date) || ulidTimeOrNaN(row.id) !== created.getTime())
          out.push({
            rule: "ulid-time",
            table: table.name,
            rowId: String(row.id),
            detail: "id is not a ULID of created_at's millisecond",
          });
      }
      for (const field of times) {
        const value = row[field];
        if (value instanceof Date && value.getTime() > WINDOW_END)
          out.push({
            rule: "past-window",
            table: table.name,
            rowId: String(row.id),
            detail: `${field} lies after the fixture window`,
          });
      }
    }
  }
  const all = canonical ? appendRows(appendRows(emptyRows(), canonical), rows) : rows;
  out.push(...duplicateEmails(all.User));
  for (const u of rows.User)
    if (!AUTH0_ID.test(u.auth0Id))
      out.push({ rule: "auth0-id", table: "users", rowId: u.id, detail: "auth0_id is not <connection>|<id>" });
  if (rows.UserSettings.some((s) => Array.isArray(s.mutedChannels) && s.mutedChannels.length > 0)) {
    const channels = new Set(all.Channel.map((c) => c.id));
    for (const s of rows.UserSettings) {
      if (Array.isArray(s.mutedChannels) && s.mutedChannels.some((c) => !channels.has(c)))
        out.push({
          rule: "reference",
          table: "user_settings",
          rowId: s.id,
          detail: "muted_channels names a missing channel",
        });
    }
  }
  out.push(...checkRules(all));
  return out;
}

/**
 * Validates each chunk of a streamed plan with validateChunk (against the canonical rows,
 * which the first chunk holds and every later chunk references) before handing it on: a chunk
 * that breaks a rule never reaches the writer. Unique and foreign keys are left to the
 * database's own constraints, inside the same transaction.
 *
 * @example
 * for (const rows of validatedChunks(planChunks({ scale: 100 }))) write(rows);
 */
export function* validatedChunks(
  chunks: Iterable<Rows>,
  timing: ChunkTiming = { generate: 0, validate: 0 },
  canonicalRows?: Rows,
): Generator<Rows> {
  let canonical: Rows | undefined = canonicalRows;
  const iterator = chunks[Symbol.iterator]();
  for (;;) {
    let t = performance.now();
    const next = iterator.next();
    timing.generate += performance.now() - t;
    if (next.done) return;
    t = performance.now();
    throwViolations(validateChunk(next.value, canonical));
    canonical ??= next.value;
    timing.validate += performance.now() - t;
    yield next.value;
  }
}

/**
 * Validates rows added to a plan (local accounts) against the plan rows they reference:
 * violations are reported only for the added rows.
 */
export function assertValidAddedRows(
  added: Rows,
  referenced: { users: readonly Rows["User"][number][]; channels: readonly Rows["Channel"][number][] },
): void {
  const own = new Set<string>();
  for (const list of Object.values(added)) for (const row of list as { id: string }[]) own.add(row.id);
  const context = appendRows(emptyRows(), added);
  const addedIds = new Set(context.User.map((u) => u.id));
  context.User.push(...referenced.users.filter((u) => !addedIds.has(u.id)));
  context.Channel.push(...referenced.channels);
  throwViolations(validateRows(context).filter((v) => own.has(v.rowId)));
}

/** Users whose email another user before them already has, compared case-insensitively. */
function duplicateEmails(users: readonly { id: string; email: string }[]): Violation[] {
  const seen = new Set<string>();
  const out: Violation[] = [];
  for (const u of users) {
    const email = u.email.toLowerCase();
    if (seen.has(email))
      out.push({
        rule: "email-unique-ci",
        table: "users",
        rowId: u.id,
        detail: "email is not unique case-insensitively",
      });
    seen.add(email);
  }
  return out;
}
