import { describe, expect, it } from "vitest";
import type { RowOf } from "../../src/core/datamodel.ts";
import { buildCanonical } from "../../src/plan/builders/canonical.ts";
import { voiceOf } from "../../src/plan/builders/text/compose.ts";
import { FOLLOW_UPS, SUBJECTS, TOPICS } from "../../src/plan/builders/text/conversations.ts";
import { buildPlan, planChunks } from "../../src/plan/plan.ts";
import { fakerFor } from "../../src/plan/random.ts";

type Message = RowOf<"Message">;

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
    expect(
      messages.every((m) =>
        [...m.content.matchAll(/https?:\/\/([^/\s]+)/g)].every(([, host]) =>
          /(^|\.)example\.(com|org|net)$/.test(host!),
        ),
      ),
    ).toBe(true);
    expect(share((c) => /`[^`]+`/.test(c))).toBeGreaterThan(0.03);
    expect(share((c) => c.includes("```"))).toBeGreaterThanOrEqual(0.01);
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
    expect(
      engineering.filter((m) => /deploy|PR|CI|migration|staging|test|index|service|API|code|`/i.test(m.content))
        .length / engineering.length,
    ).toBeGreaterThan(0.5);
    expect(dms.every((m) => !/@here|@channel/.test(m.content))).toBe(true);
  });

  it("are written mostly in working hours on weekdays, and a few people write most", () => {
    const times = messages.map((m) => new Date(m.createdAt!));
    expect(
      times.filter((t) => t.getUTCDay() >= 1 && t.getUTCDay() <= 5 && t.getUTCHours() >= 8 && t.getUTCHours() < 18)
        .length / times.length,
    ).toBeGreaterThan(0.7);
    const perAuthor = [
      ...messages.reduce((m, x) => m.set(x.userId, (m.get(x.userId) ?? 0) + 1), new Map<string, number>()).values(),
    ].sort((a, b) => b - a);
    const top = perAuthor.slice(0, Math.ceil(perAuthor.length / 5)).reduce((a, b) => a + b, 0);
    expect(top / messages.length).toBeGreaterThan(0.35);
  });
});

// The dev profile at the default seed, as a developer sees it after `db:reset`.
const devPlan = buildPlan({ profile: "dev" });
const canonicalIds = new Set(buildCanonical().messages.map((m) => m.id));

/** Replies grouped under their root, in time order. */
function threadsOf(rows: readonly Message[]): Map<Message, Message[]> {
  const byId = new Map(rows.map((m) => [m.id, m]));
  const threads = new Map<Message, Message[]>();
  for (const m of rows) {
    if (!m.threadId) continue;
    const root = byId.get(m.threadId)!;
    threads.set(root, [...(threads.get(root) ?? []), m]);
  }
  for (const replies of threads.values()) replies.sort((a, b) => +new Date(a.createdAt!) - +new Date(b.createdAt!));
  return threads;
}

/** A template as a pattern found anywhere in a message: slots match anything, a voice may drop the capital and the full stop. */
const found = (template: string) =>
  new RegExp(
    template
      .replace(/[.!]$/, "")
      .split(/\{[a-z@:]+\}/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join("[\\s\\S]*?"),
    "i",
  );
/** Templates with at least `letters` letters of their own (12 tell subjects apart; under 4 is a reaction like "🎉"). */
const worded = (templates: readonly string[], letters: number) =>
  templates.filter((t) => t.replace(/\{[a-z@:]+\}/g, "").replace(/[^a-z]/gi, "").length >= letters).map(found);

describe("the dev profile's threads", () => {
  const subjects = TOPICS.flatMap((topic) => SUBJECTS[topic]).map((subject) => ({
    roots: worded(subject.roots, 12),
    early: worded([...subject.early, ...FOLLOW_UPS[subject.kind]], 4),
    late: worded(subject.late, 4),
  }));

  it("answer their root: replies are written for its subject, and the last of two or more closes it", () => {
    let checked = 0;
    for (const [root, replies] of threadsOf(devPlan.rows.Message)) {
      const candidates = subjects.filter((s) => s.roots.some((p) => p.test(root.content)));
      expect(candidates.length, `the subject of "${root.content}"`).toBeGreaterThan(0);
      // The thread is one of its candidate subjects' threads, reply by reply.
      const fits = candidates.some((s) =>
        replies.every((reply, i) => {
          const closing = replies.length >= 2 && i === replies.length - 1;
          if (closing) return s.late.some((p) => p.test(reply.content));
          // Short reactions ("🎉", "+1") fit any thread; every longer line is the subject's own.
          return reply.content.length <= 20 || s.early.some((p) => p.test(reply.content));
        }),
      );
      expect(fits, `thread of "${root.content}":\n${replies.map((r) => `  ${r.content}`).join("\n")}`).toBe(true);
      checked += replies.length;
    }
    expect(checked).toBeGreaterThan(250);
  });

  it("link once per thread: the link in the root is the link in its replies, and its path is named after what the thread is about", () => {
    let linked = 0;
    for (const [root, replies] of threadsOf(devPlan.rows.Message)) {
      const urls = new Set([root, ...replies].flatMap((m) => m.content.match(/https:\/\/\S+[^\s.,:?!)]/g) ?? []));
      expect(urls.size, `links of the thread of "${root.content}": ${[...urls].join(" ")}`).toBeLessThanOrEqual(1);
    }
    for (const m of devPlan.rows.Message.filter((m) => !m.threadId)) {
      const words = new Set(
        m.content
          .replace(/https:\/\/\S+/g, "")
          .toLowerCase()
          .match(/[a-z0-9]+/g) ?? [],
      );
      for (const [url] of m.content.matchAll(/https:\/\/\S+[^\s.,:?!)]/g)) {
        if (url.includes("/pull/")) continue;
        linked += 1;
        // A ticket or doc is titled with the feature, service, customer or date the root names.
        const path = url
          .split("/")
          .pop()!
          .split("-")
          .filter((w) => w.length >= 4 || /^\d+$/.test(w));
        expect(
          path.some((w) => words.has(w)),
          `${url} in "${m.content}"`,
        ).toBe(true);
      }
    }
    expect(linked).toBeGreaterThan(30);
  });

  it("never repeat a reply within a thread", () => {
    for (const rows of [devPlan.rows.Message, messages]) {
      for (const [root, replies] of threadsOf(rows)) {
        const texts = replies.map((r) => r.content);
        expect(new Set(texts).size, `replies to "${root.content}"`).toBe(texts.length);
      }
    }
  });

  it("never leave a live reply under a deleted root (the app hides a deleted root with its thread)", () => {
    for (const rows of [devPlan.rows.Message, messages, buildPlan({ profile: "dev", seed: 7 }).rows.Message]) {
      let deletedThreads = 0;
      for (const [root, replies] of threadsOf(rows)) {
        if (!root.deletedAt) continue;
        deletedThreads += 1;
        for (const reply of replies) {
          expect(reply.deletedAt, `reply "${reply.content}" under a deleted root`).not.toBeNull();
          expect(+new Date(reply.deletedAt!)).toBeGreaterThanOrEqual(+new Date(root.deletedAt));
          expect(+new Date(reply.deletedAt!)).toBeGreaterThan(+new Date(reply.createdAt!));
          expect(+new Date(reply.updatedAt!)).toBeGreaterThanOrEqual(+new Date(reply.createdAt!));
        }
      }
      expect(deletedThreads).toBeGreaterThan(0);
    }
  });
});

describe("the dev profile's variety", () => {
  it("at the default seed: at least 95% of messages distinct, and none longer than 20 characters more than twice", () => {
    const rows = devPlan.rows.Message;
    const counts = new Map<string, number>();
    for (const { content } of rows) counts.set(content, (counts.get(content) ?? 0) + 1);
    expect(counts.size / rows.length).toBeGreaterThanOrEqual(0.95);
    const repeated = [...counts].filter(([content, n]) => content.length > 20 && n > 2);
    expect(repeated).toEqual([]);
  });

  it("at --scale 100: at least 90% of the messages longer than 20 characters distinct", () => {
    const counts = new Set<string>();
    let long = 0;
    for (const chunk of planChunks({ profile: "dev", scale: 100 })) {
      for (const { content } of chunk.Message) {
        if (content.length <= 20) continue;
        long += 1;
        counts.add(content);
      }
    }
    expect(long).toBeGreaterThan(90_000);
    expect(counts.size / long).toBeGreaterThanOrEqual(0.9);
  });

  it("give each user one voice in every channel: terse people write lowercase lines without a full stop, warm ones sign with their emoji", () => {
    const byAuthor = new Map<string, string[]>();
    for (const m of messages)
      if (!canonicalIds.has(m.id)) byAuthor.set(m.userId, [...(byAuthor.get(m.userId) ?? []), m.content]);
    const styles = new Set<string>();
    for (const [userId, texts] of byAuthor) {
      const voice = voiceOf(userId);
      styles.add(voice.style);
      for (const text of texts) {
        if (voice.style === "terse") {
          expect(/^[A-Z][a-z]/.test(text) || /[.!]$/.test(text), `terse: "${text}"`).toBe(false);
        } else if (voice.style === "warm") {
          expect(text.endsWith(voice.emoji), `warm (${voice.emoji}): "${text}"`).toBe(true);
        }
      }
    }
    expect([...styles].sort()).toEqual(["plain", "terse", "warm"]);
  });
});
