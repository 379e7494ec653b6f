import { execFileSync } from "node:child_process";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PrismaClient } from "../../src/generated/prisma/client.ts";
import { TABLES, tableOf, type ModelName } from "../../src/core/datamodel.ts";
import { relationsOf } from "../../src/plan/builders/draw.ts";
import { REACTION_EMOJI } from "../../src/plan/builders/reactions.ts";
import { validateRows } from "../../src/plan/validate.ts";
import { buildCanonical } from "../../src/plan/builders/canonical.ts";
import { identityAvatar } from "../../src/plan/builders/users.ts";
import { RULES } from "../../src/plan/rules.ts";
import { ulidTime } from "../../src/plan/ulid.ts";
import { APP_VALIDATORS, CHANNEL_NAME, FILE_LIMITS } from "../../src/plan/validators.ts";
import { scenario, SCENARIO_RULES, type Handle, type Scenario } from "../../src/scenario/index.ts";
import { RollbackPool } from "../../src/testing/rollback.ts";
import { snapshot, useTestDatabase } from "../helpers/db.ts";
import { withEmbeddedDatabase } from "../helpers/embedded.ts";

const db = useTestDatabase("scenario");
const [testuser1, testuser2, testuser3] = buildCanonical().users;
let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(() => client?.end());

/** Writes inside a transaction that is rolled back: every test sees the seeded database. */
async function inRollback<T>(body: (c: pg.Client) => Promise<T>): Promise<T> {
  await client.query("BEGIN");
  try {
    return await body(client);
  } finally {
    await client.query("ROLLBACK");
  }
}

/** The example: a private channel, three members, a five-reply thread and a reaction. */
function privateThread(options: Parameters<typeof scenario>[0] = {}) {
  const s = scenario(options);
  const ops = s.channel({ traits: ["private"], members: 3 });
  const root = s.message({ channel: ops, replies: 5, key: "root" });
  const reaction = s.reaction({ message: root });
  return { s, ops, root, reaction };
}

describe("a scenario's rows", () => {
  it("fills every omitted field with real data that keeps the app's rules", () => {
    const { s, ops, root, reaction } = privateThread();
    const planned = s.plan();
    const channel = planned.get(ops);
    expect(channel).toMatchObject({ type: "private", createdBy: testuser1!.id, deletedAt: null, archivedAt: null });
    expect(channel.name).toMatch(CHANNEL_NAME);
    expect(planned.rows.ChannelMember.map((m) => [m.userId, m.role])).toEqual([
      [testuser1!.id, "owner"],
      [testuser2!.id, "member"],
      [testuser3!.id, "member"],
    ]);
    const message = planned.get(root);
    const replies = planned.rows.Message.filter((m) => m.threadId === message.id);
    expect(replies).toHaveLength(5);
    for (const reply of replies) {
      expect(reply.channelId).toBe(channel.id);
      expect(new Date(reply.createdAt!).getTime()).toBeGreaterThan(new Date(message.createdAt!).getTime());
      expect(reply.content).not.toMatch(/lorem|\{/i);
    }
    expect(new Set(replies.map((r) => r.content)).size).toBe(5);
    expect([testuser1!.id, testuser2!.id, testuser3!.id]).toContain(planned.get(reaction).userId);
    for (const [model, rows] of Object.entries(planned.rows)) {
      for (const row of rows as { id: string; createdAt: Date }[])
        expect(ulidTime(row.id), `${model} ${row.id}`).toBe(row.createdAt.getTime());
    }
  });

  it("gives every new user Auth0-shaped ids and the settings and status rows the app expects", () => {
    const s = scenario();
    const [ada, grace] = s.users(2, (i) => ({ traits: i === 1 ? ["google"] : [] }));
    const planned = s.plan();
    expect(planned.get(ada!).auth0Id).toMatch(/^auth0\|[0-9a-f]{24}$/);
    expect(planned.get(grace!).auth0Id).toMatch(/^google-oauth2\|1[0-9]{20}$/);
    expect(planned.rows.UserSettings.map((r) => r.userId)).toEqual([planned.get(ada!).id, planned.get(grace!).id]);
    expect(planned.rows.UserStatus.map((r) => r.userId)).toEqual([planned.get(ada!).id, planned.get(grace!).id]);
    expect(planned.get(ada!).email).not.toBe(planned.get(grace!).email);
    // The avatar Auth0 sends as `picture`, made by the seed's own user maker: Gravatar for a database account.
    expect(planned.get(ada!).avatarUrl).toMatch(/^https:\/\/s\.gravatar\.com\/avatar\/[0-9a-f]{32}\?s=480&r=pg&d=/);
    expect(planned.get(grace!).avatarUrl).toMatch(/^https:\/\/lh3\.googleusercontent\.com\//);
    const renamed = scenario();
    const qa = renamed.user({ email: "qa.lead@example.org" });
    expect(renamed.plan().get(qa).avatarUrl).toBe(identityAvatar(renamed.plan().get(qa)));
  });

  it("takes sequences for unique fields and traits for the shapes the app cares about", () => {
    const s = scenario();
    const qa = s.users(3, (i) => ({ email: `qa${i}@example.org` }));
    const dm = s.channel({ traits: ["dm"], members: [qa[0]!, qa[1]!] });
    const archived = s.channel({ traits: ["archived"], members: qa });
    const edited = s.message({ channel: dm, traits: ["edited"] });
    const deleted = s.message({ channel: archived, traits: ["deleted"], replies: 2 });
    const planned = s.plan();
    expect(qa.map((u) => planned.get(u).email)).toEqual(["qa0@example.org", "qa1@example.org", "qa2@example.org"]);
    expect(planned.get(dm)).toMatchObject({ type: "dm", createdBy: planned.get(qa[0]!).id });
    expect(planned.get(dm).name).toMatch(CHANNEL_NAME);
    expect(planned.rows.ChannelMember.filter((m) => m.channelId === planned.get(dm).id)).toHaveLength(2);
    expect(planned.get(archived).archivedAt).toBeInstanceOf(Date);
    expect(planned.get(edited).edited).toBe(true);
    // A deleted root hides its thread: its replies go with it.
    const gone = planned.rows.Message.filter((m) => m.threadId === planned.get(deleted).id);
    expect(gone.map((m) => m.deletedAt instanceof Date)).toEqual([true, true]);
  });

  it("creates new parents instead of recycling the baseline's when asked", () => {
    const s = scenario({ recycle: false });
    const message = s.message({ reactions: 2 });
    const planned = s.plan();
    const canonical = new Set(buildCanonical().users.map((u) => u.id));
    expect(canonical.has(planned.get(message).userId)).toBe(false);
    expect(planned.rows.Channel).toHaveLength(1);
    expect(planned.rows.User.length).toBeGreaterThanOrEqual(3);
  });
});

describe("the app's rules hold by construction, and an override that breaks one fails before any write", () => {
  /** One scenario per rule and validator, each breaking exactly that one with an explicit override. */
  const breaking: Record<string, (s: Scenario) => void> = {
    "dm-two-members": (s) => void s.channel({ traits: ["dm"], members: 3 }),
    "dm-owner-is-creator": (s) => {
      const [a, b] = s.users(2);
      const dm = s.channel({ traits: ["dm"], members: [a!, b!] });
      s.channelMember(dm, b!, { role: "owner" });
    },
    "creator-is-owner": (s) => {
      const creator = s.user();
      s.channelMember(s.channel({ members: [creator] }), creator, { role: "member" });
    },
    "author-is-member": (s) => void s.message({ channel: s.channel({ traits: ["private"] }), author: s.user() }),
    "reply-same-channel": (s) => void s.message({ channel: s.channel(), replyTo: s.message({ channel: s.channel() }) }),
    "reply-after-root": (s) =>
      void s.message({ replyTo: s.message({ key: "root" }), createdAt: new Date("2025-01-07T00:00:00Z") }),
    "root-not-reply": (s) => void s.message({ replyTo: s.message({ replyTo: s.message() }) }),
    "reaction-user-sees-channel": (s) =>
      void s.reaction({ message: s.message({ channel: s.channel({ traits: ["private"] }) }), user: s.user() }),
    "read-user-sees-channel": (s) =>
      void s.messageRead({ message: s.message({ channel: s.channel({ traits: ["private"] }) }), user: s.user() }),
    "file-uploader-sees-channel": (s) =>
      void s.file({ message: s.message({ channel: s.channel({ traits: ["private"] }) }), user: s.user() }),
    "muted-channels-joined": (s) =>
      void s.userSettings(s.user(), { mutedChannels: [s.channel({ traits: ["private"] })] }),
    "channel-name": (s) => void s.channel({ name: "Release Train" }),
    "file-size": (s) => void s.file({ message: s.message(), size: BigInt(FILE_LIMITS.maxBytes) + 1n }),
    "file-type": (s) => void s.file({ message: s.message(), type: "video/mp4" }),
    "files-per-message": (s) => void s.message({ files: 6 }),
    "google-id": (s) => void s.user({ auth0Id: "google-oauth2|012345678901234567890" }),
    "reply-reachable": (s) => void s.message({ replyTo: s.message({ traits: ["deleted"] }), deletedAt: null }),
  };

  it("has a breaking case for every rule and validator", () => {
    expect(Object.keys(breaking).sort()).toEqual(
      [...RULES.map((r) => r.id), ...APP_VALIDATORS.map((v) => v.id)].sort(),
    );
    expect([...SCENARIO_RULES].sort()).toEqual(Object.keys(breaking).sort());
  });

  it.each(Object.keys(breaking))(
    "refuses a row that breaks %s, naming it and the row's place; allow lets it through",
    (rule) => {
      const s = scenario();
      breaking[rule]!(s);
      expect(() => s.plan()).toThrowError(
        new RegExp(`^scenario: [a-zA-Z]+\\[\\d+\\].*: ${rule} \\(.*allow: \\["${rule}"`),
      );
      try {
        s.plan();
      } catch (error) {
        expect(error).toMatchObject({ name: "SeedError", code: "INVALID_SCENARIO" });
      }
      const allowed = scenario({ allow: [rule] });
      breaking[rule]!(allowed);
      expect(() => allowed.plan()).not.toThrow();
    },
  );

  it('names a reply by its root: messages[3] (reply to "root")', () => {
    const s = scenario();
    const root = s.message({ key: "root" });
    s.messages(2);
    s.message({ replyTo: root, channel: s.channel() });
    expect(() => s.plan()).toThrow(`messages[3] (reply to "root"): reply-same-channel`);
  });

  it("refuses a database that lacks what the scenario names, changing nothing", async () => {
    const before = await snapshot(db);
    const s = scenario();
    s.message({ author: s.existingUser("nobody.here"), channel: s.existingChannel("general") });
    await expect(s.create(client)).rejects.toMatchObject({
      code: "INVALID_SCENARIO",
      message: expect.stringContaining(`the database holds no user named 'nobody.here'`),
    });
    const t = scenario();
    t.message({ channel: t.existingChannel("no-such-channel") });
    await expect(t.create(client)).rejects.toMatchObject({
      code: "INVALID_SCENARIO",
      message: expect.stringContaining(`no live channel named 'no-such-channel'`),
    });
    expect(await snapshot(db)).toEqual(before);
  });

  it.each([
    ["a count of 0", (s: Scenario) => s.users(0), "users is 0: give a whole number from 1"],
    ["a count of -1", (s: Scenario) => s.messages(-1), "messages is -1"],
    ["a negative thread", (s: Scenario) => s.message({ replies: -1 }), "replies is -1"],
    [
      "an unknown trait",
      (s: Scenario) => s.channel({ traits: ["secret" as "private"] }),
      "channel trait 'secret' is unknown",
    ],
    [
      "a raw id for a handle",
      (s: Scenario) => s.message({ channel: "01JGXDFAM0WTEAQYG0CX7YKY7B" as never }),
      "channel is a raw id",
    ],
    ["an unknown rule to allow", () => scenario({ allow: ["no-such-rule"] }), "allow names 'no-such-rule'"],
  ])("refuses %s with one clear SeedError when declared", (_, declare, message) => {
    expect(() => declare(scenario())).toThrowError(
      expect.objectContaining({ code: "INVALID_SCENARIO", message: expect.stringContaining(message) }),
    );
  });

  it("checks types at compile time", () => {
    const s = scenario();
    const c = s.channel();
    // @ts-expect-error an unknown field
    expect(() => s.channel({ colour: "red" })).toThrow("channel() has no field 'colour'");
    // @ts-expect-error a wrong enum value
    expect(() => s.channel({ type: "secret" })).toThrow("channel() type is 'secret': use one of public, private, dm");
    // @ts-expect-error a raw id where a handle is required
    expect(() => s.message({ channel: "01JGXDFAM0WTEAQYG0CX7YKY7B" })).toThrow();
    // @ts-expect-error a message handle where a channel is required
    expect(() => s.message({ channel: s.message({ channel: c }) })).toThrow("not a Channel");
  });
});

describe("row(): any model of the schema, from its maker", () => {
  /** A row of `model` whose relations are row() rows too, declared parents first (every rule allowed). */
  function rowOf(s: Scenario, model: ModelName): Handle<ModelName> {
    const handles: Record<string, Handle<ModelName>> = {};
    for (const relation of relationsOf(model))
      if (relation.required && relation.model !== model) handles[relation.name] = rowOf(s, relation.model);
    return s.row(model, handles as never);
  }

  it.each(TABLES.map((t) => [t.model] as const))(
    "makes a %s with its foreign keys from the handles, its time after its parents, the rest from the maker",
    (model) => {
      const s = scenario({ allow: SCENARIO_RULES });
      const handle = rowOf(s, model);
      const planned = s.plan();
      const row = planned.get(handle) as unknown as Record<string, unknown>;
      expect(planned.rows[model]).toContain(row);
      expect(ulidTime(String(row.id))).toBe((row.createdAt as Date).getTime());
      for (const relation of relationsOf(model).filter((r) => r.required && r.model !== model)) {
        const parent = planned.rows[relation.model].find((p) => p.id === row[relation.field]);
        expect(parent, `${model}.${relation.field}`).toBeDefined();
        expect((row.createdAt as Date).getTime()).toBeGreaterThan(new Date(parent!.createdAt!).getTime());
      }
      // Every required column has a value, and the rows pass every check but the app's rules.
      for (const column of tableOf(model).columns.filter((c) => c.isRequired && !c.isList))
        expect(row[column.field], `${model}.${column.field}`).not.toBeUndefined();
      expect(validateRows(planned.rows).filter((v) => !SCENARIO_RULES.includes(v.rule))).toEqual([]);
    },
  );

  it("takes the seed's defaults: a reaction's emoji and a message's text, as the seed makes them", async () => {
    const s = scenario();
    const root = s.message();
    const reaction = s.row("Reaction", { message: root, user: s.existingUser("testuser2") });
    const note = s.row("Message", { channel: s.existingChannel("general"), user: s.existingUser("testuser3") });
    const planned = await s.planOn(client);
    expect(REACTION_EMOJI).toContain(planned.get(reaction).emoji);
    expect(planned.get(note).content.length).toBeGreaterThan(10);
    expect(planned.get(note).edited).toBe(false);
  });

  it("hands its users, channels, memberships and messages to the methods that fill in relations", () => {
    const s = scenario();
    const ada = s.row("User", { username: "ada.row" });
    const ops = s.row("Channel", { creator: ada, type: "private", name: "ops-row" });
    s.row("ChannelMember", { channel: ops, user: ada, role: "owner" });
    const root = s.message({ channel: ops });
    const reply = s.message({ replyTo: root });
    const planned = s.plan();
    expect(planned.get(root).userId).toBe(planned.get(ada).id);
    expect(planned.get(reply).threadId).toBe(planned.get(root).id);
    expect(planned.rows.UserSettings.some((r) => r.userId === planned.get(ada).id)).toBe(false);
  });

  it("checks the app's rules on it and writes it with the others", async () => {
    const s = scenario();
    const outsider = s.user();
    s.row("Reaction", { message: s.message({ channel: s.channel({ traits: ["private"] }) }), user: outsider });
    expect(() => s.plan()).toThrow(/^scenario: reactions\[0\].*: reaction-user-sees-channel/);
    const t = scenario();
    const root = t.message({ key: "row-root" });
    const reaction = t.row("Reaction", { message: root, user: t.existingUser("testuser2"), emoji: "🧪" });
    await inRollback(async (c) => {
      const world = await t.create(c);
      const { rows } = await c.query("SELECT emoji, message_id FROM reactions WHERE id = $1", [world.get(reaction).id]);
      expect(rows).toEqual([{ emoji: "🧪", message_id: world.get(root).id }]);
    });
  });

  it.each([
    ["an unknown model", (s: Scenario) => s.row("Bookmarks" as never, {} as never), "row() names no model 'Bookmarks'"],
    [
      "a missing required relation",
      (s: Scenario) => s.row("Reaction", { message: s.message() } as never),
      `row("Reaction") needs user: the handle of a User`,
    ],
    [
      "a foreign key given as an id",
      (s: Scenario) => s.row("Reaction", { message: s.message(), user: s.user(), userId: "x" } as never),
      `row("Reaction") userId is a foreign key: pass user`,
    ],
    [
      "a raw id where a handle is required",
      (s: Scenario) => s.row("Reaction", { message: "01JGXDFAM0WTEAQYG0CX7YKY7B", user: s.user() } as never),
      "message is a raw id",
    ],
    [
      "a handle of the wrong model",
      (s: Scenario) => s.row("Reaction", { message: s.user(), user: s.user() } as never),
      "message is a User",
    ],
  ])("refuses %s when declared", (_, declare, message) => {
    expect(() => declare(scenario())).toThrowError(
      expect.objectContaining({ code: "INVALID_SCENARIO", message: expect.stringContaining(message) }),
    );
  });

  it("checks its types at compile time, from the schema", () => {
    const s = scenario();
    const m = s.message();
    const u = s.user();
    // @ts-expect-error a required relation left out
    expect(() => s.row("Reaction", { message: m })).toThrow();
    // @ts-expect-error a foreign key given as an id
    expect(() => s.row("Reaction", { message: m, user: u, userId: "x" })).toThrow();
    // @ts-expect-error a user handle where a message is required
    expect(() => s.row("Reaction", { message: u, user: u })).toThrow();
    // @ts-expect-error an unknown column
    expect(() => s.row("Reaction", { message: m, user: u, colour: "red" })).toThrow();
    // A nullable foreign key may be left out or null.
    s.row("Message", { channel: s.channel(), user: u, thread: null });
  });
});

describe("determinism", () => {
  const fingerprint = (s: Scenario) =>
    JSON.stringify(s.plan().rows, (_, v) => (typeof v === "bigint" ? v.toString() : v));

  it("gives the same rows in another process", () => {
    const here = fingerprint(privateThread().s);
    const code = `import { scenario } from "./src/scenario/index.ts";
      const s = scenario(); const ops = s.channel({ traits: ["private"], members: 3 });
      const root = s.message({ channel: ops, replies: 5, key: "root" }); s.reaction({ message: root });
      process.stdout.write(JSON.stringify(s.plan().rows, (_, v) => (typeof v === "bigint" ? v.toString() : v)));`;
    const there = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
      encoding: "utf8",
      env: { ...process.env, TZ: "Asia/Kolkata", LANG: "tr_TR.UTF-8" },
    });
    expect(there).toBe(here);
  });

  it("does not depend on what was planned before, nor on the order scenarios are planned in", () => {
    const a = () => fingerprint(privateThread().s);
    const b = () => fingerprint(privateThread({ seed: 7 }).s);
    const first = [a(), b()];
    const second = [b(), a()].reverse();
    expect(second).toEqual(first);
    expect(first[0]).not.toBe(first[1]);
  });

  it("keeps existing rows as they were when a row or a field is added elsewhere", () => {
    const before = privateThread();
    const planned = before.s.plan();
    const s = scenario();
    s.user(); // a row of another model before
    const ops = s.channel({ traits: ["private"], members: 3 });
    const root = s.message({ channel: ops, replies: 5, key: "root" });
    const reaction = s.reaction({ message: root });
    s.message({ channel: ops, content: "added after", traits: ["edited"] }); // the same model, after
    const after = s.plan();
    expect(after.get(ops)).toEqual(planned.get(before.ops));
    expect(after.get(root)).toEqual(planned.get(before.root));
    expect(after.get(reaction)).toEqual(planned.get(before.reaction));
    const thread = (p: typeof planned, id: string) => p.rows.Message.filter((m) => m.threadId === id);
    expect(thread(after, after.get(root).id)).toEqual(thread(planned, planned.get(before.root).id));
  });

  it("keeps a keyed row as it was wherever it moves", () => {
    const one = scenario();
    const pinned = one.message({ key: "pinned" });
    const two = scenario();
    two.messages(3);
    const moved = two.message({ key: "pinned" });
    expect(two.plan().get(moved)).toEqual(one.plan().get(pinned));
  });
});

describe("writing a scenario where the test already is", () => {
  it("writes every row in one statement, as planned, with every rule holding in SQL", async () => {
    const { s, root } = privateThread();
    const statements: string[] = [];
    const counting = {
      query: (text: string, values?: unknown[]) => (statements.push(text), client.query(text, values)),
    };
    await inRollback(async (c) => {
      const world = await s.create(counting);
      expect(statements.filter((q) => /^\s*WITH\b.*INSERT/s.test(q))).toHaveLength(1);
      expect(statements.filter((q) => /INSERT/.test(q))).toHaveLength(1);
      const { rows } = await c.query(
        `SELECT content, thread_id FROM messages WHERE id = $1 OR thread_id = $1 ORDER BY created_at`,
        [world.get(root).id],
      );
      expect(rows.map((r) => r.content)).toEqual(world.rows.Message.map((m) => m.content));
      for (const rule of RULES)
        expect({ rule: rule.id, rows: (await c.query(rule.sql)).rows }).toEqual({ rule: rule.id, rows: [] });
    });
  });

  it("writes into RollbackPool's per-test transaction, and the rollback removes it", async () => {
    const pool = new RollbackPool({ connectionString: db.url });
    try {
      await pool.begin();
      const { s, ops } = privateThread();
      const world = await s.create(pool);
      expect(
        (
          await (pool as unknown as pg.Pool).query(`SELECT count(*)::int AS n FROM channels WHERE id = $1`, [
            world.get(ops).id,
          ])
        ).rows[0].n,
      ).toBe(1);
      await pool.rollback();
      expect(
        (await client.query(`SELECT count(*)::int AS n FROM channels WHERE id = $1`, [world.get(ops).id])).rows[0].n,
      ).toBe(0);
    } finally {
      await pool.end();
    }
  });

  it("writes through a Prisma 7 interactive transaction, and the client reads it typed", async () => {
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: db.url }) });
    try {
      const { s, ops, root } = privateThread({ seed: 3 });
      await expect(
        prisma.$transaction(async (tx) => {
          const world = await s.create(tx);
          const thread = await tx.message.findMany({ where: { threadId: world.get(root).id } });
          expect(thread).toHaveLength(5);
          expect((await tx.channel.findUniqueOrThrow({ where: { id: world.get(ops).id } })).type).toBe("private");
          throw new Error("roll the test back");
        }),
      ).rejects.toThrow("roll the test back");
      expect(await prisma.channel.count({ where: { id: s.plan().get(ops).id } })).toBe(0);
    } finally {
      await prisma.$disconnect();
    }
  });

  it("refuses rows the database rejects as a whole (a unique key), writing nothing", async () => {
    const before = await snapshot(db);
    const s = scenario();
    s.user({ email: "x@example.org" });
    s.channel();
    s.user({ email: "X@example.org".toLowerCase(), auth0Id: "auth0|0123456789abcdef0123beef" });
    expect(() => s.plan()).toThrow("unique");
    const t = scenario();
    t.channel();
    t.user({ email: "test1@example.com" });
    expect(() => t.plan()).toThrow("users[0]: unique");
    const dev = scenario();
    dev.channel();
    dev.user({
      email: (await client.query(`SELECT email FROM users WHERE username NOT LIKE 'testuser%' LIMIT 1`)).rows[0].email,
    });
    await expect(dev.create(client)).rejects.toMatchObject({
      code: "SEED_FAILED",
      message: expect.stringContaining("nothing of the scenario was written"),
    });
    expect(await snapshot(db)).toEqual(before);
  });

  it("names existing users and channels, and keeps the rules with their real members", async () => {
    const { rows } =
      await client.query(`SELECT u.username, c.name FROM channel_members m JOIN users u ON u.id = m.user_id JOIN channels c ON c.id = m.channel_id
      WHERE c.type = 'private' AND c.deleted_at IS NULL AND c.archived_at IS NULL AND m.deleted_at IS NULL AND u.deleted_at IS NULL AND u.username NOT LIKE 'testuser%' ORDER BY c.id, u.id LIMIT 1`);
    const { username, name } = rows[0];
    await inRollback(async (c) => {
      const s = scenario();
      const channel = s.existingChannel(name);
      const author = s.existingUser(username);
      const m = s.message({ channel, author, replies: 2, reactions: 2 });
      const world = await s.create(c);
      expect(world.get(m).userId).toBe(world.get(author).id);
      // An existing row comes back whole, as Prisma's client types it.
      expect(world.get(author)).toMatchObject({
        username,
        email: expect.stringContaining("@"),
        createdAt: expect.any(Date),
      });
      expect(world.get(channel)).toMatchObject({ name, type: "private", createdBy: expect.any(String) });
      const outsider = scenario();
      outsider.message({ channel: outsider.existingChannel(name), author: outsider.user() });
      await expect(outsider.create(c)).rejects.toThrow("author-is-member");
    });
  });

  it("works on the embedded PostgreSQL as on a server", async () => {
    await withEmbeddedDatabase("scenario-pglite", "minimal", async (c) => {
      const { s, root } = privateThread();
      const world = await s.create(c);
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM messages WHERE thread_id = $1`, [
        world.get(root).id,
      ]);
      expect(rows[0].n).toBe(5);
      const again = privateThread();
      expect(world.get(root)).toEqual(again.s.plan().get(again.root));
    });
  });
});

describe("a scenario never breaks a rule through rows that already exist", () => {
  /** Row counts of every seeded table, read inside the test's own transaction. */
  async function counts(c: pg.Client): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const table of TABLES)
      out[table.name] = (await c.query(`SELECT count(*)::int AS n FROM "${table.name}"`)).rows[0].n;
    return out;
  }

  /** A live DM of the seeded database and one live user who is not in it. */
  async function dmAndOutsider(c: pg.Client): Promise<{ dm: string; members: string[]; outsider: string }> {
    const { rows } = await c.query(
      `SELECT c.name, array_agg(u.username ORDER BY u.username) AS members FROM channels c
         JOIN channel_members m ON m.channel_id = c.id AND m.deleted_at IS NULL JOIN users u ON u.id = m.user_id
        WHERE c.type = 'dm' AND c.deleted_at IS NULL GROUP BY c.id, c.name ORDER BY c.id LIMIT 1`,
    );
    const { name, members } = rows[0];
    const other = await c.query(
      `SELECT username FROM users WHERE deleted_at IS NULL AND NOT (username = ANY($1)) ORDER BY id LIMIT 1`,
      [members],
    );
    return { dm: name, members, outsider: other.rows[0].username };
  }

  /** A live private channel of the seeded database and one of its live members. */
  async function privateChannel(c: pg.Client): Promise<{ name: string; member: string }> {
    const { rows } = await c.query(
      `SELECT c.name, u.username FROM channels c JOIN channel_members m ON m.channel_id = c.id AND m.deleted_at IS NULL
         JOIN users u ON u.id = m.user_id AND u.deleted_at IS NULL
        WHERE c.type = 'private' AND c.deleted_at IS NULL AND c.archived_at IS NULL ORDER BY c.id, u.id LIMIT 1`,
    );
    return { name: rows[0].name, member: rows[0].username };
  }

  /** Each rule an existing row can take part in, broken through existing rows only as far as a scenario can. */
  const breaking: Record<string, (s: Scenario, c: pg.Client) => Promise<void>> = {
    "dm-two-members (a new user joins an existing DM)": async (s, c) => {
      const { dm } = await dmAndOutsider(c);
      s.channelMember(s.existingChannel(dm), s.user());
    },
    "dm-two-members (an existing user joins an existing DM)": async (s, c) => {
      const { dm, outsider } = await dmAndOutsider(c);
      s.channelMember(s.existingChannel(dm), s.existingUser(outsider));
    },
    "dm-owner-is-creator (an owner joins an existing DM)": async (s, c) => {
      const { dm } = await dmAndOutsider(c);
      s.channelMember(s.existingChannel(dm), s.user(), { role: "owner" });
    },
    "author-is-member (a new user posts into an existing private channel)": async (s, c) => {
      const { name } = await privateChannel(c);
      s.message({ channel: s.existingChannel(name), author: s.user() });
    },
    "author-is-member (an existing member who left posts)": async (s, c) => {
      const { name, member } = await privateChannel(c);
      await c.query(
        `UPDATE channel_members SET deleted_at = now() WHERE channel_id = (SELECT id FROM channels WHERE name = $1 AND deleted_at IS NULL)
            AND user_id = (SELECT id FROM users WHERE username = $2 AND deleted_at IS NULL)`,
        [name, member],
      );
      s.message({ channel: s.existingChannel(name), author: s.existingUser(member) });
    },
    "reaction-user-sees-channel (on a new message in an existing private channel)": async (s, c) => {
      const { name } = await privateChannel(c);
      s.reaction({ message: s.message({ channel: s.existingChannel(name) }), user: s.user() });
    },
    "read-user-sees-channel (a marker in an existing private channel)": async (s, c) => {
      const { name } = await privateChannel(c);
      s.messageRead({ message: s.message({ channel: s.existingChannel(name) }), user: s.user() });
    },
    "file-uploader-sees-channel (a file in an existing private channel)": async (s, c) => {
      const { name } = await privateChannel(c);
      s.file({ message: s.message({ channel: s.existingChannel(name) }), user: s.user() });
    },
    "muted-channels-joined (a new user mutes an existing private channel)": async (s, c) => {
      const { name } = await privateChannel(c);
      s.userSettings(s.user(), { mutedChannels: [s.existingChannel(name)] });
    },
  };

  it.each(Object.keys(breaking))("refuses %s before any write, naming the rule and the place", async (name) => {
    const rule = name.split(" ")[0]!;
    await inRollback(async (c) => {
      const s = scenario();
      await breaking[name]!(s, c);
      const before = await counts(c);
      await expect(s.create(c)).rejects.toMatchObject({
        name: "SeedError",
        code: "INVALID_SCENARIO",
        message: expect.stringMatching(new RegExp(`: ${rule} \\(.*allow: \\[.*"${rule}".*Nothing was written$`)),
      });
      expect(await counts(c)).toEqual(before);
      // A third member who is also an owner breaks both DM rules: allow lets each through only when named.
      const alsoBroken = rule === "dm-owner-is-creator" ? ["dm-two-members"] : [];
      const allowed = scenario({ allow: [rule, ...alsoBroken] });
      await breaking[name]!(allowed, c);
      await expect(allowed.planOn(c)).resolves.toBeDefined();
    });
  });

  it("names the existing row and the scenario's rows that broke it", async () => {
    await inRollback(async (c) => {
      const { dm } = await dmAndOutsider(c);
      const s = scenario();
      s.channelMember(s.existingChannel(dm), s.user({ key: "third" }), { key: "joins" });
      await expect(s.create(c)).rejects.toThrow(
        `scenario: channel "${dm}" (existing) with channelMembers[0]: dm-two-members (A dm channel has exactly two members)`,
      );
    });
  });

  it("refuses a second live membership of a user who is already a member", async () => {
    await inRollback(async (c) => {
      const { name, member } = await privateChannel(c);
      const before = await counts(c);
      const s = scenario();
      s.channelMember(s.existingChannel(name), s.existingUser(member));
      await expect(s.create(c)).rejects.toMatchObject({
        code: "INVALID_SCENARIO",
        message: expect.stringContaining(`${member} is already a member of #${name} in the database`),
      });
      expect(await counts(c)).toEqual(before);
    });
  });

  it("does not blame a scenario for what the database already breaks on its own", async () => {
    await inRollback(async (c) => {
      const { dm, members, outsider } = await dmAndOutsider(c);
      // The database already holds a DM with three members; a scenario that only posts there is not refused for it.
      await c.query(
        `INSERT INTO channel_members (id, channel_id, user_id, role, created_at, updated_at)
         SELECT '01JZZZZZZZZZZZZZZZZZZZZZZZ', c.id, u.id, 'member', now(), now() FROM channels c, users u WHERE c.name = $1 AND c.deleted_at IS NULL AND u.username = $2`,
        [dm, outsider],
      );
      const s = scenario();
      const m = s.message({ channel: s.existingChannel(dm), author: s.existingUser(members[0]!) });
      const world = await s.create(c);
      const { rows } = await c.query(`SELECT count(*)::int AS n FROM messages WHERE id = $1`, [world.get(m).id]);
      expect(rows[0].n).toBe(1);
    });
  });
});
