import { readFileSync, writeFileSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TABLES } from "../../src/core/datamodel.ts";
import { datamodel } from "../../src/generated/datamodel.ts";
import {
  deactivatedConsistent,
  formatNamedStates,
  READ_STATES_SQL,
  workspaceStates,
  type WorkspaceStates,
} from "../../src/monitoring/states.ts";
import { CANONICAL_USERS } from "../../src/plan/builders/canonical.ts";
import { useTestDatabase } from "../helpers/db.ts";

// The dev workspace must hold every state the app has code for (src/monitoring/states.ts finds
// them; `db:report --states` prints them). The named-state table of docs/dev-workspace.md is
// that table on the template database (dev profile, default seed): when the data changes, the
// test fails with the fresh table to paste, or writes it with WRITE_STATE_TABLE=1. The columns'
// states are not in the page: a new column or table leaves it as it is.

const db = useTestDatabase("states");
const DOC = "docs/dev-workspace.md";
const BEGIN = "<!-- state-table:begin (written by test/plan/states.test.ts) -->";
const END = "<!-- state-table:end -->";
const testUsers = CANONICAL_USERS.map((u) => u.username);

let client: pg.Client;
let states: WorkspaceStates;
beforeAll(async () => {
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  states = await workspaceStates(client);
});
afterAll(async () => {
  await client?.end();
});

interface ReadRow {
  username: string;
  name: string;
  unread: number;
  state: string | null;
}

describe("the dev workspace holds every state the app has code for", () => {
  it("finds the same nullable, enum and boolean columns in the live catalog as in the Prisma datamodel", () => {
    const fromModel = TABLES.flatMap((t) =>
      t.columns.flatMap((col) => [
        ...(!col.isRequired || col.isList ? [`${t.name}.${col.name}`] : []),
        ...(col.type === "Boolean" ? [`${t.name}.${col.name}`] : []),
        ...(col.kind === "enum" ? [`${t.name}.${col.name}`] : []),
      ]),
    );
    expect(states.columns.map((c) => c.column).sort()).toEqual(fromModel.sort());
    for (const e of datamodel.enums) {
      const used = states.columns.filter((c) => c.seen.map((s) => s.value).join() === e.values.join());
      expect(used.length, `enum ${e.dbName}: every value in the catalog and in the datamodel`).toBeGreaterThan(0);
    }
  });

  it("covers 100% of the states: nullable columns NULL and set, every enum value, both booleans, every named state", () => {
    expect(states.total).toBeGreaterThan(states.named.length + TABLES.length);
    expect(states.missing).toEqual([]);
  });

  it("counts each column's states as plain queries over its table do", async () => {
    const count = async (sql: string) => (await client.query<{ n: number }>(sql)).rows[0]!.n;
    const seen = (column: string) => states.columns.find((c) => c.column === column)!.seen;
    expect(seen("messages.deleted_at")).toEqual([
      { value: "NULL", rows: await count("SELECT count(*)::int AS n FROM messages WHERE deleted_at IS NULL") },
      { value: "set", rows: await count("SELECT count(*)::int AS n FROM messages WHERE deleted_at IS NOT NULL") },
    ]);
    expect(seen("messages.edited")).toEqual([
      { value: "true", rows: await count("SELECT count(*)::int AS n FROM messages WHERE edited") },
      { value: "false", rows: await count("SELECT count(*)::int AS n FROM messages WHERE NOT edited") },
    ]);
    const presence = await client.query<{ value: string; rows: number }>(
      "SELECT e.enumlabel AS value, (SELECT count(*)::int FROM user_status s WHERE s.presence::text = e.enumlabel) AS rows FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = 'presence' ORDER BY e.enumsortorder",
    );
    expect(presence.rows.length).toBeGreaterThan(1);
    expect(seen("user_status.presence")).toEqual(presence.rows);
  });

  it("names what is missing when a state is gone: the named state and the column's value", async () => {
    await client.query("BEGIN");
    try {
      await client.query("UPDATE channels SET deleted_at = NULL WHERE deleted_at IS NOT NULL");
      const gone = await workspaceStates(client);
      expect(gone.missing).toEqual(["a soft-deleted channel, with its history", "channels.deleted_at set"]);
      expect(gone.total).toBe(states.total);
      expect(gone.named.find((n) => n.state === gone.missing[0])!.places).toEqual([]);
    } finally {
      await client.query("ROLLBACK");
    }
  });

  it("keeps every deactivated user consistent: no live membership, offline, no status, notifications off", async () => {
    const { rows: all } = await client.query(`SELECT id FROM users WHERE deleted_at IS NOT NULL ORDER BY id`);
    const { rows: consistent } = await client.query(
      `SELECT u.id FROM users u ${deactivatedConsistent("u")} ORDER BY u.id`,
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

  it(`has the named-state table of ${DOC} as the seeded data gives it (WRITE_STATE_TABLE=1 rewrites it)`, () => {
    const markdown = [BEGIN, formatNamedStates(states.named), END].join("\n");
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
