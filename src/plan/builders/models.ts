import type { Faker } from "@faker-js/faker";
import { emptyRows, type ModelName, type RowOf } from "../../core/datamodel.ts";
import { Random, fakerFor } from "../random.ts";
import { buildChannelMembers, makeChannelMember } from "./channelMembers.ts";
import { buildChannels, makeChannel } from "./channels.ts";
import type { Maker, Refs } from "./draw.ts";
import { buildFiles, makeFile } from "./files.ts";
import { buildMessageReads, makeMessageRead } from "./messageReads.ts";
import { buildMessages, makeMessage } from "./messages.ts";
import { buildReactions, makeReaction } from "./reactions.ts";
import { MINUTE, WINDOW_END } from "./clock.ts";
import { groupBy, messageWindow, ms, type SliceInput } from "./slice.ts";
import { buildUserSettings, makeUserSettings } from "./userSettings.ts";
import { buildUserStatus, makeUserStatus } from "./userStatus.ts";
import { buildUsers, isActive, makeUser } from "./users.ts";

/**
 * What one slice's builders read: the slice, the rows of the models built before (insert order:
 * parents first), and what several builders derive from them, computed once.
 */
export class SliceParts {
  readonly rows = emptyRows();
  private channelsAndRosters?: ReturnType<typeof buildChannels>;
  private members?: Map<string, string[]>;
  private deadlines?: Map<string, number>;
  private readonly streams = new Map<string, Random>();

  constructor(readonly slice: SliceInput) {}

  /** The slice's channels and who will be their members, creator first. */
  channels(): ReturnType<typeof buildChannels> {
    this.channelsAndRosters ??= buildChannels(this.slice, this.rows.User);
    return this.channelsAndRosters;
  }

  /** Who can write, react and read in each channel: its members who have not left it or the app. */
  membersByChannel(): Map<string, string[]> {
    if (!this.members) {
      const active = new Set([...this.rows.User, ...this.slice.canonical.users].filter(isActive).map((u) => u.id));
      this.members = groupBy(
        this.rows.ChannelMember,
        (m) => (active.has(m.userId) && !m.deletedAt ? m.channelId : undefined),
        (m) => m.userId,
      );
    }
    return this.members;
  }

  /** The last moment a channel takes messages and reactions (its archiving, else the window's end). */
  deadline(channelId: string): number {
    this.deadlines ??= new Map(this.rows.Channel.map((c) => [c.id, messageWindow(c).to]));
    return this.deadlines.get(channelId) ?? messageWindow(this.slice.canonical.general).to;
  }

  usernames(): Map<string, string> {
    return new Map([...this.slice.canonical.users, ...this.rows.User].map((u) => [u.id, u.username]));
  }

  /**
   * A random stream of this slice of its own, by name (`Bookmark`, `Message.pinnedAt`): the same
   * one on every call. A model or a column added later draws from a stream of its own, so no
   * other row or value shifts.
   */
  rng(name: string): Random {
    let rng = this.streams.get(name);
    if (!rng) this.streams.set(name, (rng = new Random(this.slice.seed, `${name}:${this.slice.index}`)));
    return rng;
  }

  /**
   * A moment up to `within` ms after `row` was made (at least a minute), drawn from the stream
   * `name`, never past the seed's window: when a row that hangs off another was made.
   *
   * @example
   * parts.after("Bookmark", message, DAY);
   */
  after(name: string, row: { readonly createdAt?: Date | string }, within: number): number {
    return Math.min(ms(row.createdAt) + this.rng(name).int(MINUTE, within), WINDOW_END);
  }

  /**
   * One row of `model` from its maker, drawn from the model's stream in this slice.
   *
   * @example
   * parts.make("Bookmark", sentAt + HOUR, { userId, messageId });
   */
  make<M extends ModelName>(model: M, createdAt: number, refs: Refs<M>): RowOf<M> {
    const faker = (): Faker => fakerFor(this.slice.seed, `${model}:${this.slice.index}`);
    return (MODELS[model].make as Maker<M>)({ rng: this.rng(model), faker, createdAt, refs });
  }
}

/** How the seed makes a model's rows: its one default row, and the rows a dev slice holds. */
export interface ModelBuilder<M extends ModelName> {
  /**
   * The model's default row from a draw (streams, time, foreign keys): the seed's builders and
   * a scenario's `row()` both make the model's rows with it.
   */
  readonly make: Maker<M>;
  /** The rows one slice of the dev profile holds, given the rows of the models built before it. */
  readonly slice: (parts: SliceParts) => RowOf<M>[];
}

/**
 * Every model of seed data, keyed by the datamodel's model names: a model added to
 * schema.prisma fails `npm run typecheck` here until it has its maker and its slice builder.
 * Each slice builder draws from random streams of its own, so adding one leaves every other
 * table's rows as they were. Insert order (parents first) comes from the schema, not from here.
 */
export const MODELS: { readonly [M in ModelName]: ModelBuilder<M> } = {
  User: { make: (d) => makeUser(d), slice: (p) => buildUsers(p.slice) },
  Channel: { make: (d) => makeChannel(d), slice: (p) => p.channels().channels },
  ChannelMember: {
    make: (d) => makeChannelMember(d),
    slice: (p) => buildChannelMembers(p.slice, p.rows.User, p.channels().rosters),
  },
  Message: {
    make: (d) => makeMessage(d),
    slice: (p) => buildMessages(p.slice, p.rows.Channel, p.membersByChannel(), p.usernames()),
  },
  Reaction: {
    make: (d) => makeReaction(d),
    slice: (p) => buildReactions(p.slice, p.rows.Message, p.membersByChannel(), (id) => p.deadline(id)),
  },
  File: { make: (d) => makeFile(d), slice: (p) => buildFiles(p.slice, p.rows.Message) },
  MessageRead: {
    make: (d) => makeMessageRead(d),
    slice: (p) => buildMessageReads(p.slice, p.rows.Message, p.membersByChannel(), p.rows.Channel),
  },
  UserSettings: {
    make: (d) => makeUserSettings(d),
    slice: (p) => buildUserSettings(p.slice, p.rows.User, p.rows.ChannelMember, p.rows.Channel),
  },
  UserStatus: { make: (d) => makeUserStatus(d), slice: (p) => buildUserStatus(p.slice, p.rows.User) },
};
