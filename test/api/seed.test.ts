import { describe, expect, it } from "vitest";
import { insertOrder } from "../../src/core/datamodel.ts";
import { estimateRows } from "../../src/plan/plan.ts";
import { CANONICAL_USERS } from "../../src/plan/builders/canonical.ts";
import { INTEGRITY_CHECKS, runIntegrityChecks } from "../../src/write/integrity.ts";
import { isSeedLogEvent, type SeedLogEvent } from "../../src/core/log.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

const db = useTestDatabase("seed");
const seed = (options: Parameters<typeof seedDatabase>[0] = {}) =>
  seedDatabase({ env: {}, databaseUrl: db.url, ...options });
const integrity = async () => {
  const pg = await import("pg");
  const client = new pg.default.Client({ connectionString: db.url });
  await client.connect();
  try {
    return await runIntegrityChecks(async <T>(sql: string) => (await client.query(sql)).rows as T[]);
  } finally {
    await client.end();
  }
};

describe("seedDatabase", () => {
  it("writes the canonical development data with exactly the documented values", async () => {
    await seed({ profile: "minimal" });
    const users = await query(db, `SELECT username, auth0_id, email, full_name FROM users ORDER BY username`);
    expect(users).toEqual(
      CANONICAL_USERS.map((u) => ({
        username: u.username,
        auth0_id: u.auth0Id,
        email: u.email,
        full_name: u.fullName,
      })),
    );
    const [general] = await query(
      db,
      `SELECT c.type, c.description, u.username AS creator,
              (SELECT array_agg(u2.username || ':' || m.role ORDER BY u2.username) FROM channel_members m JOIN users u2 ON u2.id = m.user_id WHERE m.channel_id = c.id) AS members
         FROM channels c JOIN users u ON u.id = c.created_by WHERE c.name = 'general'`,
    );
    expect(general).toEqual({
      type: "public",
      description: "General discussion channel",
      creator: "testuser1",
      members: ["testuser1:owner", "testuser2:member", "testuser3:member"],
    });
    const messages = await query(
      db,
      `SELECT u.username, m.content FROM messages m JOIN users u ON u.id = m.user_id ORDER BY m.created_at`,
    );
    expect(messages).toEqual([
      { username: "testuser1", content: "Welcome to ChatGenius! 👋" },
      { username: "testuser2", content: "Thanks for having me here!" },
    ]);
    const settings = await query(
      db,
      `SELECT s.theme, s.notifications, s.offline_sync, st.presence FROM users u JOIN user_settings s ON s.user_id = u.id JOIN user_status st ON st.user_id = u.id`,
    );
    expect(settings).toEqual(
      Array(3).fill({
        theme: "light",
        notifications: { enabled: true, email: true },
        offline_sync: { file_sync_days: 7, message_sync_days: 7 },
        presence: "online",
      }),
    );
  });

  it.each([
    ["minimal", {}],
    ["dev", {}],
    ["dev at scale 3 with another seed", { scale: 3, seed: 77 }],
  ] as const)("leaves every application rule holding in SQL for %s", async (profile, extra) => {
    const summary = await seed({ profile: profile.startsWith("dev") ? "dev" : "minimal", ...extra });
    expect(summary.integrity.map((r) => r.id)).toEqual(INTEGRITY_CHECKS.map((c) => c.id));
    expect(summary.integrity.filter((r) => r.violations > 0)).toEqual([]);
    const again = await integrity();
    expect(again.filter((r) => r.violations > 0)).toEqual([]);
    const counts = await query<{ n: number }>(db, `SELECT count(*)::int AS n FROM messages`);
    expect(counts[0]!.n).toBe(summary.tables.find((t) => t.table === "messages")!.rows);
  });

  it("has integrity checks that fail on a reply moved to another channel and a DM with a third member", async () => {
    await seed({ profile: "dev" });
    // A reply moved to another channel and a DM with a third member: what the checks exist for.
    await query(
      db,
      `UPDATE messages SET channel_id = (SELECT id FROM channels WHERE name = 'general') WHERE id = (SELECT id FROM messages WHERE thread_id IS NOT NULL AND channel_id <> (SELECT id FROM channels WHERE name = 'general') ORDER BY id LIMIT 1)`,
    );
    await query(
      db,
      `INSERT INTO channel_members (id, channel_id, user_id, role) SELECT '01JZZZZZZZZZZZZZZZZZZZZZZZ', c.id, u.id, 'member' FROM channels c, users u WHERE c.type = 'dm' AND u.username = 'testuser3' AND NOT EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = c.id AND m.user_id = u.id) ORDER BY c.id LIMIT 1`,
    );
    const failed = (await integrity()).filter((r) => r.violations > 0).map((r) => r.id);
    expect(failed).toEqual(expect.arrayContaining(["reply-same-channel", "dm-two-members"]));
  });

  it("leaves identical contents in every table when run twice", async () => {
    await seed({ profile: "dev", seed: 31 });
    const first = await snapshot(db);
    await seed({ profile: "dev", seed: 31 });
    expect(await snapshot(db)).toEqual(first);
    expect(first.messages!.rows).toBeGreaterThanOrEqual(1000);
  });

  it("replaces rows that existed before the run", async () => {
    await seed({ profile: "minimal" });
    await query(
      db,
      `INSERT INTO users (id, auth0_id, email, username, full_name) VALUES ('01JZZZZZZZZZZZZZZZZZZZZZZZ', 'auth0|ffffffffffffffffffffffff', 'stray@example.com', 'stray', 'Stray Row')`,
    );
    const summary = await seed({ profile: "minimal" });
    expect(summary.tables.find((t) => t.table === "users")).toMatchObject({ rows: 3, removed: 4 });
    expect(await query(db, `SELECT 1 FROM users WHERE username = 'stray'`)).toEqual([]);
  });

  it("reports every step as a SeedLogEvent", async () => {
    const events: SeedLogEvent[] = [];
    await seed({ profile: "minimal", sink: (e) => events.push(e) });
    expect(events.every(isSeedLogEvent)).toBe(true);
    expect(events[0]).toMatchObject({
      operation: "start",
      details: { step: "run", profile: "minimal", target: db.target },
    });
    expect(events.filter((e) => e.operation === "cleanup").map((e) => e.details.table)).toEqual(
      insertOrder()
        .map((t) => t.name)
        .reverse(),
    );
    expect(events.filter((e) => e.operation === "insert").map((e) => e.details.table)).toEqual(
      insertOrder().map((t) => t.name),
    );
    expect(events.map((e) => `${e.operation}:${e.details.action ?? e.details.step}`)).toEqual(
      expect.arrayContaining(["start:begin", "complete:commit", "complete:run"]),
    );
    expect(events.at(-1)).toMatchObject({
      operation: "complete",
      details: { step: "run", totalRows: estimateRows({ profile: "minimal" }) },
    });
  });

  it("writes nothing on a dry run and still returns the plan", async () => {
    await seed({ profile: "minimal" });
    const before = await snapshot(db);
    const summary = await seed({ profile: "dev", dryRun: true });
    expect(summary.dryRun).toBe(true);
    expect(summary.tables.map((t) => t.table)[0]).toBe("users");
    expect(summary.totalRows).toBeGreaterThan(2000);
    expect(await snapshot(db)).toEqual(before);
  });
});
