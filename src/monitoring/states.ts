import type pg from "pg";
import { TABLES } from "../core/datamodel.ts";
import { ident } from "../db/connection.ts";
import { CANONICAL_USERS } from "../plan/builders/canonical.ts";

// The dev workspace must hold every state the app has code for (docs/dev-workspace.md). Nothing
// here lists the states of the columns by hand: nullable columns, enum values and booleans come
// from the live catalog of the database looked at; the named states are queries, each row of
// which is a place where the state is.

/** "A few" unread is 1 to 5 top-level messages after the read marker, "many" 20 or more. */
const FEW = 5;
const MANY = 20;

const day = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
/** "3 files", "1 file": how many rows `from` (a FROM … WHERE clause) has, with the noun. */
const counted = (from: string, noun: string) =>
  `(SELECT count(*) || ' ${noun}' || CASE WHEN count(*) = 1 THEN '' ELSE 's' END FROM ${from})`;

/**
 * @internal Per test user (`$1`, their usernames) and channel they are in (live membership, live
 * channel): their read state, `caught up`, `a few unread`, `many unread`, `never opened` or NULL.
 *
 * @example
 * await client.query(READ_STATES_SQL, [["testuser1"]]);
 */
export const READ_STATES_SQL = `
  WITH mine AS (
    SELECT u.username, c.id AS channel_id, c.name, mr.id AS marker,
           (SELECT created_at FROM messages WHERE id = mr.last_read_message_id) AS read_upto
      FROM users u
      JOIN channel_members cm ON cm.user_id = u.id AND cm.deleted_at IS NULL
      JOIN channels c ON c.id = cm.channel_id AND c.deleted_at IS NULL
      LEFT JOIN message_reads mr ON mr.user_id = u.id AND mr.channel_id = c.id
     WHERE u.username = ANY($1)
  ), counted AS (
    SELECT mine.*,
           (SELECT count(*) FROM messages m WHERE m.channel_id = mine.channel_id AND m.deleted_at IS NULL) AS live,
           (SELECT count(*) FROM messages m WHERE m.channel_id = mine.channel_id AND m.deleted_at IS NULL
               AND m.created_at > mine.read_upto) AS after_all,
           (SELECT count(*) FROM messages m WHERE m.channel_id = mine.channel_id AND m.deleted_at IS NULL
               AND m.thread_id IS NULL AND m.created_at > mine.read_upto) AS after_top
      FROM mine
  )
  SELECT username, name, after_top::int AS unread,
         CASE WHEN marker IS NULL AND live > 0 THEN 'never opened'
              WHEN marker IS NOT NULL AND after_all = 0 THEN 'caught up'
              WHEN after_top BETWEEN 1 AND ${FEW} THEN 'a few unread'
              WHEN after_top >= ${MANY} THEN 'many unread' END AS state
    FROM counted ORDER BY username, name`;

/**
 * @internal The join and conditions that keep, of the users aliased `u`, the deactivated ones
 * as the app expects them: memberships removed at or before, offline, no status, notifications
 * off, nothing muted, nothing authored or read after.
 *
 * @example
 * await client.query(`SELECT u.id FROM users u ${deactivatedConsistent("u")}`);
 */
export function deactivatedConsistent(u: string): string {
  return `JOIN user_status s ON s.user_id = ${u}.id JOIN user_settings st ON st.user_id = ${u}.id
          WHERE ${u}.deleted_at IS NOT NULL
            AND EXISTS (SELECT 1 FROM channel_members cm WHERE cm.user_id = ${u}.id)
            AND NOT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.user_id = ${u}.id
                             AND (cm.deleted_at IS NULL OR cm.deleted_at > ${u}.deleted_at))
            AND s.presence = 'offline' AND s.status_text IS NULL AND s.status_emoji IS NULL AND s.status_expiry IS NULL
            AND st.notifications @> '{"enabled": false, "email": false}' AND st.muted_channels IS NULL
            AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.user_id = ${u}.id AND m.created_at > ${u}.deleted_at)
            AND NOT EXISTS (SELECT 1 FROM reactions r WHERE r.user_id = ${u}.id AND r.created_at > ${u}.deleted_at)
            AND NOT EXISTS (SELECT 1 FROM message_reads mr WHERE mr.user_id = ${u}.id AND mr.updated_at > ${u}.deleted_at)`;
}

/** A named state: a query whose rows (one `place` each) say where it is; none means missing. */
interface NamedStateQuery {
  readonly state: string;
  readonly sql: string;
}

const TEST_USERS = CANONICAL_USERS.map((u) => u.username);

/** The test users' read states, each a named state: where each test user is in it. */
const READ_STATES = ["caught up", "a few unread", "many unread", "never opened"] as const;

const readStateName = (state: (typeof READ_STATES)[number]) =>
  `a test user ${state === "never opened" ? "who never opened a channel" : state === "caught up" ? "caught up in a channel" : `with ${state} in a channel`}`;

/**
 * The four read states and "all four", from one query of READ_STATES_SQL: per test user (in the
 * query's order), the channels they are in that state in.
 */
async function readStates(client: pg.ClientBase): Promise<NamedState[]> {
  const { rows } = await client.query<{ username: string; name: string; unread: number; state: string | null }>(
    READ_STATES_SQL,
    [TEST_USERS],
  );
  const users = [...new Set(rows.map((r) => r.username))];
  const named = READ_STATES.map((state) => ({
    state: readStateName(state),
    places: users.flatMap((username) => {
      const channels = rows
        .filter((r) => r.username === username && r.state === state)
        .map((r) =>
          state === "a few unread" || state === "many unread"
            ? `\`#${r.name}\` (${r.unread} unread)`
            : `\`#${r.name}\``,
        );
      return channels.length ? [`${username} in ${channels.join(", ")}`] : [];
    }),
  }));
  const allFour = users.filter(
    (username) => new Set(rows.filter((r) => r.username === username && r.state).map((r) => r.state)).size === 4,
  );
  return [...named, { state: "a test user with all four read states", places: allFour }];
}

/** The states the app has code for that no single column shows (the test users' read states: readStates). */
const NAMED_STATES: readonly NamedStateQuery[] = [
  {
    state: "a soft-deleted channel, with its history",
    sql: `SELECT format('\`#%s\` (%s) soft-deleted on %s, with its history: %s, %s, %s, %s',
                        c.name, c.type, ${day("c.deleted_at")},
                        ${counted("messages m WHERE m.channel_id = c.id", "message")},
                        ${counted("reactions r JOIN messages m ON m.id = r.message_id WHERE m.channel_id = c.id", "reaction")},
                        ${counted("files f JOIN messages m ON m.id = f.message_id WHERE m.channel_id = c.id", "file")},
                        ${counted("message_reads mr WHERE mr.channel_id = c.id", "read marker")}) AS place
            FROM channels c
           WHERE c.deleted_at IS NOT NULL AND EXISTS (SELECT 1 FROM messages m WHERE m.channel_id = c.id)
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.channel_id = c.id AND m.updated_at > c.deleted_at)
             AND NOT EXISTS (SELECT 1 FROM reactions r JOIN messages m ON m.id = r.message_id
                              WHERE m.channel_id = c.id AND r.updated_at > c.deleted_at)
             AND NOT EXISTS (SELECT 1 FROM message_reads mr WHERE mr.channel_id = c.id AND mr.updated_at > c.deleted_at)
           ORDER BY c.name`,
  },
  {
    state: "a member who left a channel, and later messages by others",
    sql: `SELECT format('@%s left \`#%s\` on %s; %s messages by others after', u.username, c.name, ${day("cm.deleted_at")}, later.n) AS place
            FROM channel_members cm JOIN users u ON u.id = cm.user_id JOIN channels c ON c.id = cm.channel_id,
            LATERAL (SELECT count(*) AS n FROM messages m
                      WHERE m.channel_id = c.id AND m.user_id <> cm.user_id AND m.created_at > cm.deleted_at) later
           WHERE cm.deleted_at IS NOT NULL AND u.deleted_at IS NULL AND c.deleted_at IS NULL AND later.n > 0
           ORDER BY c.name, u.username`,
  },
  {
    state: "an archived channel, with messages from before its archiving only",
    sql: `SELECT format('\`#%s\` archived on %s by @%s; %s messages before', c.name, ${day("c.archived_at")}, u.username,
                        (SELECT count(*) FROM messages m WHERE m.channel_id = c.id)) AS place
            FROM channels c JOIN users u ON u.id = c.archived_by
           WHERE c.archived_at IS NOT NULL AND c.deleted_at IS NULL
             AND EXISTS (SELECT 1 FROM messages m WHERE m.channel_id = c.id)
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.channel_id = c.id AND m.created_at >= c.archived_at)
           ORDER BY c.name`,
  },
  {
    state: "an empty channel (members, no messages)",
    sql: `SELECT format('\`#%s\` (%s, %s members) created on %s', c.name, c.type,
                        (SELECT count(*) FROM channel_members cm WHERE cm.channel_id = c.id AND cm.deleted_at IS NULL),
                        ${day("c.created_at")}) AS place
            FROM channels c
           WHERE c.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.channel_id = c.id)
             AND EXISTS (SELECT 1 FROM channel_members cm WHERE cm.channel_id = c.id AND cm.deleted_at IS NULL)
           ORDER BY c.name`,
  },
  {
    state: "a user in no channel (a fresh sign-up)",
    sql: `SELECT format('@%s signed up on %s', u.username, ${day("u.created_at")}) AS place
            FROM users u
           WHERE u.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM channel_members cm WHERE cm.user_id = u.id)
           ORDER BY u.username`,
  },
  {
    state: "a deactivated user: memberships removed, offline, no status, notifications off, nothing muted",
    sql: `SELECT format('@%s deactivated on %s: left %s', u.username, ${day("u.deleted_at")},
                        (SELECT string_agg(format('\`#%s\`', c.name), ', ' ORDER BY c.name)
                           FROM channel_members cm JOIN channels c ON c.id = cm.channel_id WHERE cm.user_id = u.id)) AS place
            FROM users u ${deactivatedConsistent("u")}
           ORDER BY u.username`,
  },
];

/** A state the app has code for, and where it is in the database: none means missing. */
export interface NamedState {
  state: string;
  places: string[];
}

/** A nullable, enum or boolean column, and how many rows show each of its values. */
export interface ColumnState {
  /** `table.column`. */
  column: string;
  /** NULL / set, an enum's values in order, or true / false, each with its row count. */
  seen: { value: string; rows: number }[];
}

/** Where each state the app has code for is in a database, and which are missing. */
export interface WorkspaceStates {
  named: NamedState[];
  columns: ColumnState[];
  /** Each state no row shows: a named state, or `table.column value`. */
  missing: string[];
  /** How many states were looked for. */
  total: number;
}

/**
 * The seeded tables' nullable, enum and boolean columns, read from the live catalog (not from
 * the datamodel, so a database behind its migrations shows what it has), each value counted.
 */
async function columnStates(client: pg.ClientBase): Promise<ColumnState[]> {
  const { rows: columns } = await client.query<{
    table_name: string;
    column_name: string;
    is_nullable: string;
    data_type: string;
    labels: string[] | null;
  }>(
    `SELECT c.table_name, c.column_name, c.is_nullable, c.data_type,
            (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
              WHERE t.typname = c.udt_name) AS labels
       FROM information_schema.columns c
      WHERE c.table_schema = current_schema() AND c.table_name = ANY($1)
      ORDER BY c.table_name, c.ordinal_position`,
    [TABLES.map((t) => t.name)],
  );
  const out: ColumnState[] = [];
  for (const table of [...new Set(columns.map((c) => c.table_name))]) {
    // One scan per table: every value of every column counted with a FILTER.
    const states: { column: string; value: string; predicate: string }[] = [];
    for (const col of columns.filter((c) => c.table_name === table)) {
      const name = `${table}.${col.column_name}`;
      const ref = ident(col.column_name);
      if (col.is_nullable === "YES")
        states.push(
          { column: name, value: "NULL", predicate: `${ref} IS NULL` },
          { column: name, value: "set", predicate: `${ref} IS NOT NULL` },
        );
      if (col.data_type === "boolean")
        states.push(
          { column: name, value: "true", predicate: `${ref} IS TRUE` },
          { column: name, value: "false", predicate: `${ref} IS FALSE` },
        );
      if (col.data_type === "USER-DEFINED" && col.labels)
        for (const label of col.labels)
          states.push({ column: name, value: label, predicate: `${ref}::text = '${label.replaceAll("'", "''")}'` });
    }
    if (states.length === 0) continue;
    const { rows } = await client.query(
      `SELECT ${states.map((s, i) => `count(*) FILTER (WHERE ${s.predicate})::int AS s${i}`).join(", ")} FROM ${ident(table)}`,
    );
    for (const [i, s] of states.entries()) {
      const last = out.at(-1);
      const seen = { value: s.value, rows: rows[0][`s${i}`] as number };
      if (last?.column === s.column) last.seen.push(seen);
      else out.push({ column: s.column, seen: [seen] });
    }
  }
  return out;
}

/**
 * Where each state the app has code for is in the database `client` is connected to: every
 * named state of docs/dev-workspace.md (a soft-deleted channel with its history, a member who
 * left, the test users' four read states, …) with the places that show it, and every nullable
 * column NULL and set, every enum value, both booleans, with their row counts. Reads only.
 *
 * @example
 * const states = await workspaceStates(client);
 * states.missing; // [] on the dev profile
 */
export async function workspaceStates(client: pg.ClientBase): Promise<WorkspaceStates> {
  const named: NamedState[] = [];
  for (const query of NAMED_STATES) {
    const { rows } = await client.query<{ place: string }>(query.sql);
    named.push({ state: query.state, places: rows.map((r) => r.place) });
  }
  named.push(...(await readStates(client)));
  const columns = await columnStates(client);
  const missing = [
    ...named.filter((n) => n.places.length === 0).map((n) => n.state),
    ...columns.flatMap((col) => col.seen.filter((s) => s.rows === 0).map((s) => `${col.column} ${s.value}`)),
  ];
  const total = named.length + columns.reduce((sum, col) => sum + col.seen.length, 0);
  return { named, columns, missing, total };
}

/**
 * The named states as a Markdown table, at most three places each (docs/dev-workspace.md holds
 * this table for the default seed).
 *
 * @example
 * formatNamedStates((await workspaceStates(client)).named);
 */
export function formatNamedStates(named: readonly NamedState[]): string {
  const shown = (places: string[]) =>
    places.length > 3 ? `${places.slice(0, 3).join("; ")}; and ${places.length - 3} more` : places.join("; ");
  return [
    "| state | where it is |",
    "|---|---|",
    ...named.map((n) => `| ${n.state} | ${n.places.length ? shown(n.places) : "**missing**"} |`),
  ].join("\n");
}

/**
 * The whole state table, as `db:report --states` prints it: the coverage line, the named
 * states and the columns' states, in Markdown.
 *
 * @example
 * console.log(formatStates(await workspaceStates(client)));
 */
export function formatStates(states: WorkspaceStates): string {
  const found = states.total - states.missing.length;
  return [
    `State coverage: ${found} of ${states.total} states, ${Math.floor((found / states.total) * 100)}%${states.missing.length ? `; missing: ${states.missing.join(", ")}` : ""}.`,
    "",
    formatNamedStates(states.named),
    "",
    "| column | rows per state (nullable: NULL / set; enums: each value; booleans: true / false) |",
    "|---|---|",
    ...states.columns.map(
      (col) => `| \`${col.column}\` | ${col.seen.map((s) => `${s.value} ${s.rows}`).join(" · ")} |`,
    ),
  ].join("\n");
}
