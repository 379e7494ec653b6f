import type { ModelName, RowOf } from "../core/datamodel.ts";
import { HOUR, MINUTE, at } from "../plan/builders/clock.ts";
import { FILE_TYPES } from "../plan/builders/files.ts";
import { REACTION_EMOJI } from "../plan/builders/reactions.ts";
import { fakerFor } from "../plan/random.ts";
import { ulid } from "../plan/ulid.ts";
import { FILE_LIMITS } from "../plan/validators.ts";
import { castOf, replyText, rootText } from "../plan/builders/text/cast.ts";
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
import { type MessageState, SCENARIO_FROM, SECOND, createdAtOf, overrides } from "./plannerState.ts";

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
    const id = ulid(createdAt, rng);
    const cast = castOf(channel.members, author);
    // The last of a thread of two or more (`replies: n`) closes it; a reply declared on its own answers.
    const closing = thread !== undefined && thread.of >= 2 && thread.index === thread.of - 1;
    const text = root
      ? { content: replyText(rng, root.conversation, cast, closing), conversation: root.conversation }
      : rootText(rng, channel, cast, createdAt);
    const traits = new Set(options.traits ?? []);
    const editedAt = createdAt + rng.int(MINUTE, 30 * MINUTE);
    const deletedOwn = createdAt + rng.int(10 * MINUTE, HOUR);
    // A deleted root hides its thread: its replies are deleted with it.
    const rootDeletedAt = root?.row.deletedAt ? ms(root.row.deletedAt) : null;
    const deletedAt = traits.has("deleted")
      ? deletedOwn
      : rootDeletedAt !== null
        ? Math.max(rootDeletedAt, createdAt + MINUTE)
        : null;
    const row: RowOf<"Message"> = {
      id,
      channelId: channel.id,
      userId: author.id,
      content: text.content,
      threadId: root ? root.row.id : null,
      edited: traits.has("edited"),
      createdAt: at(createdAt),
      updatedAt: at(Math.max(createdAt, traits.has("edited") ? editedAt : 0, deletedAt ?? 0)),
      deletedAt: deletedAt === null ? null : at(deletedAt),
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
    const emoji = options.emoji ?? rng.pick(REACTION_EMOJI);
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
    const row: RowOf<"Reaction"> = {
      id: ulid(createdAt, rng),
      messageId: message.row.id,
      userId: user.id,
      emoji,
      createdAt: at(createdAt),
      updatedAt: at(createdAt),
      ...overrides(options, createdAt, ["message", "user"]),
    };
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
    const faker = fakerFor(this.seed, `scenario:${key}`);
    const [ext, type] = rng.pick(FILE_TYPES);
    const name = faker.system.commonFileName(ext);
    const userId = options.user ? this.users.get(options.user)!.id : message.row.userId;
    const createdAt = createdAtOf(options, () => ms(message.row.createdAt!));
    const id = ulid(createdAt, rng);
    const size = BigInt(rng.int(512, FILE_LIMITS.maxBytes));
    const deletedAt = (options.traits ?? []).includes("deleted") ? createdAt + HOUR : null;
    const row: RowOf<"File"> = {
      id,
      messageId: message.row.id,
      userId,
      name,
      type,
      size,
      url: `https://files.chatgenius.example/${id.toLowerCase()}/${encodeURIComponent(name)}`,
      createdAt: at(createdAt),
      updatedAt: at(deletedAt ?? createdAt),
      deletedAt: deletedAt === null ? null : at(deletedAt),
      ...overrides(options, createdAt, ["message", "user"]),
    };
    this.record(handle, "File", row as unknown as Record<string, unknown>, `${place} (file on ${message.label})`);
  }

  private read(key: string, place: string, options: MessageReadOptions, handle: AnyHandle): void {
    const { rng } = this.stream(key);
    const message = this.messages.get(options.message)!;
    const user = this.users.get(options.user)!;
    const createdAt = createdAtOf(
      options,
      () => Math.max(ms(message.row.createdAt!), user.createdAt) + rng.int(SECOND, 10 * MINUTE),
    );
    const row: RowOf<"MessageRead"> = {
      id: ulid(createdAt, rng),
      userId: user.id,
      channelId: message.channel.id,
      lastReadMessageId: message.row.id,
      createdAt: at(createdAt),
      updatedAt: at(createdAt),
      ...overrides(options, createdAt, ["message", "user"]),
    };
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
