import type { ModelName, RowOf } from "../core/datamodel.ts";
import { HOUR, MINUTE } from "../plan/builders/clock.ts";
import { relationsOf, type Maker } from "../plan/builders/draw.ts";
import { makeFile } from "../plan/builders/files.ts";
import { makeMessageRead } from "../plan/builders/messageReads.ts";
import { makeMessage } from "../plan/builders/messages.ts";
import { MODELS } from "../plan/builders/models.ts";
import { makeReaction } from "../plan/builders/reactions.ts";
import { fakerFor } from "../plan/random.ts";
import { castOf, replyText, rootText, type Conversation } from "../plan/builders/text/cast.ts";
import { invalid, ms, type AnyHandle, type Decl } from "./declarations.ts";
import { checkScenarioRows } from "./check.ts";
import type {
  FileOptions,
  Handle,
  MessageOptions,
  MessageReadOptions,
  ModelRow,
  ReactionOptions,
  UserSettingsOptions,
  PlannedScenario,
} from "./types.ts";

import { PeoplePlanner } from "./plannerPeople.ts";
import { type ChannelState, type MessageState, SCENARIO_FROM, SECOND, createdAtOf, overrides } from "./plannerState.ts";

/** Turns declarations into rows, in declaration order (a handle always names an earlier row). */
export class Planner extends PeoplePlanner {
  run(decls: readonly Decl[]): PlannedScenario {
    for (const decl of decls) this.plan(decl);
    this.check();
    const rows = this.rows;
    const byPlace = this.byPlace;
    return {
      rows,
      get<M extends ModelName>(handle: Handle<M>): ModelRow<M> {
        const found = byPlace.get(handle as AnyHandle);
        if (!found) throw invalid(`${String((handle as AnyHandle)?.place ?? handle)} is not a row of this scenario`);
        return found.row as unknown as ModelRow<M>;
      },
      baseline: { users: [...this.baselineUsers], channels: [...this.baselineChannels] },
    };
  }

  private plan(decl: Decl): void {
    const handle = (decl as { handle?: AnyHandle }).handle!;
    switch (decl.kind) {
      case "user":
        this.users.set(handle, this.newUser(this.keyOf(decl), decl.place, decl.options, handle));
        return;
      case "existingUser": {
        const found = this.context.users.get(decl.username);
        if (!found)
          throw invalid(
            `${decl.place}: the database holds no user named '${decl.username}': seed it first, or declare a new one with user()`,
          );
        this.users.set(handle, {
          id: found.id,
          username: found.username,
          createdAt: ms(found.createdAt),
          deleted: found.deletedAt !== null,
          baseline: true,
        });
        this.byPlace.set(handle, { model: "User", row: (found.row ?? found) as unknown as Record<string, unknown> });
        this.contextPlaces.set(found.id, decl.place);
        this.contextRows.User.push({
          id: found.id,
          auth0Id: "",
          email: "",
          username: found.username,
          fullName: "",
          createdAt: found.createdAt,
          deletedAt: found.deletedAt,
        });
        return;
      }
      case "channel":
        this.channels.set(handle, this.newChannel(this.keyOf(decl), decl.place, decl.options, handle));
        return;
      case "existingChannel": {
        const found = this.context.channels.get(decl.name);
        if (!found)
          throw invalid(
            `${decl.place}: the database holds no live channel named '${decl.name}': seed it first, or declare a new one with channel()`,
          );
        const members = found.members.map((m) => ({
          userId: m.userId,
          username: m.username,
          role: m.role,
          joinedAt: ms(m.createdAt),
          active: m.deletedAt === null && !m.userDeleted,
        }));
        this.channels.set(handle, {
          id: found.id,
          name: found.name,
          type: found.type,
          createdAt: ms(found.createdAt),
          members,
          label: `#${found.name}`,
        });
        this.byPlace.set(handle, { model: "Channel", row: (found.row ?? found) as unknown as Record<string, unknown> });
        this.contextPlaces.set(found.id, decl.place);
        this.contextRows.Channel.push({
          id: found.id,
          name: found.name,
          type: found.type,
          createdBy: found.createdBy,
          createdAt: found.createdAt,
          archivedAt: found.archivedAt,
        });
        for (const m of found.members) this.contextMember(found.id, m);
        return;
      }
      case "channelMember":
        this.member(
          this.keyOf(decl),
          decl.place,
          this.channels.get(decl.channel)!,
          this.users.get(decl.user)!,
          decl.options,
          handle,
        );
        return;
      case "message":
        this.message(this.keyOf(decl), decl.place, decl.options, handle);
        return;
      case "reaction":
        this.reaction(this.keyOf(decl), decl.place, this.messages.get(decl.options.message)!, decl.options, handle);
        return;
      case "file":
        this.file(this.keyOf(decl), decl.place, this.messages.get(decl.options.message)!, decl.options, handle);
        return;
      case "messageRead":
        this.read(this.keyOf(decl), decl.place, decl.options, handle);
        return;
      case "row":
        this.row(this.keyOf(decl), decl.place, decl.model, decl.options as unknown as Record<string, unknown>, handle);
        return;
      case "userSettings":
      case "userStatus": {
        const user = this.users.get(decl.user)!;
        const row = decl.kind === "userSettings" ? user.settings : user.status;
        if (!row)
          throw invalid(
            `${decl.place}: ${user.username} is not a new user of this scenario: it has its ${decl.kind === "userSettings" ? "settings" : "status"} row already; change it in the test instead`,
          );
        const { mutedChannels, ...fields } = decl.options as UserSettingsOptions;
        Object.assign(
          row,
          fields,
          mutedChannels ? { mutedChannels: mutedChannels.map((c) => this.channels.get(c)!.id) } : {},
        );
        this.byPlace.set(handle, {
          model: decl.kind === "userSettings" ? "UserSettings" : "UserStatus",
          row: row as Record<string, unknown>,
        });
        return;
      }
    }
  }

  /** A membership the database holds, and its user, for the rules (never written). */

  // ---- messages ---------------------------------------------------------------------------

  private message(
    key: string,
    place: string,
    options: MessageOptions,
    handle?: AnyHandle,
    thread?: { root: MessageState; index: number; of: number },
  ): MessageState {
    const { rng } = this.stream(key);
    const root = thread?.root ?? (options.replyTo ? this.messages.get(options.replyTo)! : undefined);
    const channel = options.channel
      ? this.channels.get(options.channel)!
      : root
        ? root.channel
        : this.channelForMessage();
    const writers = channel.members.filter((m) => m.active);
    const pick = rng.next();
    let author: { id: string; joinedAt: number; username: string };
    if (options.author) {
      const user = this.users.get(options.author)!;
      const member = channel.members.find((m) => m.userId === user.id);
      author = { id: user.id, username: user.username, joinedAt: member?.joinedAt ?? user.createdAt };
    } else {
      // A reply's author is preferably someone other than the root's.
      const candidates = root && writers.length > 1 ? writers.filter((m) => m.userId !== root.row.userId) : writers;
      const chosen = candidates[Math.floor(pick * candidates.length)];
      if (!chosen)
        throw invalid(
          `${place}: nobody can write in ${channel.label} (it has no active member): give it members, or give the message an author`,
        );
      author = { id: chosen.userId, username: chosen.username, joinedAt: chosen.joinedAt };
    }
    const parentsAt = root
      ? Math.max(root.lastReplyAt, author.joinedAt)
      : Math.max(SCENARIO_FROM, channel.createdAt, author.joinedAt);
    const createdAt = createdAtOf(
      options,
      () => parentsAt + (root ? rng.int(5 * SECOND, 3 * MINUTE) : rng.int(SECOND, 10 * MINUTE)),
    );
    const cast = castOf(channel.members, author);
    // The last of a thread of two or more (`replies: n`) closes it; a reply declared on its own answers.
    const closing = thread !== undefined && thread.of >= 2 && thread.index === thread.of - 1;
    let text: { content: string; conversation: Conversation };
    if (root) {
      root.conversation ??= rootText(
        rng,
        channel,
        castOf(channel.members, author),
        ms(root.row.createdAt!),
      ).conversation;
      text = { content: replyText(rng, root.conversation, cast, closing), conversation: root.conversation };
    } else text = rootText(rng, channel, cast, createdAt);
    const traits = new Set(options.traits ?? []);
    // A deleted root hides its thread: its replies are deleted with it.
    const rootDeletedAt = root?.row.deletedAt ? ms(root.row.deletedAt) : null;
    const deletedAt = traits.has("deleted")
      ? createdAt + HOUR
      : rootDeletedAt !== null
        ? Math.max(rootDeletedAt, createdAt + MINUTE)
        : null;
    const made = makeMessage(
      {
        rng,
        faker: () => fakerFor(this.seed, `scenario:${key}`),
        createdAt,
        refs: { channelId: channel.id, userId: author.id, threadId: root ? root.row.id : null },
      },
      { content: text.content, edited: traits.has("edited"), deletedAt },
    );
    const row: RowOf<"Message"> = {
      ...made,
      ...overrides(options, createdAt, ["channel", "author", "replyTo", "replies", "reactions", "files"]),
    };
    const label = key === place ? place : `"${key}"`;
    this.record(
      handle,
      "Message",
      row as unknown as Record<string, unknown>,
      root ? `${place} (reply to ${root.label})` : place,
    );
    const state: MessageState = {
      row,
      channel,
      conversation: text.conversation,
      label,
      replies: 0,
      lastReplyAt: createdAt,
      reacted: new Set(),
    };
    if (root) {
      root.replies += 1;
      root.lastReplyAt = Math.max(root.lastReplyAt, createdAt);
    }
    if (handle) this.messages.set(handle, state);
    const replies = options.replies ?? 0;
    for (let i = 0; i < replies; i++) {
      const replyKey = `${key}.replies[${i}]`;
      const placeOf = `${place}.replies[${i}]`;
      this.message(replyKey, placeOf, {}, undefined, { root: state, index: i, of: replies });
    }
    for (let i = 0; i < (options.reactions ?? 0); i++)
      this.reaction(`${key}.reactions[${i}]`, `${place}.reactions[${i}]`, state, {} as ReactionOptions);
    for (let i = 0; i < (options.files ?? 0); i++)
      this.file(`${key}.files[${i}]`, `${place}.files[${i}]`, state, {} as FileOptions);
    return state;
  }

  private reaction(
    key: string,
    place: string,
    message: MessageState,
    options: Partial<ReactionOptions>,
    handle?: AnyHandle,
  ): void {
    const { rng } = this.stream(key);
    let user: { id: string; joinedAt: number };
    if (options.user) {
      const u = this.users.get(options.user)!;
      user = { id: u.id, joinedAt: message.channel.members.find((m) => m.userId === u.id)?.joinedAt ?? u.createdAt };
    } else {
      const candidates = message.channel.members.filter((m) => m.active && !message.reacted.has(m.userId));
      const chosen = candidates[Math.floor(rng.next() * candidates.length)];
      if (!chosen)
        throw invalid(
          `${place}: every member of ${message.channel.label} has reacted to ${message.label} already: add members to the channel, or fewer reactions`,
        );
      user = { id: chosen.userId, joinedAt: chosen.joinedAt };
    }
    message.reacted.add(user.id);
    const createdAt = createdAtOf(
      options,
      () => Math.max(ms(message.row.createdAt!), user.joinedAt) + rng.int(SECOND, 5 * MINUTE),
    );
    const made = makeReaction(
      {
        rng,
        faker: () => fakerFor(this.seed, `scenario:${key}`),
        createdAt,
        refs: { messageId: message.row.id, userId: user.id },
      },
      { emoji: options.emoji },
    );
    const row: RowOf<"Reaction"> = { ...made, ...overrides(options, createdAt, ["message", "user"]) };
    this.record(
      handle,
      "Reaction",
      row as unknown as Record<string, unknown>,
      `${place} (reaction to ${message.label})`,
    );
  }

  private file(
    key: string,
    place: string,
    message: MessageState,
    options: Partial<FileOptions>,
    handle?: AnyHandle,
  ): void {
    const { rng } = this.stream(key);
    const userId = options.user ? this.users.get(options.user)!.id : message.row.userId;
    const createdAt = createdAtOf(options, () => ms(message.row.createdAt!));
    const made = makeFile(
      {
        rng,
        faker: () => fakerFor(this.seed, `scenario:${key}`),
        createdAt,
        refs: { messageId: message.row.id, userId },
      },
      { deletedAt: (options.traits ?? []).includes("deleted") ? createdAt + HOUR : null },
    );
    const row: RowOf<"File"> = { ...made, ...overrides(options, createdAt, ["message", "user"]) };
    this.record(handle, "File", row as unknown as Record<string, unknown>, `${place} (file on ${message.label})`);
  }

  /**
   * A row of any model from its maker: its relations are the rows their handles name, its time
   * after theirs (and after the scenario's start), its columns the overrides given. Then the
   * states the other declarations read are told of it, so a `row()` user, channel, membership or
   * message can be handed to the methods that fill in relations.
   */
  private row(key: string, place: string, model: ModelName, options: Record<string, unknown>, handle: AnyHandle): void {
    const { rng } = this.stream(key);
    const relations = relationsOf(model);
    const refs: Record<string, unknown> = {};
    const parents: Record<string, Record<string, unknown>> = {};
    for (const relation of relations) {
      const parent = options[relation.name] ? this.byPlace.get(options[relation.name] as AnyHandle) : undefined;
      refs[relation.field] = parent ? parent.row.id : null;
      if (parent) parents[relation.field] = parent.row;
    }
    const after = Object.values(parents)
      .map((p) => (p.createdAt === undefined ? Number.NaN : ms(p.createdAt as Date)))
      .filter((t) => !Number.isNaN(t));
    const createdAt = createdAtOf(
      options as { createdAt?: Date },
      () => Math.max(SCENARIO_FROM, ...after) + rng.int(SECOND, MINUTE),
    );
    const make = MODELS[model].make as Maker<ModelName>;
    const made = make({
      rng,
      faker: () => fakerFor(this.seed, `scenario:${key}`),
      createdAt,
      refs: refs as never,
      parents: parents as never,
    }) as unknown as Record<string, unknown>;
    const row = {
      ...made,
      ...overrides(
        options,
        createdAt,
        relations.map((r) => r.name),
      ),
    };
    this.record(handle, model, row, place);
    this.track(model, row, handle, key === place ? place : `"${key}"`);
  }

  /** Tells the planner's states of a row() row, as if a method had made it. */
  private track(model: ModelName, row: Record<string, unknown>, handle: AnyHandle, label: string): void {
    const channelOf = (id: unknown) =>
      [...this.channels.values(), ...(this.general ? [this.general] : [])].find((c) => c.id === id);
    const createdAt = ms(row.createdAt as Date);
    if (model === "User") {
      const username = String(row.username);
      this.usernames.add(username);
      this.users.set(handle, {
        id: String(row.id),
        username,
        createdAt,
        deleted: row.deletedAt != null,
        baseline: false,
      });
    } else if (model === "Channel") {
      const type = row.type as ChannelState["type"];
      this.channels.set(handle, { id: String(row.id), name: String(row.name), type, createdAt, members: [], label });
    } else if (model === "ChannelMember") {
      const user = [...this.users.values()].find((u) => u.id === row.userId);
      channelOf(row.channelId)?.members.push({
        userId: String(row.userId),
        username: user?.username ?? "someone",
        role: String(row.role),
        joinedAt: createdAt,
        active: !row.deletedAt && !user?.deleted,
        row: row as unknown as RowOf<"ChannelMember">,
      });
    } else if (model === "Message") {
      const channel = channelOf(row.channelId);
      if (!channel) return;
      const state: MessageState = {
        row: row as unknown as RowOf<"Message">,
        channel,
        label,
        replies: 0,
        lastReplyAt: createdAt,
        reacted: new Set(),
      };
      this.messages.set(handle, state);
      const root = [...this.messages.values()].find((m) => m.row.id === row.threadId);
      if (root) {
        root.replies += 1;
        root.lastReplyAt = Math.max(root.lastReplyAt, createdAt);
      }
    }
  }

  private read(key: string, place: string, options: MessageReadOptions, handle: AnyHandle): void {
    const { rng } = this.stream(key);
    const message = this.messages.get(options.message)!;
    const user = this.users.get(options.user)!;
    const createdAt = createdAtOf(
      options,
      () => Math.max(ms(message.row.createdAt!), user.createdAt) + rng.int(SECOND, 10 * MINUTE),
    );
    const made = makeMessageRead({
      rng,
      faker: () => fakerFor(this.seed, `scenario:${key}`),
      createdAt,
      refs: { userId: user.id, channelId: message.channel.id, lastReadMessageId: message.row.id },
    });
    const row: RowOf<"MessageRead"> = { ...made, ...overrides(options, createdAt, ["message", "user"]) };
    this.record(
      handle,
      "MessageRead",
      row as unknown as Record<string, unknown>,
      `${place} (read marker of ${user.username})`,
    );
  }

  /** Every rule, validator and key the rows keep, with the existing rows they touch (see checkScenarioRows). */

  private check(): void {
    checkScenarioRows({
      rows: this.rows,
      contextRows: this.contextRows,
      places: this.places,
      contextPlaces: this.contextPlaces,
      allow: this.allow,
    });
  }
}
