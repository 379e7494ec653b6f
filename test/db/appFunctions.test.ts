import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrateDatabase } from "../../src/api/reset.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { ALL_TABLES } from "../../src/core/datamodel.ts";
import { APP_OBJECTS } from "../../src/db/appObjects.ts";
import { readMigrations } from "../../src/db/migrations.ts";
import { estimateRows } from "../../src/plan/plan.ts";
import { buildCanonical } from "../../src/plan/builders/canonical.ts";
import { ulidTime } from "../../src/plan/ulid.ts";
import { APP_VALIDATORS, CHANNEL_NAME } from "../../src/plan/validators.ts";
import { RollbackPool } from "../../src/testing/rollback.ts";
import { useTestDatabase } from "../helpers/db.ts";
import { withEmbeddedDatabase } from "../helpers/embedded.ts";

const db = useTestDatabase("app_functions");
const [testuser1, testuser2] = buildCanonical().users;

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
});

/** Runs `body` in a transaction that is rolled back, so every test sees the seeded database. */
async function inTransaction<T>(body: (c: pg.Client) => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    return await body(client);
  } finally {
    await client.query("ROLLBACK");
  }
}

const one = async <T extends pg.QueryResultRow = pg.QueryResultRow>(
  c: pg.ClientBase,
  sql: string,
  params: unknown[] = [],
): Promise<T> => (await c.query<T>(sql, params)).rows[0]!;

describe("the ChatGenius server's functions on a freshly seeded database", () => {
  it("syncs a known Auth0 user to its seeded id and takes the identity provider's current profile", async () => {
    await inTransaction(async (c) => {
      const seeded = await one(c, `SELECT id, updated_at FROM users WHERE auth0_id = $1`, [testuser1!.auth0Id]);
      const { user_id } = await one(c, `SELECT sync_auth0_user($1, $2, $3, $4, $5) AS user_id`, [
        testuser1!.auth0Id,
        "renamed@example.com",
        "testuser1",
        "Test User One",
        "https://avatars.example.com/1.png",
      ]);
      expect(user_id).toBe(seeded.id);
      const after = await one(
        c,
        `SELECT email, full_name, avatar_url, updated_at, now() AS now FROM users WHERE id = $1`,
        [user_id],
      );
      expect(after).toMatchObject({
        email: "renamed@example.com",
        full_name: "Test User One",
        avatar_url: "https://avatars.example.com/1.png",
      });
      expect(after.updated_at).toEqual(after.now);
      expect(after.updated_at.getTime()).toBeGreaterThan(seeded.updated_at.getTime());
      expect((await one(c, `SELECT count(*)::int AS n FROM users WHERE auth0_id = $1`, [testuser1!.auth0Id])).n).toBe(
        1,
      );
    });
  });

  it("gives a new Auth0 user a fresh ULID id whose time is its created_at, and a user row", async () => {
    await inTransaction(async (c) => {
      const { user_id } = await one(c, `SELECT sync_auth0_user($1, $2, $3, $4, $5) AS user_id`, [
        "auth0|0123456789abcdef01234567",
        "ada@example.com",
        "ada",
        "Ada Lovelace",
        null,
      ]);
      expect(user_id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
      const row = await one(c, `SELECT username, email, full_name, avatar_url, created_at FROM users WHERE id = $1`, [
        user_id,
      ]);
      expect(row).toMatchObject({
        username: "ada",
        email: "ada@example.com",
        full_name: "Ada Lovelace",
        avatar_url: null,
      });
      expect(ulidTime(user_id)).toBe(row.created_at.getTime());
    });
  });

  it("inserts a new user with the id the six-argument form names", async () => {
    await inTransaction(async (c) => {
      const id = "01JHZZZZZZZZZZZZZZZZZZZZZZ";
      const { user_id } = await one(c, `SELECT sync_auth0_user($1, $2, $3, $4, $5, $6) AS user_id`, [
        id,
        "google-oauth2|112233445566778899001",
        "grace@example.com",
        "grace",
        "Grace Hopper",
        null,
      ]);
      expect(user_id).toBe(id);
      expect((await one(c, `SELECT auth0_id FROM users WHERE id = $1`, [id])).auth0_id).toBe(
        "google-oauth2|112233445566778899001",
      );
    });
  });

  it("makes one row when the same new user signs in on two connections at once", async () => {
    const auth0Id = "auth0|00000000000000000000c0de";
    const others = await Promise.all(
      [0, 1].map(async () => {
        const c = new pg.Client({ connectionString: db.url });
        await c.connect();
        return c;
      }),
    );
    try {
      const ids = await Promise.all(
        others.map(
          async (c, i) =>
            (
              await one(c, `SELECT sync_auth0_user($1, $2, $3, $4, $5) AS user_id`, [
                auth0Id,
                "twice@example.com",
                `twice${i}`,
                "Twice",
                null,
              ])
            ).user_id,
        ),
      );
      expect(ids[0]).toBe(ids[1]);
      expect((await one(client, `SELECT count(*)::int AS n FROM users WHERE auth0_id = $1`, [auth0Id])).n).toBe(1);
    } finally {
      await client.query(`DELETE FROM users WHERE auth0_id = $1`, [auth0Id]);
      await Promise.all(others.map((c) => c.end()));
    }
  });

  it("makes one row when two first sign-ins of a user pass each other mid-insert", async () => {
    // Two first sign-ins can pass each other only in the instant between one's auth0_id check and
    // its insert. A third session holding an uncommitted row with the id both sign-ins name (the
    // six-argument form) holds the first one up at the primary key, after that check; the second
    // then starts. With the function's advisory lock it waits for the first and takes the update
    // path; without it, it passes the check too and fails on a key once the first commits.
    const id = "01JHZZZZZZZZZZZZZZZZZZZZZY";
    const auth0Id = "auth0|00000000000000000000beef";
    const connect = async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      return c;
    };
    const [holder, first, second] = [await connect(), await connect(), await connect()];
    const waiting = async (c: pg.Client) => {
      const pid = (c as unknown as { processID: number }).processID;
      for (let i = 0; i < 200; i++) {
        const row = await one(client, `SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1`, [pid]);
        if (row?.wait_event_type === "Lock") return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`session ${pid} never waited for a lock`);
    };
    const signIn = (c: pg.Client, username: string) =>
      one(c, `SELECT sync_auth0_user($1, $2, $3, $4, $5, $6) AS user_id`, [
        id,
        auth0Id,
        "passing@example.com",
        username,
        "Passing",
        null,
      ]).then((r) => r.user_id as string);
    try {
      await holder.query("BEGIN");
      await holder.query(
        `INSERT INTO users (id, auth0_id, email, username, full_name) VALUES ($1, 'auth0|00000000000000000000f00d', 'holder@example.com', 'holder', 'Holder')`,
        [id],
      );
      const firstSignIn = signIn(first, "passing0");
      await waiting(first);
      const secondSignIn = signIn(second, "passing1");
      await waiting(second);
      await holder.query("ROLLBACK");
      const results = await Promise.allSettled([firstSignIn, secondSignIn]);
      expect(results).toEqual([
        { status: "fulfilled", value: id },
        { status: "fulfilled", value: id },
      ]);
      expect((await one(client, `SELECT count(*)::int AS n FROM users WHERE auth0_id = $1`, [auth0Id])).n).toBe(1);
    } finally {
      await holder.query("ROLLBACK").catch(() => {});
      await client.query(`DELETE FROM users WHERE auth0_id = $1`, [auth0Id]);
      await Promise.all([holder, first, second].map((c) => c.end()));
    }
  });

  it("orders ULIDs by the millisecond they were made in, and encodes it", async () => {
    // One every 7 ms across two seconds: within a second, only the time part can order them.
    const { rows } = await client.query<{ id: string; at: Date }>(
      `SELECT generate_ulid(t) AS id, t AS at FROM generate_series(timestamptz '2026-01-01 00:00:00+00', timestamptz '2026-01-01 00:00:02+00', interval '7 ms') AS t ORDER BY t`,
    );
    expect(rows.length).toBeGreaterThan(250);
    expect(rows.map((r) => r.id)).toEqual(rows.map((r) => r.id).sort());
    for (const { id, at } of rows) expect(ulidTime(id)).toBe(at.getTime());
    // generate_ulid() takes the clock: ids made one after another, a few ms apart, sort in that order.
    const made: string[] = [];
    for (let i = 0; i < 20; i++) {
      made.push((await one(client, `SELECT generate_ulid() AS id`)).id);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    expect(made).toEqual([...made].sort());
  });

  it("generates distinct, time-ordered ULIDs", async () => {
    const { rows } = await client.query<{ id: string }>(`SELECT generate_ulid() AS id FROM generate_series(1, 200)`);
    expect(new Set(rows.map((r) => r.id)).size).toBe(200);
    for (const { id } of rows) expect(id).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
    const { now } = await one(client, `SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`);
    expect(Math.abs(ulidTime(rows[0]!.id) - Number(now))).toBeLessThan(60_000);
  });
});

describe("the ChatGenius server's triggers", () => {
  const withUpdatedAt = ALL_TABLES.filter((t) => t.seeded && t.columns.some((c) => c.name === "updated_at"));

  it.each(withUpdatedAt.map((t) => t.name))(
    "moves updated_at on an UPDATE of %s, whatever the statement sets it to",
    async (table) => {
      await inTransaction(async (c) => {
        const row = await one(c, `SELECT id FROM "${table}" ORDER BY id LIMIT 1`);
        const after = await one(
          c,
          `UPDATE "${table}" SET updated_at = '2001-01-01' WHERE id = $1 RETURNING updated_at, now() AS now`,
          [row.id],
        );
        expect(after.updated_at).toEqual(after.now);
      });
    },
  );

  it("refuses to archive an archived channel again with the app's message, and leaves it as it was", async () => {
    const archived = await one(
      client,
      `SELECT id, archived_at, archived_by, updated_at FROM channels WHERE archived_at IS NOT NULL ORDER BY id LIMIT 1`,
    );
    const other = await one(client, `SELECT id FROM users WHERE id <> $1 AND deleted_at IS NULL ORDER BY id LIMIT 1`, [
      archived.archived_by,
    ]);
    await expect(
      client.query(`UPDATE channels SET archived_at = now(), archived_by = $2 WHERE id = $1`, [archived.id, other.id]),
    ).rejects.toThrow("Cannot modify archived channel");
    await expect(
      client.query(`UPDATE channels SET description = 'changed' WHERE id = $1`, [archived.id]),
    ).rejects.toThrow("Cannot modify archived channel");
    expect(
      await one(client, `SELECT id, archived_at, archived_by, updated_at FROM channels WHERE id = $1`, [archived.id]),
    ).toEqual(archived);
  });

  it("lets a live channel be archived once", async () => {
    await inTransaction(async (c) => {
      const live = await one(
        c,
        `SELECT id, created_by FROM channels WHERE archived_at IS NULL AND type = 'public' ORDER BY id LIMIT 1`,
      );
      await c.query(`UPDATE channels SET archived_at = now(), archived_by = $2 WHERE id = $1`, [
        live.id,
        live.created_by,
      ]);
      await expect(c.query(`UPDATE channels SET archived_by = NULL WHERE id = $1`, [live.id])).rejects.toThrow(
        "Cannot modify archived channel",
      );
    });
  });

  it("keeps working inside RollbackPool's per-test transaction, and the rollback restores updated_at", async () => {
    const pool = new RollbackPool({ connectionString: db.url });
    try {
      const before = await one(client, `SELECT id, updated_at FROM messages ORDER BY id LIMIT 1`);
      await pool.begin();
      const moved = await one(
        pool as unknown as pg.ClientBase,
        `UPDATE messages SET edited = true WHERE id = $1 RETURNING updated_at`,
        [before.id],
      );
      expect(moved.updated_at.getTime()).toBeGreaterThan(before.updated_at.getTime());
      await pool.rollback();
      expect((await one(client, `SELECT updated_at FROM messages WHERE id = $1`, [before.id])).updated_at).toEqual(
        before.updated_at,
      );
    } finally {
      await pool.end();
    }
  });
});

describe("what the ChatGenius server reads and writes, on the seeded data", () => {
  it("lists a user's channels (DMs included), all inside the app's channel-name validator", async () => {
    const { rows } = await client.query(
      `SELECT c.name, c.type, cm.role FROM channels c JOIN channel_members cm ON cm.channel_id = c.id
        WHERE cm.user_id = $1 AND cm.deleted_at IS NULL AND c.deleted_at IS NULL ORDER BY c.name`,
      [testuser1!.id],
    );
    expect(rows).toContainEqual({ name: "general", type: "public", role: "owner" });
    expect(rows.some((r) => r.type === "dm")).toBe(true);
    for (const r of rows) expect(r.name).toMatch(CHANNEL_NAME);
  });

  it("lists the public channels a user can join and a channel's members", async () => {
    const { rows: publicChannels } = await client.query(
      `SELECT name FROM channels WHERE type = 'public' AND deleted_at IS NULL AND archived_at IS NULL ORDER BY name`,
    );
    expect(publicChannels.map((r) => r.name)).toEqual(
      expect.arrayContaining(["general", "random", "engineering", "design", "product", "announcements"]),
    );
    expect(publicChannels.map((r) => r.name)).not.toContain("support");
    const { rows: members } = await client.query(
      `SELECT u.username, cm.role FROM channel_members cm JOIN users u ON u.id = cm.user_id JOIN channels c ON c.id = cm.channel_id
        WHERE c.name = 'general' AND cm.deleted_at IS NULL AND u.deleted_at IS NULL ORDER BY u.username`,
    );
    expect(members).toEqual(
      expect.arrayContaining([
        { username: "testuser1", role: "owner" },
        { username: "testuser2", role: "member" },
        { username: "testuser3", role: "member" },
      ]),
    );
  });

  it("posts a message and a reply with generate_ulid(), reads the thread back and finds the message", async () => {
    await inTransaction(async (c) => {
      const general = await one(c, `SELECT id FROM channels WHERE name = 'general'`);
      const root = await one(
        c,
        `INSERT INTO messages (id, channel_id, user_id, content) VALUES (generate_ulid(), $1, $2, $3) RETURNING id, created_at, edited, thread_id`,
        [general.id, testuser1!.id, "Who has the release checklist?"],
      );
      expect(root).toMatchObject({ edited: false, thread_id: null });
      const reply = await one(
        c,
        `INSERT INTO messages (id, channel_id, user_id, content, thread_id) VALUES (generate_ulid(), $1, $2, $3, $4) RETURNING id`,
        [general.id, testuser2!.id, "It's pinned in #general", root.id],
      );
      const thread = await c.query(
        `SELECT m.content, u.username FROM messages m JOIN users u ON u.id = m.user_id WHERE m.thread_id = $1 AND m.deleted_at IS NULL ORDER BY m.created_at, m.id`,
        [root.id],
      );
      expect(thread.rows).toEqual([{ content: "It's pinned in #general", username: "testuser2" }]);
      expect(reply.id > root.id).toBe(true);
      const found = await c.query(
        `SELECT id FROM messages WHERE content ILIKE '%' || $1 || '%' AND deleted_at IS NULL`,
        ["release checklist"],
      );
      expect(found.rows.map((r) => r.id)).toContain(root.id);
    });
  });

  it("holds no row the app's validators refuse or hide (checked in SQL)", async () => {
    for (const validator of APP_VALIDATORS) {
      const { rows } = await client.query(validator.sql);
      expect({ validator: validator.id, offending: rows.length }).toEqual({ validator: validator.id, offending: 0 });
    }
  });
});

describe("the live-schema check", () => {
  const broken = useTestDatabase("app_functions_missing");

  it("refuses a database without the app's functions and triggers, and db:migrate brings them back", async () => {
    const c = new pg.Client({ connectionString: broken.url });
    await c.connect();
    try {
      await c.query(
        `DROP FUNCTION sync_auth0_user(varchar, varchar, varchar, varchar, text); DROP TRIGGER channels_archived_read_only ON channels`,
      );
      const before = await c.query(`SELECT count(*)::int AS n FROM messages`);
      await expect(seedDatabase({ env: {}, databaseUrl: broken.url, profile: "minimal" })).rejects.toMatchObject({
        code: "SCHEMA_MISMATCH",
        message: expect.stringMatching(
          /sync_auth0_user\(5 arguments\).*channels_archived_read_only on channels.*npm run db:migrate/,
        ),
      });
      expect((await c.query(`SELECT count(*)::int AS n FROM messages`)).rows).toEqual(before.rows);
      await migrateDatabase({ env: {}, databaseUrl: broken.url });
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM _prisma_migrations`);
      expect(rows[0].n).toBe(readMigrations().length);
      await expect(seedDatabase({ env: {}, databaseUrl: broken.url, profile: "minimal" })).resolves.toMatchObject({
        totalRows: estimateRows({ profile: "minimal" }),
      });
      // The trigger is back: a channel archived now is read-only from then on.
      await expect(
        c.query(`UPDATE channels SET archived_at = now(), archived_by = created_by WHERE name = 'general'`),
      ).resolves.toMatchObject({ rowCount: 1 });
      await expect(c.query(`UPDATE channels SET name = 'x' WHERE name = 'general'`)).rejects.toThrow(
        "Cannot modify archived channel",
      );
    } finally {
      await c.end();
    }
  });

  it("expects a trigger on every table with updated_at, and both forms of sync_auth0_user", () => {
    const triggers = APP_OBJECTS.filter((o) => o.kind === "trigger").map((o) => o.name);
    expect(triggers).toContain("channels_archived_read_only");
    for (const table of ALL_TABLES.filter((t) => t.seeded)) expect(triggers).toContain(`${table.name}_set_updated_at`);
    expect(APP_OBJECTS.filter((o) => o.name === "sync_auth0_user").map((o) => o.of)).toEqual([5, 6]);
  });
});

describe("the app's functions and triggers on the embedded database", () => {
  it("syncs users, sets updated_at and keeps archived channels read-only there too", async () => {
    await withEmbeddedDatabase("app-functions", "minimal", async (c) => {
      expect(
        (
          await one(c, `SELECT sync_auth0_user($1, $2, $3, $4, $5) AS id`, [
            testuser1!.auth0Id,
            testuser1!.email,
            "testuser1",
            "Test User 1",
            null,
          ])
        ).id,
      ).toBe(testuser1!.id);
      const fresh = (
        await one(c, `SELECT sync_auth0_user($1, $2, $3, $4, $5) AS id`, [
          "auth0|0123456789abcdef0123abcd",
          "new@example.com",
          "new",
          "New",
          null,
        ])
      ).id;
      expect(fresh).toMatch(/^[0-7][0-9A-HJKMNP-TV-Z]{25}$/);
      const general = await one(
        c,
        `UPDATE channels SET archived_at = now(), archived_by = created_by WHERE name = 'general' RETURNING updated_at, now() AS now`,
      );
      expect(general.updated_at).toEqual(general.now);
      await expect(c.query(`UPDATE channels SET description = 'x' WHERE name = 'general'`)).rejects.toThrow(
        "Cannot modify archived channel",
      );
    });
  });
});
