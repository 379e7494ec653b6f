import type { ModelName, RowOf, Rows } from "../core/datamodel.ts";
import type { Prisma } from "../generated/prisma/client.ts";
import type { ForeignKeyField, RelationOf } from "../plan/builders/draw.ts";

declare const modelBrand: unique symbol;

/**
 * A row of a scenario, as the calls that declare rows return it: pass it where another row
 * needs it (`channel: ops`, `replyTo: root`). It is not an id: a raw id where a handle is
 * expected does not compile, and the row it names gets its id only when the scenario is planned.
 *
 * @example
 * const ops = s.channel({ traits: ["private"] }); // Handle<"Channel">
 * s.message({ channel: ops });
 */
export interface Handle<M extends ModelName> {
  readonly [modelBrand]: M;
  readonly model: M;
  /** Where the row was declared: `messages[3]`, `messages[0].replies[2]`, or its `key`. */
  readonly place: string;
}

/** The row a model's table holds, as Prisma's client returns it (`Prisma.MessageModel`, …). */
export type ModelRow<M extends ModelName> = Prisma.TypeMap["model"][M]["payload"]["scalars"];

/** A model's own columns as Prisma's generated input types them, all optional; ids and foreign keys excluded. */
export type Fields<M extends ModelName, ForeignKeys extends keyof RowOf<M> = never> = Partial<
  Omit<RowOf<M>, "id" | ForeignKeys>
>;

/** What every declaration takes: a `key` pins the row's values wherever it moves in the scenario. */
export interface Keyed {
  /** A name of your own for the row: its values are drawn from it instead of its place, and error lines use it. */
  readonly key?: string;
}

export const USER_TRAITS = ["deleted", "google"] as const;
export const CHANNEL_TRAITS = ["public", "private", "dm", "archived", "deleted"] as const;
export const MEMBER_TRAITS = ["left"] as const;
export const MESSAGE_TRAITS = ["edited", "deleted"] as const;
export const FILE_TRAITS = ["deleted"] as const;

/** `deleted`: the user has left (soft-deleted); `google`: a Google account (`google-oauth2|1…`). */
export type UserTrait = (typeof USER_TRAITS)[number];
/** The channel's type (`public` is the default), `archived` (read-only), `deleted` (soft-deleted). */
export type ChannelTrait = (typeof CHANNEL_TRAITS)[number];
/** `left`: the membership is soft-deleted (the user left the channel). */
export type MemberTrait = (typeof MEMBER_TRAITS)[number];
/** `edited`, `deleted` (soft-deleted: a deleted root's replies are deleted with it). */
export type MessageTrait = (typeof MESSAGE_TRAITS)[number];
/** `deleted`: the attachment was removed. */
export type FileTrait = (typeof FILE_TRAITS)[number];

export interface UserOptions extends Fields<"User">, Keyed {
  readonly traits?: readonly UserTrait[];
}

export interface ChannelOptions extends Fields<"Channel", "createdBy" | "archivedBy">, Keyed {
  readonly traits?: readonly ChannelTrait[];
  /** Who created it (its owner). Default: the first member. */
  readonly creator?: Handle<"User">;
  /**
   * Its members, creator included: a count (recycled from the seeded baseline's users —
   * testuser1, testuser2, testuser3 — then new users), or the users themselves. Default: 3,
   * and 2 for a DM.
   */
  readonly members?: number | readonly Handle<"User">[];
  /** Who archived it (with the `archived` trait). Default: its creator. */
  readonly archivedBy?: Handle<"User">;
}

export interface ChannelMemberOptions extends Fields<"ChannelMember", "channelId" | "userId">, Keyed {
  readonly traits?: readonly MemberTrait[];
}

export interface MessageOptions extends Fields<"Message", "channelId" | "userId" | "threadId">, Keyed {
  readonly traits?: readonly MessageTrait[];
  /** Default: the reply's root's channel, else the seeded `#general` (or, without recycling, one new channel). */
  readonly channel?: Handle<"Channel">;
  /** Default: one of the channel's members. */
  readonly author?: Handle<"User">;
  /** Makes it a reply in that message's thread. */
  readonly replyTo?: Handle<"Message">;
  /** A thread of this many replies under it, by the channel's members. */
  readonly replies?: number;
  /** This many of the channel's members react to it, one emoji each. */
  readonly reactions?: number;
  /** This many attachments uploaded by its author. */
  readonly files?: number;
}

export interface ReactionOptions extends Fields<"Reaction", "messageId" | "userId">, Keyed {
  readonly message: Handle<"Message">;
  /** Default: a member of the message's channel who has not reacted to it yet. */
  readonly user?: Handle<"User">;
}

export interface FileOptions extends Fields<"File", "messageId" | "userId">, Keyed {
  readonly message: Handle<"Message">;
  /** Default: the message's author. */
  readonly user?: Handle<"User">;
  readonly traits?: readonly FileTrait[];
}

export interface MessageReadOptions extends Fields<"MessageRead", "userId" | "channelId" | "lastReadMessageId">, Keyed {
  readonly user: Handle<"User">;
  /** The last message the user has read; the marker is in its channel. */
  readonly message: Handle<"Message">;
}

/** A new user's settings: the model's columns, with muted channels given as handles. */
export interface UserSettingsOptions extends Omit<Fields<"UserSettings", "userId">, "mutedChannels"> {
  readonly mutedChannels?: readonly Handle<"Channel">[];
}

/** A new user's status: the model's columns. */
export type UserStatusOptions = Fields<"UserStatus", "userId">;

/** True when the foreign key a relation holds may be null (left out). */
type Nullable<
  M extends ModelName,
  R extends RelationOf<M>,
> = undefined extends RowOf<M>[R["relationFromFields"][number] & keyof RowOf<M>] ? true : false;

/**
 * A model's relations that hold a foreign key, each taking a handle of the model it points at
 * (derived from the schema): required where the key is, optional (or null) where it may be null.
 *
 * @example
 * const refs: RelationHandles<"Reaction"> = { message: root, user: ada }; // { messageId, userId } as handles
 */
export type RelationHandles<M extends ModelName> = {
  readonly [R in RelationOf<M> as Nullable<M, R> extends true ? never : R["name"]]: Handle<R["type"] & ModelName>;
} & {
  readonly [R in RelationOf<M> as Nullable<M, R> extends true ? R["name"] : never]?: Handle<
    R["type"] & ModelName
  > | null;
};

/**
 * What `row(model, …)` takes for any model of the schema: its columns as Prisma types them (all
 * optional: the model's maker fills in the rest), its relations as handles, never raw ids.
 *
 * @example
 * s.row("Reaction", { message: root, user: ada, emoji: "🎉" });
 */
export type RowOptions<M extends ModelName> = Fields<M, ForeignKeyField<M>> & RelationHandles<M> & Keyed;

/** A count's overrides: the same for every row, or per row from its index (sequences for unique fields). */
export type PerRow<O> = O | ((index: number) => O);

/** Rows of the database a scenario refers to: what the seeded baseline holds, or a lookup found. */
export interface ScenarioContext {
  /** Users found by username (`existingUser`). */
  readonly users: ReadonlyMap<string, ExistingUser>;
  /** Channels found by name (`existingChannel`), with their members. */
  readonly channels: ReadonlyMap<string, ExistingChannel>;
  /** Members of the baseline's `#general` in the database (rules only; defaults use the canonical ones). */
  readonly generalMembers?: readonly ExistingMember[];
}

export interface ExistingUser {
  readonly id: string;
  readonly username: string;
  readonly createdAt: Date;
  readonly deletedAt: Date | null;
  /** The whole row, as Prisma's client types it (what `get()` returns for its handle). */
  readonly row?: ModelRow<"User">;
}
export interface ExistingMember {
  readonly userId: string;
  readonly username: string;
  readonly role: "owner" | "admin" | "member";
  readonly createdAt: Date;
  readonly deletedAt: Date | null;
  readonly userDeleted: boolean;
}
export interface ExistingChannel {
  readonly id: string;
  readonly name: string;
  readonly type: "public" | "private" | "dm";
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly archivedAt: Date | null;
  readonly members: readonly ExistingMember[];
  /** The whole row, as Prisma's client types it (what `get()` returns for its handle). */
  readonly row?: ModelRow<"Channel">;
}

/** What planning needs to know about the database before it can draw rows. */
export interface ScenarioLookups {
  readonly usernames: readonly string[];
  readonly channelNames: readonly string[];
  /** Whether the baseline's `#general` may be recycled (its members in the database count for the rules). */
  readonly general: boolean;
}

/** The seeded baseline's rows a planned scenario recycles: the database must hold them. */
export interface Baseline {
  readonly users: readonly string[];
  readonly channels: readonly string[];
}

/** The planned rows of a scenario, table by table, and each declared row by its handle. */
export interface PlannedScenario {
  readonly rows: Rows;
  /** The seeded baseline's users (by username) and channels (by name) it recycles. */
  readonly baseline: Baseline;
  /** The row a handle names, typed as Prisma's client returns it. */
  get<M extends ModelName>(handle: Handle<M>): ModelRow<M>;
}
