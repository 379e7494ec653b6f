import { describe, expect, it } from "vitest";
import { seedDatabase } from "../../src/api/seed.ts";
import { TABLES } from "../../src/core/datamodel.ts";
import { buildPlan } from "../../src/plan/plan.ts";
import { checkRules } from "../../src/plan/rules.ts";
import { validateRows } from "../../src/plan/validate.ts";
import { completeEdge } from "../../src/plan/builders/edge.ts";
import { HOSTILE } from "../../src/plan/builders/text/hostile.ts";
import { query, useTestDatabase } from "../helpers/db.ts";

// The edge profile: every boundary and hostile string a QA engineer throws at the app, while
// every application rule still holds.
const plan = buildPlan({ profile: "edge" });
const db = useTestDatabase("edge", { empty: false });
const codePoints = (v: unknown) => (typeof v === "string" ? [...v].length : -1);

describe("the edge profile", () => {
  it("puts every VarChar column at exactly its limit in some row, multi-byte included", () => {
    for (const table of TABLES) {
      const rows = plan.rows[table.model] as unknown as Record<string, unknown>[];
      for (const column of table.columns.filter((c) => c.maxLength !== null)) {
        const values = rows.flatMap((r) =>
          column.isList ? ((r[column.field] as unknown[]) ?? []) : [r[column.field]],
        );
        expect(
          values.some((v) => codePoints(v) === column.maxLength),
          `${table.name}.${column.name} at ${column.maxLength}`,
        ).toBe(true);
      }
    }
    const multiByte = plan.rows.User.filter((u) => [...u.username].length === 50 && Buffer.byteLength(u.username) > 50);
    expect(multiByte.length).toBeGreaterThan(0);
  });

  it("has every nullable column both null and set", () => {
    for (const table of TABLES) {
      const rows = plan.rows[table.model] as unknown as Record<string, unknown>[];
      for (const column of table.columns.filter((c) => !c.isRequired && !c.isList && c.kind !== "object")) {
        const values = rows.map((r) => r[column.field] ?? null);
        expect(
          values.some((v) => v === null),
          `${table.name}.${column.name} null somewhere`,
        ).toBe(true);
        expect(
          values.some((v) => v !== null),
          `${table.name}.${column.name} set somewhere`,
        ).toBe(true);
      }
    }
  });

  it("passes every application rule and row check, and has the shapes a UI must survive", () => {
    expect(checkRules(plan.rows)).toEqual([]);
    expect(validateRows(plan.rows)).toEqual([]);
    const replies = new Map<string, number>();
    for (const m of plan.rows.Message) if (m.threadId) replies.set(m.threadId, (replies.get(m.threadId) ?? 0) + 1);
    expect(Math.max(...replies.values())).toBeGreaterThanOrEqual(300);
    const reactions = new Map<string, number>();
    for (const r of plan.rows.Reaction) reactions.set(r.messageId, (reactions.get(r.messageId) ?? 0) + 1);
    expect(Math.max(...reactions.values())).toBeGreaterThanOrEqual(50);
    expect(Math.max(...plan.rows.Message.map((m) => m.content.length))).toBeGreaterThan(10_000);
    const withMessages = new Set(plan.rows.Message.map((m) => m.channelId));
    expect(plan.rows.Channel.some((c) => !withMessages.has(c.id))).toBe(true);
    const inChannels = new Set(plan.rows.ChannelMember.map((m) => m.userId));
    expect(plan.rows.User.some((u) => !inChannels.has(u.id))).toBe(true);
    expect(plan.rows.Channel.some((c) => c.archivedAt && withMessages.has(c.id))).toBe(true);
    expect(plan.rows.Message.some((m) => m.edited && m.deletedAt)).toBe(true);
  });

  it("fills what the hand-made edge rows leave out: a column at its limit, set and null (a column added later)", () => {
    // The edge plan, as if status_text and avatar_url had been added after buildEdge was written.
    const rows = buildPlan({ profile: "edge", seed: 3 }).rows;
    for (const s of rows.UserStatus) s.statusText = null;
    for (const u of rows.User) u.avatarUrl = "https://example.com/a.png";
    completeEdge(rows);
    const texts = rows.UserStatus.map((s) => s.statusText ?? null);
    expect(texts.filter((t) => t !== null).map((t) => [...t!].length)).toEqual([100]);
    expect(rows.User.filter((u) => u.avatarUrl === null)).toHaveLength(1);
    expect(validateRows(rows)).toEqual([]);
    // What is already at its boundaries is left as it is.
    const edge = buildPlan({ profile: "edge" }).rows;
    const before = JSON.stringify(edge, (_k, v) => (typeof v === "bigint" ? String(v) : v));
    completeEdge(edge);
    expect(JSON.stringify(edge, (_k, v) => (typeof v === "bigint" ? String(v) : v))).toBe(before);
  });

  it("refuses --scale, like minimal", () => {
    expect(() => buildPlan({ profile: "edge", scale: 2 })).toThrow(/--scale applies to the dev profile only/);
  });

  it("writes every hostile string byte-exact, with every integrity check passing", async () => {
    const summary = await seedDatabase({ env: {}, databaseUrl: db.url, profile: "edge" });
    expect(summary.integrity.filter((r) => r.violations > 0)).toEqual([]);
    const stored = await query<{ content: string }>(
      db,
      `SELECT content FROM messages WHERE content = ANY($1::text[])`,
      [HOSTILE.map((h) => h.text)],
    );
    expect(new Set(stored.map((r) => r.content))).toEqual(new Set(HOSTILE.map((h) => h.text)));
    const [user] = await query<{ username: string; octets: number }>(
      db,
      `SELECT username, octet_length(username) AS octets FROM users WHERE char_length(username) = 50 ORDER BY octets DESC LIMIT 1`,
    );
    expect(plan.rows.User.map((u) => u.username)).toContain(user!.username);
    expect(user!.octets).toBeGreaterThan(50);
  });
});
