import { insertOrder, tableOf, type ModelName, type Rows } from "../core/datamodel.ts";
import { SeedError } from "../core/errors.ts";
import { ident } from "../db/connection.ts";
import { buildCanonical } from "../plan/builders/canonical.ts";
import { encodeJson } from "../write/copy.ts";
import type {
  Baseline,
  ExistingChannel,
  ExistingMember,
  ExistingUser,
  ScenarioContext,
  ScenarioLookups,
} from "./types.ts";

/** A Prisma 7 client, or the client of an interactive transaction (`prisma.$transaction(async (tx) => …)`). */
export interface PrismaLike {
  $queryRawUnsafe<T = unknown>(query: string, ...values: unknown[]): Promise<T>;
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

/** A `pg` client or pool (RollbackPool included), or anything with pg's `query(text, values)`, such as PGlite. */
export interface PgLike {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

/** Where a scenario is written: a Prisma client or transaction, a `pg` client or pool. */
export type ScenarioDatabase = PrismaLike | PgLike;

function isPrisma(db: ScenarioDatabase): db is PrismaLike {
  return typeof (db as PrismaLike).$executeRawUnsafe === "function";
}

async function select<T>(db: ScenarioDatabase, sql: string, values: unknown[]): Promise<T[]> {
  if (isPrisma(db)) return db.$queryRawUnsafe<T[]>(sql, ...values);
  if (typeof (db as PgLike)?.query !== "function") {
    throw new SeedError(
      "INVALID_USAGE",
      "scenario: create(db) takes a Prisma client (or an interactive transaction's client), a pg Client or Pool, or RollbackPool",
    );
  }
  return (await db.query(sql, values)).rows as T[];
}

/**
 * Looks up what a scenario names in the database (users by username, channels by name with
 * their members) and checks that the seeded baseline rows it recycles are there. Reads only.
 *
 * @example
 * const context = await lookupContext(pool, s.lookups());
 */
export async function lookupContext(db: ScenarioDatabase, lookups: ScenarioLookups): Promise<ScenarioContext> {
  const users = new Map<string, ExistingUser>();
  const channels = new Map<string, ExistingChannel>();
  if (lookups.usernames.length > 0) {
    const rows = await select<
      { id: string; username: string; created_at: Date; deleted_at: Date | null } & Record<string, unknown>
    >(
      db,
      `SELECT * FROM users WHERE username IN (SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY deleted_at NULLS FIRST, id`,
      [JSON.stringify(lookups.usernames)],
    );
    for (const name of lookups.usernames) {
      const found = rows.filter((r) => r.username === name);
      const live = found.filter((r) => r.deleted_at === null);
      if (live.length > 1)
        throw new SeedError(
          "INVALID_SCENARIO",
          `scenario: user "${name}": the database holds ${live.length} users named '${name}': name one that is unique, or declare a new user`,
        );
      const row = found[0];
      if (row)
        users.set(name, {
          id: row.id,
          username: row.username,
          createdAt: new Date(row.created_at),
          deletedAt: row.deleted_at && new Date(row.deleted_at),
          row: asModel("User", row) as never,
        });
    }
  }
  const channelRows =
    lookups.channelNames.length === 0
      ? []
      : await select<
          {
            id: string;
            name: string;
            type: "public" | "private" | "dm";
            created_by: string;
            created_at: Date;
            archived_at: Date | null;
          } & Record<string, unknown>
        >(
          db,
          `SELECT *, type::text AS type FROM channels WHERE deleted_at IS NULL AND name IN (SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY id`,
          [JSON.stringify(lookups.channelNames)],
        );
  const general = buildCanonical().general;
  const memberChannels = [...channelRows.map((c) => c.id), ...(lookups.general ? [general.id] : [])];
  const members =
    memberChannels.length === 0
      ? []
      : await select<{
          channel_id: string;
          user_id: string;
          username: string;
          role: ExistingMember["role"];
          created_at: Date;
          deleted_at: Date | null;
          user_deleted: boolean;
        }>(
          db,
          `SELECT m.channel_id, m.user_id, u.username, m.role::text AS role, m.created_at, m.deleted_at, u.deleted_at IS NOT NULL AS user_deleted
       FROM channel_members m JOIN users u ON u.id = m.user_id
      WHERE m.channel_id IN (SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY m.created_at, m.id`,
          [JSON.stringify(memberChannels)],
        );
  const membersOf = (id: string): ExistingMember[] =>
    members
      .filter((m) => m.channel_id === id)
      .map((m) => ({
        userId: m.user_id,
        username: m.username,
        role: m.role,
        createdAt: new Date(m.created_at),
        deletedAt: m.deleted_at && new Date(m.deleted_at),
        userDeleted: Boolean(m.user_deleted),
      }));
  for (const name of lookups.channelNames) {
    const found = channelRows.filter((c) => c.name === name);
    if (found.length > 1)
      throw new SeedError(
        "INVALID_SCENARIO",
        `scenario: channel "${name}": the database holds ${found.length} live channels named '${name}': name one that is unique, or declare a new channel`,
      );
    const c = found[0];
    if (c)
      channels.set(name, {
        id: c.id,
        name: c.name,
        type: c.type,
        createdBy: c.created_by,
        createdAt: new Date(c.created_at),
        archivedAt: c.archived_at && new Date(c.archived_at),
        members: membersOf(c.id),
        row: asModel("Channel", c) as never,
      });
  }
  return { users, channels, generalMembers: lookups.general ? membersOf(general.id) : [] };
}

/** A row read with its column names, as Prisma's client shapes it: field names, Dates, BigInts. */
function asModel(model: ModelName, row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of tableOf(model).columns) {
    const value = row[column.name];
    out[column.field] =
      value === null || value === undefined
        ? null
        : column.type === "DateTime"
          ? new Date(value as string)
          : column.type === "BigInt"
            ? BigInt(value as string)
            : value;
  }
  return out;
}

/**
 * The canonical rows a planned scenario recycles must be in the database (every profile has them).
 *
 * @example
 * await assertBaseline(pool, s.plan(context).baseline);
 */
export async function assertBaseline(db: ScenarioDatabase, baseline: Baseline): Promise<void> {
  if (baseline.users.length === 0 && baseline.channels.length === 0) return;
  const canonical = buildCanonical();
  const userIds = canonical.users.filter((u) => baseline.users.includes(u.username)).map((u) => u.id);
  const channelIds = baseline.channels.length > 0 ? [canonical.general.id] : [];
  const [found] = await select<{ users: number; channels: number }>(
    db,
    `SELECT (SELECT count(*)::int FROM users WHERE id IN (SELECT jsonb_array_elements_text($1::jsonb))) AS users,
            (SELECT count(*)::int FROM channels WHERE id IN (SELECT jsonb_array_elements_text($2::jsonb))) AS channels`,
    [JSON.stringify(userIds), JSON.stringify(channelIds)],
  );
  if (Number(found?.users) !== userIds.length || Number(found?.channels) !== channelIds.length) {
    const named = [...baseline.users, ...baseline.channels.map((c) => `#${c}`)].join(", ");
    throw new SeedError(
      "INVALID_SCENARIO",
      `scenario: it recycles ${named} from the seeded baseline, but the database does not hold them: seed it first (npm run db:seed -- --profile minimal, or the test kit), or build the scenario with scenario({ recycle: false })`,
    );
  }
}

/**
 * Writes planned rows in one statement: a data-modifying CTE per table, in insert order (parents
 * first, thread roots before replies), each a multi-row INSERT from one JSON parameter. One
 * statement is atomic with any client (inside the caller's transaction, if there is one), takes
 * one round trip, and PostgreSQL checks every key at its end.
 *
 * @example
 * await insertRows(prisma, planned.rows);
 */
export async function insertRows(db: ScenarioDatabase, rows: Rows): Promise<number> {
  const tables = insertOrder().filter((t) => rows[t.model].length > 0);
  if (tables.length === 0) return 0;
  const ctes = tables.map((t, i) => {
    const columns = t.columns.map((c) => ident(c.name)).join(", ");
    return `w${i} AS (INSERT INTO ${ident(t.name)} (${columns}) SELECT ${columns} FROM jsonb_populate_recordset(NULL::${ident(t.name)}, $${i + 1}::jsonb))`;
  });
  const sql = `WITH ${ctes.join(",\n")} SELECT 1 AS done`;
  const values = tables.map((t) => encodeJson(t, rows[t.model] as unknown as Record<string, unknown>[]));
  try {
    if (isPrisma(db)) await db.$executeRawUnsafe(sql, ...values);
    else await (db as PgLike).query(sql, values);
  } catch (cause) {
    const e = cause as {
      code?: string;
      detail?: string;
      message?: string;
      meta?: { driverAdapterError?: { cause?: { message?: string } } };
    };
    const reason = e.detail ?? e.meta?.driverAdapterError?.cause?.message ?? e.message ?? String(cause);
    const sameRows = /Key \(id\)=/.test(reason)
      ? ": the database already holds rows of a scenario of the same shape and seed; give this one another seed (scenario({ seed: 2 })) or its rows keys"
      : "; change the override that collides";
    throw new SeedError(
      "SEED_FAILED",
      `scenario: the database refused its rows (${reason.split("\n")[0]}): nothing of the scenario was written${sameRows}`,
      { cause },
    );
  }
  return tables.reduce((n, t) => n + rows[t.model].length, 0);
}
