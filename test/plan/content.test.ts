import { describe, expect, it } from "vitest";
import { buildPlan } from "../../src/plan/plan.ts";
import { fakerFor } from "../../src/plan/random.ts";
import { REPLIES, ROOTS, TOPICS, type RootKind } from "../../src/plan/fixtures/text/conversations.ts";

/** A template as a pattern: its slots match anything. */
const pattern = (template: string, tail = "") => new RegExp(`^${template.split(/\{[^}]*\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("[\\s\\S]*?")}${tail}$`);

// The dev profile reads like a team's chat: conversations on each channel's topic, mentions of
// the channel's own members, links, code and emoji, and a long tail of lengths. No lorem.
const plan = buildPlan({ profile: "dev", scale: 2, seed: 11 });
const messages = plan.rows.Message;
const usernames = new Map(plan.rows.User.map((u) => [u.username, u.id]));
const members = new Set(plan.rows.ChannelMember.map((m) => `${m.channelId}:${m.userId}`));
const share = (test: (content: string) => boolean) => messages.filter((m) => test(m.content)).length / messages.length;

describe("the dev profile's messages", () => {
  it("contain no lorem ipsum: no run of three of faker's lorem words anywhere", () => {
    const lorem = new Set(fakerFor(1, "lorem").definitions.lorem!.word as string[]);
    for (const { content } of messages) {
      const words = content.toLowerCase().match(/[a-z]+/g) ?? [];
      const loremRun = words.some((_, i) => i >= 2 && words.slice(i - 2, i + 1).every((w) => lorem.has(w)));
      expect(loremRun, content).toBe(false);
    }
  });

  it("mention members of their own channel, by real username", () => {
    let mentions = 0;
    for (const m of messages) {
      for (const [, name] of m.content.matchAll(/@([a-z0-9._-]+)/g)) {
        if (name === "here" || name === "channel") continue;
        mentions += 1;
        const id = usernames.get(name!);
        expect(id, `@${name} in "${m.content}"`).toBeDefined();
        expect(members.has(`${m.channelId}:${id}`), `@${name} is a member of the message's channel`).toBe(true);
      }
    }
    expect(mentions).toBeGreaterThan(messages.length / 10);
  });

  it("carry links at reserved example domains, inline code, code blocks and emoji", () => {
    expect(share((c) => /https:\/\/[a-z.]+\.example\.(com|org|net)\//.test(c))).toBeGreaterThan(0.1);
    expect(messages.every((m) => [...m.content.matchAll(/https?:\/\/([^/\s]+)/g)].every(([, host]) => /(^|\.)example\.(com|org|net)$/.test(host!)))).toBe(true);
    expect(share((c) => /`[^`]+`/.test(c))).toBeGreaterThan(0.03);
    expect(share((c) => c.includes("```"))).toBeGreaterThan(0.005);
    expect(share((c) => /\p{Extended_Pictographic}|:[a-z_+]+:/u.test(c))).toBeGreaterThan(0.1);
  });

  it("have a long tail of lengths: tens of characters typically, some multi-paragraph, some over 1,000", () => {
    const lengths = messages.map((m) => m.content.length).sort((a, b) => a - b);
    const median = lengths[Math.floor(lengths.length / 2)]!;
    expect(median).toBeGreaterThan(20);
    expect(median).toBeLessThan(200);
    expect(lengths.filter((l) => l > 1000).length).toBeGreaterThan(0);
    expect(share((c) => c.includes("\n\n"))).toBeGreaterThan(0.03);
  });

  it("talk about each channel's topic: engineering about code and deploys, DMs person to person", () => {
    const channel = new Map(plan.rows.Channel.map((c) => [c.id, c]));
    const engineering = messages.filter((m) => channel.get(m.channelId)?.name.startsWith("engineering") && !m.threadId);
    const dms = messages.filter((m) => channel.get(m.channelId)?.type === "dm");
    expect(engineering.length).toBeGreaterThan(0);
    expect(engineering.filter((m) => /deploy|PR|CI|migration|staging|test|index|service|API|code|`/i.test(m.content)).length / engineering.length).toBeGreaterThan(0.5);
    expect(dms.every((m) => !/@here|@channel/.test(m.content))).toBe(true);
  });

  it("follow their root in threads: a question gets answers then thanks, a proposal objections then a decision", () => {
    // A root may go on with paragraphs of a write-up after its template.
    const rootKind = (content: string) =>
      (["question", "proposal"] as const).find((kind) => TOPICS.some((topic) => ROOTS[topic][kind].some((t) => pattern(t, "(\n\n[\\s\\S]*)?").test(content))));
    const byRoot = new Map<string, typeof messages>();
    for (const m of messages) if (m.threadId) byRoot.set(m.threadId, [...(byRoot.get(m.threadId) ?? []), m]);
    let checked = 0;
    for (const root of messages.filter((m) => byRoot.has(m.id))) {
      const kind: RootKind | undefined = rootKind(root.content);
      if (!kind) continue;
      const replies = byRoot.get(root.id)!.sort((a, b) => +new Date(a.createdAt!) - +new Date(b.createdAt!));
      const early = REPLIES[kind].early.map((t) => pattern(t));
      const late = REPLIES[kind].late.map((t) => pattern(t));
      for (const [i, reply] of replies.entries()) {
        const closes = late.some((p) => p.test(reply.content));
        expect(closes || early.some((p) => p.test(reply.content)), `a reply to a ${kind}: "${reply.content}"`).toBe(true);
        // Thanks and decisions come once the thread has had its say.
        if (i < 2) expect(closes && !early.some((p) => p.test(reply.content)), `reply ${i + 1} to a ${kind} closes it: "${reply.content}"`).toBe(false);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("are written mostly in working hours on weekdays, and a few people write most", () => {
    const times = messages.map((m) => new Date(m.createdAt!));
    expect(times.filter((t) => t.getUTCDay() >= 1 && t.getUTCDay() <= 5 && t.getUTCHours() >= 8 && t.getUTCHours() < 18).length / times.length).toBeGreaterThan(0.7);
    const perAuthor = [...messages.reduce((m, x) => m.set(x.userId, (m.get(x.userId) ?? 0) + 1), new Map<string, number>()).values()].sort((a, b) => b - a);
    const top = perAuthor.slice(0, Math.ceil(perAuthor.length / 5)).reduce((a, b) => a + b, 0);
    expect(top / messages.length).toBeGreaterThan(0.35);
  });
});
