import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CANONICAL_USERS } from "../../src/plan/builders/canonical.ts";
import { WINDOW_END, WINDOW_START } from "../../src/plan/builders/clock.ts";
import { buildPlan, planChunks, type Plan } from "../../src/plan/plan.ts";
import { checkRules, RULES } from "../../src/plan/rules.ts";
import { ulidTime } from "../../src/plan/ulid.ts";
import { validateChunk, validateRows } from "../../src/plan/validate.ts";
import { TABLES, type Rows } from "../../src/core/datamodel.ts";
import { Faker, base, en } from "@faker-js/faker";
import { fakerFor, streamSeed } from "../../src/plan/random.ts";
import { VIOLATIONS } from "../helpers/violations.ts";

const fingerprintScript = `
  import { buildPlan } from "./src/plan/plan.ts";
  import { createHash } from "node:crypto";
  const plan = buildPlan({ seed: 7, scale: 2 });
  const json = JSON.stringify(plan.rows, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  process.stdout.write(createHash("sha256").update(json).digest("hex"));
`;

function fingerprintIn(env: Record<string, string>): string {
  return execFileSync("node_modules/.bin/tsx", ["--eval", fingerprintScript], {
    env: { ...process.env, ...env },
    encoding: "utf8",
  }).trim();
}

function generated(plan: Plan) {
  return plan.rows.User.filter((u) => !u.username.startsWith("testuser"));
}

describe("fixtures", () => {
  it("gives identical rows for the same seed", () => {
    expect(buildPlan({ seed: 99, scale: 2 }).rows).toEqual(buildPlan({ seed: 99, scale: 2 }).rows);
  });

  it("gives different generated rows for a different seed, and the same canonical rows", () => {
    const a = buildPlan({ seed: 1 });
    const b = buildPlan({ seed: 2 });
    expect(generated(a).map((u) => u.id)).not.toEqual(generated(b).map((u) => u.id));
    expect(a.rows.Message.slice(2).map((m) => m.content)).not.toEqual(b.rows.Message.slice(2).map((m) => m.content));
    expect(a.rows.User.slice(0, 3)).toEqual(b.rows.User.slice(0, 3));
  });

  it("does not depend on the timezone or locale of the machine", () => {
    const utc = fingerprintIn({ TZ: "UTC", LANG: "C", LC_ALL: "C" });
    const elsewhere = fingerprintIn({ TZ: "Pacific/Kiritimati", LANG: "de_DE.UTF-8", LC_ALL: "tr_TR.UTF-8" });
    expect(utc).toMatch(/^[0-9a-f]{64}$/);
    expect(elsewhere).toBe(utc);
  });

  it("keeps slice 0 the same at every scale", () => {
    const one = buildPlan({ seed: 5, scale: 1 });
    const three = buildPlan({ seed: 5, scale: 3 });
    expect(three.rows.User.slice(0, one.rows.User.length)).toEqual(one.rows.User);
    expect(three.rows.User.length).toBe(3 + 27 * 3);
  });

  it("contains the canonical development data in every profile", () => {
    for (const plan of [buildPlan({ profile: "minimal" }), buildPlan({ profile: "dev", seed: 3, scale: 2 })]) {
      const users = plan.rows.User.slice(0, 3);
      expect(users.map(({ username, auth0Id, email, fullName }) => ({ username, auth0Id, email, fullName }))).toEqual(
        CANONICAL_USERS.map((u) => ({ ...u })),
      );
      const general = plan.rows.Channel.find((c) => c.name === "general")!;
      expect(general).toMatchObject({
        type: "public",
        description: "General discussion channel",
        createdBy: users[0]!.id,
      });
      expect(plan.rows.Message.slice(0, 2).map((m) => m.content)).toEqual([
        "Welcome to ChatGenius! 👋",
        "Thanks for having me here!",
      ]);
    }
  });

  it("builds the minimal profile from canonical data only", () => {
    const plan = buildPlan({ profile: "minimal" });
    // Every other table of the schema is empty.
    expect(Object.fromEntries(plan.tables.map((t) => [t.table.name, t.rows]))).toEqual({
      ...Object.fromEntries(TABLES.map((t) => [t.name, 0])),
      users: 3,
      channels: 1,
      channel_members: 3,
      messages: 2,
      user_settings: 3,
      user_status: 3,
    });
  });

  it("builds a realistic dev workspace and multiplies it with --scale", () => {
    const plan = buildPlan({ profile: "dev" });
    const r = plan.rows;
    expect(r.User.length).toBeGreaterThanOrEqual(30);
    expect(r.Channel.length).toBeGreaterThanOrEqual(12);
    expect(new Set(r.Channel.map((c) => c.type))).toEqual(new Set(["public", "private", "dm"]));
    expect(r.Message.length).toBeGreaterThanOrEqual(1000);
    expect(r.Message.filter((m) => m.threadId).length).toBeGreaterThan(100);
    expect(r.Reaction.length).toBeGreaterThan(0);
    expect(r.File.length).toBeGreaterThan(0);
    expect(r.MessageRead.length).toBeGreaterThan(0);
    expect(r.UserSettings.map((s) => s.userId).sort()).toEqual(r.User.map((u) => u.id).sort());
    expect(r.UserStatus.map((s) => s.userId).sort()).toEqual(r.User.map((u) => u.id).sort());
    const scaled = buildPlan({ profile: "dev", scale: 4 });
    expect(scaled.rows.Message.length).toBe(2 + 4 * (r.Message.length - 2));
    expect(scaled.rows.User.length).toBe(3 + 4 * (r.User.length - 3));
  });

  it("agrees each ULID with its row's created_at and stays in the fixed past window", () => {
    const plan = buildPlan({ seed: 11, scale: 2 });
    for (const table of TABLES) {
      for (const row of plan.rows[table.model] as { id: string; createdAt: Date; updatedAt: Date }[]) {
        expect(ulidTime(row.id)).toBe(row.createdAt.getTime());
        expect(row.createdAt.getTime()).toBeGreaterThanOrEqual(WINDOW_START);
        expect(row.updatedAt.getTime()).toBeLessThanOrEqual(WINDOW_END);
        expect(row.updatedAt.getTime()).toBeGreaterThanOrEqual(row.createdAt.getTime());
      }
    }
  });

  it("satisfies unique keys, lengths and every application rule at several seeds and scales", () => {
    for (const options of [
      { profile: "minimal" as const },
      { seed: 1 },
      { seed: 2, scale: 3 },
      { seed: 123456, scale: 2 },
    ]) {
      expect(validateRows(buildPlan(options).rows), JSON.stringify(options)).toEqual([]);
    }
  });

  it("gives Auth0 ids of the documented shapes", () => {
    const ids = buildPlan({ scale: 3 }).rows.User.map((u) => u.auth0Id);
    expect(ids.every((id) => /^auth0\|[0-9a-f]{24}$/.test(id) || /^google-oauth2\|\d{21}$/.test(id))).toBe(true);
    expect(ids.some((id) => id.startsWith("google-oauth2|"))).toBe(true);
  });
});

describe("fixture validation", () => {
  const broken = (mutate: (plan: Plan) => void) => {
    const plan = buildPlan({ seed: 4 });
    mutate(plan);
    return validateRows(plan.rows);
  };

  it("names the table, row and rule of a reply in another channel than its root", () => {
    const violations = broken((plan) => {
      const reply = plan.rows.Message.find((m) => m.threadId)!;
      const other = plan.rows.Channel.find((c) => c.id !== reply.channelId && c.type === "public")!;
      reply.channelId = other.id;
    });
    expect(violations).toEqual(
      expect.arrayContaining([expect.objectContaining({ table: "messages", rule: "reply-same-channel" })]),
    );
  });

  it("reports a value longer than its column and a duplicate email", () => {
    const violations = broken((plan) => {
      plan.rows.User[5]!.username = "x".repeat(51);
      plan.rows.User[6]!.email = plan.rows.User[7]!.email.toUpperCase();
    });
    expect(violations).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ table: "users", rule: "length", rowId: expect.any(String) }),
        expect.objectContaining({ table: "users", rule: "email-unique-ci" }),
      ]),
    );
  });

  it("catches a break of every application rule at once", () => {
    // Every planted violation (test/helpers/violations.ts, one per rule) in one plan.
    const plan = buildPlan({ seed: 4 });
    for (const rule of RULES) VIOLATIONS[rule.id]!.rows(plan.rows);
    const found = new Set(checkRules(plan.rows).map((v) => v.rule));
    expect([...found].sort()).toEqual(RULES.map((rule) => rule.id).sort());
  });
});

describe("fakerFor", () => {
  const sample = (f: Faker) => [
    f.person.firstName(),
    f.hacker.phrase(),
    f.lorem.sentences(2),
    f.string.hexadecimal({ length: 24, casing: "lower", prefix: "" }),
  ];
  const fresh = (seed: number, stream: string) => {
    const f = new Faker({ locale: [en, base] });
    f.seed(streamSeed(seed, stream));
    return sample(f);
  };

  it("gives exactly the values of a new Faker seeded for the stream, also when its instance is reused", () => {
    expect(sample(fakerFor(5, "users:1"))).toEqual(fresh(5, "users:1"));
    sample(fakerFor(5, "users:2")); // the family's one instance, reseeded and used
    sample(fakerFor(5, "messages:1"));
    expect(sample(fakerFor(5, "users:1"))).toEqual(fresh(5, "users:1"));
    expect(sample(fakerFor(6, "users:1"))).toEqual(fresh(6, "users:1"));
    expect(fresh(6, "users:1")).not.toEqual(fresh(5, "users:1"));
  });
});

describe("validateChunk", () => {
  it("finds in a streamed chunk what types and builders cannot guarantee, and leaves keys to the database", () => {
    const chunks = planChunks({ profile: "dev", seed: 3 });
    const canonical = chunks.next().value as Rows;
    const rows = chunks.next().value as Rows;
    expect(validateChunk(rows, canonical)).toEqual([]);
    rows.User[0]!.fullName = "x".repeat(101);
    rows.User[1]!.email = canonical.User[0]!.email.toUpperCase();
    rows.Message[0]!.createdAt = new Date((rows.Message[0]!.createdAt as Date).getTime() + 1);
    rows.Reaction[0]!.updatedAt = new Date(WINDOW_END + 1);
    const reply = rows.Message.find((m) => m.threadId)!;
    reply.threadId = reply.id;
    rows.Reaction[1] = { ...rows.Reaction[2]! }; // a duplicate key: the primary key rejects it
    const found = validateChunk(rows, canonical).map((v) => `${v.table}:${v.rule}`);
    expect(new Set(found)).toEqual(
      new Set([
        "users:length",
        "users:email-unique-ci",
        "messages:ulid-time",
        "reactions:past-window",
        "messages:root-not-reply",
        "messages:reply-after-root",
      ]),
    );
  });
});
