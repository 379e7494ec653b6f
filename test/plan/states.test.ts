import { readFileSync, writeFileSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TABLES } from "../../src/core/datamodel.ts";
import { datamodel } from "../../src/generated/datamodel.ts";
import { CANONICAL_USERS } from "../../src/plan/builders/canonical.ts";
import { useTestDatabase } from "../helpers/db.ts";

// The dev workspace must hold every state the app has code for. Nothing here lists the states
// of the columns by hand: nullable columns, enum values and booleans come from the live
// database's catalog (and must agree with the Prisma datamodel); the named states are queries.
// The state table of docs/dev-workspace.md is this file's output on the template database
// (dev profile, default seed): when the data changes, the test fails with the fresh table to
// paste, or writes it with WRITE_STATE_TABLE=1.

const db = useTestDatabase("states");
const DOC = "docs/dev-workspace.md";
const BEGIN = "<!-- state-table:begin (written by test/plan/states.test.ts) -->";
const END = "<!-- state-table:end -->";

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`SET timezone = 'UTC'`);
});
afterAll(async () => {
  await client?.end();
});

const day = (column: string) => `to_char(${column}, 'YYYY-MM-DD')`;
/** "3 files", "1 file": how many rows `from` (a FROM … WHERE clause) has, with the noun. */
const counted = (from: string, noun: string) =>
  `(SELECT count(*) || ' ${noun}' || CASE WHEN count(*) = 1 THEN '' ELSE 's' END FROM ${from})`;
const testUsers = CANONICAL_USERS.map((u) => u.username);
/** "A few" unread is 1 to 5 top-level messages after the marker, "many" 20 or more. */
const FEW = 5;
const MANY = 20;

/** Per test user and channel they are in (live membership, live channel): their read state. */
const READ_STATES_SQL = `
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

interface ReadRow {
  username: string;
  name: string;
  unread: number;
  state: string | null;
}

/** A named state: a query whose rows (one `place` each) say where it is; none means missing. */
interface NamedState {
  readonly state: string;
  readonly sql: string;
  readonly params?: unknown[];
}

const readState = (state: string): NamedState => ({
  state: `a test user ${state === "never opened" ? "who never opened a channel" : state === "caught up" ? "caught up in a channel" : `with ${state} in a channel`}`,
  sql: `SELECT format('%s in %s', username, string_agg(place, ', ' ORDER BY name)) AS place
          FROM (SELECT username, name, ${placeOf(state)} AS place FROM (${READ_STATES_SQL}) r WHERE state = '${state}') x
         GROUP BY username ORDER BY username`,
  params: [testUsers],
});

function placeOf(state: string): string {
  return state === "a few unread" || state === "many unread"
    ? `format('\`#%s\` (%s unread)', name, unread)`
    : `format('\`#%s\`', name)`;
}

const NAMED_STATES: readonly NamedState[] = [
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
            FROM users u ${DEACTIVATED_CONSISTENT("u")}
           ORDER BY u.username`,
  },
  readState("caught up"),
  readState("a few unread"),
  readState("many unread"),
  readState("never opened"),
  {
    state: "a test user with all four read states",
    sql: `SELECT username AS place FROM (${READ_STATES_SQL}) r
           GROUP BY username HAVING count(DISTINCT state) = 4 ORDER BY username`,
    params: [testUsers],
  },
];

/** Deactivated users as the app expects them (see docs/dev-workspace.md), from `alias`. */
function DEACTIVATED_CONSISTENT(u: string): string {
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

interface ColumnState {
  readonly column: string;
  /** Each value the column must show (NULL / set, an enum's values, true / false) with its row count. */
  readonly seen: { value: string; rows: number }[];
}

/** The seeded tables' nullable, enum and boolean columns, from the live catalog. */
async function columnStates(c: pg.Client): Promise<ColumnState[]> {
  const { rows: columns } = await c.query<{
    table_name: string;
    column_name: string;
    is_nullable: string;
    data_type: string;
    udt_name: string;
  }>(
    `SELECT table_name, column_name, is_nullable, data_type, udt_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND table_name = ANY($1) ORDER BY table_name, ordinal_position`,
    [TABLES.map((t) => t.name)],
  );
  const out: ColumnState[] = [];
  for (const col of columns) {
    const where = `"${col.table_name}"."${col.column_name}"`;
    const name = `${col.table_name}.${col.column_name}`;
    const count = async (predicate: string) =>
      (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${col.table_name}" WHERE ${predicate}`)).rows[0]!
        .n;
    if (col.is_nullable === "YES")
      out.push({
        column: name,
        seen: [
          { value: "NULL", rows: await count(`${where} IS NULL`) },
          { value: "set", rows: await count(`${where} IS NOT NULL`) },
        ],
      });
    if (col.data_type === "boolean")
      out.push({
        column: name,
        seen: [
          { value: "true", rows: await count(`${where} IS TRUE`) },
          { value: "false", rows: await count(`${where} IS FALSE`) },
        ],
      });
    if (col.data_type === "USER-DEFINED") {
      const { rows: labels } = await c.query<{ label: string }>(
        `SELECT e.enumlabel AS label FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = $1 ORDER BY e.enumsortorder`,
        [col.udt_name],
      );
      const seen: ColumnState["seen"] = [];
      for (const { label } of labels) seen.push({ value: label, rows: await count(`${where}::text = '${label}'`) });
      out.push({ column: name, seen });
    }
  }
  return out;
}

async function namedStates(c: pg.Client): Promise<{ state: string; places: string[] }[]> {
  const out: { state: string; places: string[] }[] = [];
  for (const named of NAMED_STATES) {
    const { rows } = await c.query<{ place: string }>(named.sql, named.params ?? []);
    out.push({ state: named.state, places: rows.map((r) => r.place) });
  }
  return out;
}

/** The markdown of the state table, and the states that are missing. */
function stateTable(named: { state: string; places: string[] }[], columns: ColumnState[]) {
  const missing = [
    ...named.filter((n) => n.places.length === 0).map((n) => n.state),
    ...columns.flatMap((col) => col.seen.filter((s) => s.rows === 0).map((s) => `${col.column} ${s.value}`)),
  ];
  const total = named.length + columns.reduce((sum, col) => sum + col.seen.length, 0);
  const shown = (places: string[]) =>
    places.length > 3 ? `${places.slice(0, 3).join("; ")}; and ${places.length - 3} more` : places.join("; ");
  const lines = [
    BEGIN,
    `State coverage of the dev workspace (default seed): ${total - missing.length} of ${total} states, ${Math.floor(((total - missing.length) / total) * 100)}%.`,
    "",
    "| state | where it is in dev |",
    "|---|---|",
    ...named.map((n) => `| ${n.state} | ${n.places.length ? shown(n.places) : "**missing**"} |`),
    "",
    "| column | rows per state (nullable: NULL / set; enums: each value; booleans: true / false) |",
    "|---|---|",
    ...columns.map((col) => `| \`${col.column}\` | ${col.seen.map((s) => `${s.value} ${s.rows}`).join(" · ")} |`),
    END,
  ];
  return { markdown: lines.join("\n"), missing, total };
}

describe("the dev workspace holds every state the app has code for", () => {
  it("finds the same nullable, enum and boolean columns in the live catalog as in the Prisma datamodel", async () => {
    const live = await columnStates(client);
    const fromModel = TABLES.flatMap((t) =>
      t.columns.flatMap((col) => [
        ...(!col.isRequired || col.isList ? [`${t.name}.${col.name}`] : []),
        ...(col.type === "Boolean" ? [`${t.name}.${col.name}`] : []),
        ...(col.kind === "enum" ? [`${t.name}.${col.name}`] : []),
      ]),
    );
    expect(live.map((c) => c.column).sort()).toEqual(fromModel.sort());
    for (const e of datamodel.enums) {
      const used = live.filter((c) => c.seen.map((s) => s.value).join() === e.values.join());
      expect(used.length, `enum ${e.dbName}: every value in the catalog and in the datamodel`).toBeGreaterThan(0);
    }
  });

  it("covers 100% of the states: nullable columns NULL and set, every enum value, both booleans, every named state", async () => {
    const { missing, total } = stateTable(await namedStates(client), await columnStates(client));
    expect(total).toBeGreaterThan(NAMED_STATES.length);
    expect(missing).toEqual([]);
  });

  it("keeps every deactivated user consistent: no live membership, offline, no status, notifications off", async () => {
    const { rows: all } = await client.query(`SELECT id FROM users WHERE deleted_at IS NOT NULL ORDER BY id`);
    const { rows: consistent } = await client.query(
      `SELECT u.id FROM users u ${DEACTIVATED_CONSISTENT("u")} ORDER BY u.id`,
    );
    expect(all.length).toBeGreaterThan(0);
    expect(consistent).toEqual(all);
  });

  it("gives every test user all four read states: caught up, a few unread, many unread, never opened", async () => {
    const { rows } = await client.query<ReadRow>(READ_STATES_SQL, [testUsers]);
    for (const username of testUsers) {
      const theirs = rows.filter((r) => r.username === username);
      expect(
        theirs.map((r) => r.state),
        `${username}: ${JSON.stringify(theirs)}`,
      ).toEqual(expect.arrayContaining(["caught up", "a few unread", "many unread", "never opened"]));
    }
  });

  it(`has the state table of ${DOC} as the seeded data gives it (WRITE_STATE_TABLE=1 rewrites it)`, async () => {
    const { markdown } = stateTable(await namedStates(client), await columnStates(client));
    const doc = readFileSync(DOC, "utf8");
    const start = doc.indexOf(BEGIN);
    const end = doc.indexOf(END);
    expect(start, `${DOC} has no state table markers: add\n${BEGIN}\n${END}`).toBeGreaterThanOrEqual(0);
    const current = doc.slice(start, end + END.length);
    if (process.env.WRITE_STATE_TABLE === "1" && current !== markdown)
      writeFileSync(DOC, doc.slice(0, start) + markdown + doc.slice(end + END.length));
    else
      expect(
        current,
        `${DOC} is out of date: paste this table (or run with WRITE_STATE_TABLE=1)\n\n${markdown}\n`,
      ).toBe(markdown);
  });
});
