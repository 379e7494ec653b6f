import type { Random } from "../../random.ts";
import {
  COMPILED,
  replyText as composeReply,
  rootText as composeRoot,
  scene,
  voiceOf,
  type Scene,
  type ThreadState,
} from "./compose.ts";
import { channelTopic, type Topic } from "./conversations.ts";

/** What a scenario's thread is about, drawn at its root, so that its replies answer it. */
export interface Conversation {
  readonly scene: Scene;
  readonly topic: Topic;
  readonly state: ThreadState;
}

/** Who can be named in a message: the channel's members (and the author, if not one of them). */
export interface Cast {
  readonly names: readonly string[];
  readonly userIds: readonly string[];
  readonly author: number;
}

/**
 * The cast of a message: the channel's members by username, with the author's index among them
 * (an author who is not a member is added, so a negative test still gets text).
 *
 * @example
 * castOf([{ userId: "01…", username: "ada" }], { id: "01…", username: "ada" }).author; // 0
 */
export function castOf(
  members: readonly { userId: string; username: string }[],
  author: { id: string; username: string },
): Cast {
  const names = members.map((m) => m.username);
  const userIds = members.map((m) => m.userId);
  let index = userIds.indexOf(author.id);
  if (index < 0) {
    names.push(author.username);
    userIds.push(author.id);
    index = userIds.length - 1;
  }
  return { names, userIds, author: index };
}

/**
 * A root message's text for a channel, composed as the seeded workspace's are: a subject of the
 * channel's topic, the product's entities, a link that fits, in the author's own voice.
 *
 * @example
 * const { content, conversation } = rootText(rng, { name: "engineering", type: "public" }, cast, sentAt);
 */
export function rootText(
  rng: Random,
  channel: { name: string; type: "public" | "private" | "dm" },
  cast: Cast,
  sentAt: number,
): { content: string; conversation: Conversation } {
  const topic = channelTopic(channel.name, channel.type);
  const sc = scene(rng, rng.pick(COMPILED[topic]), sentAt, cast.author, cast.names.length);
  const content = composeRoot(
    rng,
    sc,
    { names: cast.names, author: cast.author, voice: voiceOf(cast.userIds[cast.author]!) },
    topic,
  );
  return { content, conversation: { scene: sc, topic, state: { said: new Set([content]), used: 0 } } };
}

/**
 * A reply that answers its root's subject; the last of a thread (`closing`) takes the answer,
 * decides or thanks. Never a text the thread already holds.
 *
 * @example
 * replyText(rng, conversation, cast, false);
 */
export function replyText(rng: Random, conversation: Conversation, cast: Cast, closing: boolean): string {
  const who = { names: cast.names, author: cast.author, voice: voiceOf(cast.userIds[cast.author]!) };
  return composeReply(rng, conversation.scene, who, conversation.topic, closing, conversation.state);
}
