import type { Random } from "../plan/random.ts";
import { REPLIES, ROOTS, ROOT_KINDS, SLOTS, channelTopic, type RootKind } from "../plan/fixtures/text/conversations.ts";

/** What a scenario's message reads like: the seed's own conversation text for its channel. */
export interface Text {
  readonly content: string;
  /** The root's kind, which its replies answer. */
  readonly kind: RootKind;
}

/**
 * A root message's text for a channel, from the same phrase banks as the seeded workspace:
 * its topic follows the channel's name and type; mentions name the channel's members.
 *
 * @example
 * rootText(rng, { name: "engineering", type: "public" }, ["ada", "grace"], 0).content;
 */
export function rootText(rng: Random, channel: { name: string; type: "public" | "private" | "dm" }, names: readonly string[], author: number): Text {
  const kind = rng.pick(ROOT_KINDS);
  return { kind, content: fill(rng, rng.pick(ROOTS[channelTopic(channel.name, channel.type)][kind]), names, author) };
}

/**
 * A reply's text that answers its root's kind: early replies answer or object, the last ones
 * thank or decide.
 *
 * @example
 * replyText(rng, "question", { index: 4, of: 5 }, ["ada", "grace"], 1);
 */
export function replyText(rng: Random, kind: RootKind, position: { index: number; of: number }, names: readonly string[], author: number, said: Set<string> = new Set()): string {
  const late = position.of > 2 && position.index === position.of - 1;
  const bank = REPLIES[kind][late ? "late" : "early"];
  // Nobody says the same thing twice in one thread.
  let text = fill(rng, rng.pick(bank), names, author);
  for (let tries = 0; said.has(text) && tries < 8; tries++) text = fill(rng, rng.pick(bank), names, author);
  said.add(text);
  return text;
}

/** Fills a template's slots: mentions of the channel's members, links at example domains, code, emoji. */
function fill(rng: Random, template: string, names: readonly string[], author: number): string {
  return template.replace(/\{(@|here|svc|pr|ticket|doc|code|block|emoji|:emoji:|n|day)\}/g, (_, slot: string) => {
    switch (slot) {
      case "@": {
        const others = names.filter((_, i) => i !== author);
        return others.length > 0 ? `@${rng.pick(others)}` : "@here";
      }
      case "here":
        return "@here";
      case "svc":
        return rng.pick(SLOTS.svc);
      case "pr":
        return `https://github.example.com/chatgenius/app/pull/${rng.int(100, 2999)}`;
      case "ticket":
        return `https://jira.example.org/browse/CG-${rng.int(100, 999)}`;
      case "doc":
        return `${rng.pick(SLOTS.docs)}${rng.pick(SLOTS.pages)}`;
      case "code":
      case "block":
        return rng.pick(SLOTS.code);
      case "emoji":
        return rng.pick(SLOTS.emoji);
      case ":emoji:":
        return rng.pick(SLOTS.shortcode);
      case "n":
        return String(rng.int(2, 9));
      default:
        return rng.pick(SLOTS.day);
    }
  });
}
