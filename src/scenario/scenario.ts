import { createHash } from "node:crypto";
import { insertOrder, tableOf, type ModelName, type RowOf, type Rows } from "../core/datamodel.ts";
import * as ENUMS from "../generated/prisma/enums.ts";
import { SeedError } from "../core/errors.ts";
import {
  buildCanonical,
  DEFAULT_NOTIFICATIONS,
  DEFAULT_OFFLINE_SYNC,
  type CanonicalRows,
} from "../plan/builders/canonical.ts";
import { DAY, HOUR, MINUTE, WINDOW_END, at } from "../plan/builders/clock.ts";
import { FILE_TYPES } from "../plan/builders/files.ts";
import { REACTION_EMOJI } from "../plan/builders/reactions.ts";
import { DEFAULT_SEED, emptyRows } from "../plan/plan.ts";
import { Random, fakerFor } from "../plan/random.ts";
import { RULES, checkRules, type Violation } from "../plan/rules.ts";
import { ulid } from "../plan/ulid.ts";
import { validateRows } from "../plan/validate.ts";
import { APP_VALIDATORS, FILE_LIMITS, checkAppValidators, dmChannelName } from "../plan/validators.ts";
import { castOf, replyText, rootText, type Conversation } from "./content.ts";
import { assertBaseline, insertRows, lookupContext, type ScenarioDatabase } from "./database.ts";
import {
  CHANNEL_TRAITS,
  FILE_TRAITS,
  MEMBER_TRAITS,
  MESSAGE_TRAITS,
  USER_TRAITS,
  type ChannelMemberOptions,
  type ChannelOptions,
  type FileOptions,
  type Handle,
  type MessageOptions,
  type MessageReadOptions,
  type ModelRow,
  type PerRow,
  type ReactionOptions,
  type UserOptions,
  type UserSettingsOptions,
  type UserStatusOptions,
  type PlannedScenario,
  type ScenarioContext,
  type ScenarioLookups,
  type ExistingMember,
} from "./types.ts";

/**
 * The ids of the rules and validators a scenario keeps, which `allow` can name.
 *
 * @example
 * SCENARIO_RULES.includes("reply-same-channel"); // true
 */
export const SCENARIO_RULES: readonly string[] = [...RULES.map((r) => r.id), ...APP_VALIDATORS.map((v) => v.id)];

/** How a scenario is built. */
export interface ScenarioOptions {
  /** Every default value is drawn from this seed and the row's place. Default: the seed's default (20250106). */
  readonly seed?: number;
  /**
   * Parents a declaration leaves out come from the seeded baseline (testuser1–3 and `#general`,
   * present in every profile), as Laravel's `recycle()` does. `false`: new ones are created.
   * Default: true.
   */
  readonly recycle?: boolean;
  /** Rules or validators (by id: `author-is-member`, `channel-name`, …) a negative test may break. */
  readonly allow?: readonly string[];
}

type AnyHandle = Handle<ModelName>;
type Decl =
  | { kind: "user"; place: string; options: UserOptions }
  | { kind: "existingUser"; place: string; username: string }
  | { kind: "channel"; place: string; options: ChannelOptions }
  | { kind: "existingChannel"; place: string; name: string }
  | { kind: "channelMember"; place: string; channel: AnyHandle; user: AnyHandle; options: ChannelMemberOptions }
  | { kind: "message"; place: string; options: MessageOptions }
  | { kind: "reaction"; place: string; options: ReactionOptions }
  | { kind: "file"; place: string; options: FileOptions }
  | { kind: "messageRead"; place: string; options: MessageReadOptions }
  | { kind: "userSettings"; place: string; user: AnyHandle; options: UserSettingsOptions }
  | { kind: "userStatus"; place: string; user: AnyHandle; options: UserStatusOptions };

const PLURAL: Record<Decl["kind"], string> = {
  user: "users",
  existingUser: "users",
  channel: "channels",
  existingChannel: "channels",
  channelMember: "channelMembers",
  message: "messages",
  reaction: "reactions",
  file: "files",
  messageRead: "messageReads",
  userSettings: "userSettings",
  userStatus: "userStatus",
};

/** Every generated timestamp of a scenario lies after this (two days before the seed's window ends), after its parents. */
const SCENARIO_FROM = WINDOW_END - 2 * DAY;
const SECOND = 1000;
const CHANNEL_WORDS = [
  "launch",
  "release",
  "incident",
  "roadmap",
  "onboarding",
  "search",
  "billing",
  "mobile",
  "api",
  "design-review",
  "support-escalations",
  "offsite",
  "hiring",
  "perf",
] as const;

function invalid(message: string): SeedError {
  return new SeedError("INVALID_SCENARIO", `scenario: ${message}`);
}

/**
 * A scenario: the rows a test needs, declared in a few typed lines, planned from the seed's
 * own builders and checked against the app's rules before anything is written. Declaring
 * returns handles; `plan()` draws the rows (pure); `create(db)` writes them in one statement.
 *
 * @example
 * const s = new Scenario({ seed: 7, allow: ["author-is-member"] }); // as scenario({ … })
 * s.message({ author: s.user() }); // a negative test: an author who is not a member
 * await s.create(pool);
 */
export class Scenario {
  readonly seed: number;
  readonly recycle: boolean;
  readonly allow: ReadonlySet<string>;
  private readonly decls: Decl[] = [];
  private readonly counters = new Map<string, number>();
  private readonly handles = new Set<AnyHandle>();
  private readonly keys = new Set<string>();

  constructor(options: ScenarioOptions = {}) {
    const seed = options.seed ?? DEFAULT_SEED;
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw invalid(`seed ${String(seed)} is not a whole number ≥ 0: pass e.g. scenario({ seed: 42 })`);
    for (const rule of options.allow ?? []) {
      if (!SCENARIO_RULES.includes(rule))
        throw invalid(`allow names '${rule}', which is no rule: use one of ${SCENARIO_RULES.join(", ")}`);
    }
    this.seed = seed;
    this.recycle = options.recycle ?? true;
    this.allow = new Set(options.allow ?? []);
  }

  /** A new user, with the settings and status rows the app expects. */
  user(options: UserOptions = {}): Handle<"User"> {
    this.traits("user", options.traits, USER_TRAITS);
    this.fields("user", "User", options, [], ["key", "traits"]);
    return this.declare("User", { kind: "user", place: "", options });
  }

  /** `count` new users; `options` may be a function of the index (sequences for unique fields). */
  users(count: number, options: PerRow<UserOptions> = {}): Handle<"User">[] {
    return this.many("users", count, (i) => this.user(perRow(options, i)));
  }

  /** A user the database already holds, by username (looked up when the scenario is created). */
  existingUser(username: string): Handle<"User"> {
    if (typeof username !== "string" || username === "")
      throw invalid(`existingUser() needs a username, e.g. existingUser("testuser1")`);
    return this.declare("User", { kind: "existingUser", place: `user "${username}"`, username });
  }

  /** A new channel (public unless a trait says otherwise) with its members, its creator the owner. */
  channel(options: ChannelOptions = {}): Handle<"Channel"> {
    this.traits("channel", options.traits, CHANNEL_TRAITS);
    this.fields("channel", "Channel", options, ["createdBy"], ["key", "traits", "creator", "members", "archivedBy"]);
    if (options.members !== undefined && typeof options.members === "number") this.count("members", options.members);
    if (Array.isArray(options.members)) for (const m of options.members) this.own(m, "User", "members");
    if (options.creator) this.own(options.creator, "User", "creator");
    if (options.archivedBy) this.own(options.archivedBy, "User", "archivedBy");
    return this.declare("Channel", { kind: "channel", place: "", options });
  }

  /** `count` new channels. */
  channels(count: number, options: PerRow<ChannelOptions> = {}): Handle<"Channel">[] {
    return this.many("channels", count, (i) => this.channel(perRow(options, i)));
  }

  /** A channel the database already holds, by name (looked up when the scenario is created). */
  existingChannel(name: string): Handle<"Channel"> {
    if (typeof name !== "string" || name === "")
      throw invalid(`existingChannel() needs a channel name, e.g. existingChannel("general")`);
    return this.declare("Channel", { kind: "existingChannel", place: `channel "${name}"`, name });
  }

  /** `user` joins `channel` (role `member` unless given); for a user already in it, sets its membership's fields. */
  channelMember(
    channel: Handle<"Channel">,
    user: Handle<"User">,
    options: ChannelMemberOptions = {},
  ): Handle<"ChannelMember"> {
    this.own(channel, "Channel", "channel");
    this.own(user, "User", "user");
    this.traits("channelMember", options.traits, MEMBER_TRAITS);
    this.fields("channelMember", "ChannelMember", options, ["channelId", "userId"], ["key", "traits"]);
    return this.declare("ChannelMember", { kind: "channelMember", place: "", channel, user, options });
  }

  /** A message (a root, or a reply with `replyTo`), optionally with a thread, reactions and files. */
  message(options: MessageOptions = {}): Handle<"Message"> {
    this.traits("message", options.traits, MESSAGE_TRAITS);
    this.fields(
      "message",
      "Message",
      options,
      ["channelId", "userId", "threadId"],
      ["key", "traits", "channel", "author", "replyTo", "replies", "reactions", "files"],
    );
    if (options.channel) this.own(options.channel, "Channel", "channel");
    if (options.author) this.own(options.author, "User", "author");
    if (options.replyTo) this.own(options.replyTo, "Message", "replyTo");
    for (const field of ["replies", "reactions", "files"] as const)
      if (options[field] !== undefined) this.count(field, options[field]!, 0);
    if (options.replyTo && options.replies)
      throw invalid(
        `a reply cannot have replies of its own (a thread's root is never a reply): drop replies or replyTo`,
      );
    return this.declare("Message", { kind: "message", place: "", options });
  }

  /** `count` messages. */
  messages(count: number, options: PerRow<MessageOptions> = {}): Handle<"Message">[] {
    return this.many("messages", count, (i) => this.message(perRow(options, i)));
  }

  /** A reaction to a message, by a member of its channel unless `user` is given. */
  reaction(options: ReactionOptions): Handle<"Reaction"> {
    this.own(options?.message, "Message", "message");
    if (options.user) this.own(options.user, "User", "user");
    this.fields("reaction", "Reaction", options, ["messageId", "userId"], ["key", "message", "user"]);
    return this.declare("Reaction", { kind: "reaction", place: "", options });
  }

  /** A file attached to a message, uploaded by its author unless `user` is given. */
  file(options: FileOptions): Handle<"File"> {
    this.own(options?.message, "Message", "message");
    if (options.user) this.own(options.user, "User", "user");
    this.traits("file", options.traits, FILE_TRAITS);
    this.fields("file", "File", options, ["messageId", "userId"], ["key", "traits", "message", "user"]);
    return this.declare("File", { kind: "file", place: "", options });
  }

  /** A read marker: `user` has read `message`'s channel up to it. */
  messageRead(options: MessageReadOptions): Handle<"MessageRead"> {
    this.own(options?.user, "User", "user");
    this.own(options?.message, "Message", "message");
    this.fields(
      "messageRead",
      "MessageRead",
      options,
      ["userId", "channelId", "lastReadMessageId"],
      ["key", "user", "message"],
    );
    return this.declare("MessageRead", { kind: "messageRead", place: "", options });
  }

  /** Sets fields of a new user's settings row (every new user has one). */
  userSettings(user: Handle<"User">, options: UserSettingsOptions): Handle<"UserSettings"> {
    this.own(user, "User", "user");
    for (const channel of options.mutedChannels ?? []) this.own(channel, "Channel", "mutedChannels");
    this.fields("userSettings", "UserSettings", options, ["userId"], []);
    return this.declare("UserSettings", { kind: "userSettings", place: "", user, options });
  }

  /** Sets fields of a new user's status row (every new user has one). */
  userStatus(user: Handle<"User">, options: UserStatusOptions): Handle<"UserStatus"> {
    this.own(user, "User", "user");
    this.fields("userStatus", "UserStatus", options, ["userId"], []);
    return this.declare("UserStatus", { kind: "userStatus", place: "", user, options });
  }

  /** What the scenario names in the database (users by username, channels by name): looked up before planning. */
  lookups(): ScenarioLookups {
    return {
      usernames: unique(this.decls.flatMap((d) => (d.kind === "existingUser" ? [d.username] : []))),
      channelNames: unique(this.decls.flatMap((d) => (d.kind === "existingChannel" ? [d.name] : []))),
      general: this.recycle,
    };
  }

  /**
   * Draws every row (pure: no I/O). Without a `context`, a scenario that names existing users or
   * channels cannot be planned: `create(db)` looks them up, or pass what `lookupContext` returns.
   * Throws a SeedError (INVALID_SCENARIO) naming the rule and the row's place when a row breaks
   * one of the app's rules that `allow` does not name.
   *
   * @example
   * const { rows } = s.plan(); rows.Message.length;
   */
  plan(context: ScenarioContext = EMPTY_CONTEXT): PlannedScenario {
    return this.planWith(context);
  }

  /**
   * Looks up what the scenario names, plans its rows, checks every rule, then writes them in one
   * statement where the test already is: a Prisma 7 client or an interactive transaction's client,
   * a `pg` Client or Pool, RollbackPool (the test's transaction), or PGlite. Nothing is written
   * when a rule or a lookup fails (SeedError INVALID_SCENARIO), or when the database refuses a row
   * (SEED_FAILED: the one statement fails whole).
   *
   * @example
   * const world = await s.create(prisma);
   * world.get(ops).name; // "incident-4k2q"
   */
  async create(db: ScenarioDatabase): Promise<PlannedScenario> {
    const context = await lookupContext(db, this.lookups());
    const planned = this.plan(context);
    await assertBaseline(db, planned.baseline);
    await insertRows(db, planned.rows);
    return planned;
  }

  /**
   * Plans the rows as `create(db)` would write them, reading the database for what the scenario
   * names, without writing anything: a test file whose database already holds the scenario (the
   * kit's template) gets its rows and ids this way.
   *
   * @example
   * const world = await s.planOn(pool);
   * world.get(root).id;
   */
  async planOn(db: ScenarioDatabase): Promise<PlannedScenario> {
    return this.plan(await lookupContext(db, this.lookups()));
  }

  /**
   * A hash of the declarations and options: two scenarios with the same fingerprint plan the same
   * rows on the same database (the test kit keys its templates by it).
   */
  fingerprint(): string {
    return createHash("sha256")
      .update(
        JSON.stringify(
          { seed: this.seed, recycle: this.recycle, allow: [...this.allow].sort(), decls: this.decls },
          (_, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Date ? v.toISOString() : v),
        ),
      )
      .digest("hex");
  }

  private planWith(context: ScenarioContext): PlannedScenario {
    return new Planner(this.seed, this.recycle, this.allow, context).run(this.decls);
  }

  private declare<M extends ModelName>(model: M, decl: Decl): Handle<M> {
    const key = "options" in decl ? (decl.options as { key?: string }).key : undefined;
    if (key !== undefined) {
      if (typeof key !== "string" || key === "") throw invalid(`key must be a non-empty string`);
      if (this.keys.has(key)) throw invalid(`two rows have the key "${key}": keys name one row each`);
      this.keys.add(key);
    }
    if (decl.place === "") {
      const plural = PLURAL[decl.kind];
      const n = this.counters.get(plural) ?? 0;
      this.counters.set(plural, n + 1);
      decl.place = `${plural}[${n}]`;
    }
    this.decls.push(decl);
    const handle = Object.freeze({ model, place: key !== undefined ? `"${key}"` : decl.place }) as unknown as Handle<M>;
    this.handles.add(handle as AnyHandle);
    (decl as { handle?: AnyHandle }).handle = handle as AnyHandle;
    return handle;
  }

  private many<T>(what: string, count: number, make: (i: number) => T): T[] {
    this.count(what, count);
    return Array.from({ length: count }, (_, i) => make(i));
  }

  private count(what: string, count: number, min = 1): void {
    if (!Number.isSafeInteger(count) || count < min || count > 1_000_000) {
      throw invalid(
        `${what} is ${String(count)}: give a whole number from ${min} to 1,000,000, e.g. ${what === "members" ? "members: 3" : `${what}(3)`.replace(/^(replies|reactions|files)\(3\)$/, "$1: 3")}`,
      );
    }
  }

  private traits(what: string, traits: readonly string[] | undefined, known: readonly string[]): void {
    for (const trait of traits ?? []) {
      if (!known.includes(trait)) throw invalid(`${what} trait '${String(trait)}' is unknown: use ${known.join(", ")}`);
    }
  }

  /** Overrides name the model's own columns (ids and foreign keys excepted) with values of their enum. */
  private fields(
    what: string,
    model: ModelName,
    options: object,
    foreignKeys: readonly string[],
    extra: readonly string[],
  ): void {
    const columns = tableOf(model).columns.filter((c) => c.field !== "id" && !foreignKeys.includes(c.field));
    for (const [field, value] of Object.entries(options ?? {})) {
      if (extra.includes(field)) continue;
      const column = columns.find((c) => c.field === field);
      if (!column)
        throw invalid(
          `${what}() has no field '${field}': use ${[...columns.map((c) => c.field), ...extra].join(", ")}`,
        );
      const values =
        column.kind === "enum"
          ? Object.values((ENUMS as unknown as Record<string, Record<string, string>>)[column.type] ?? {})
          : null;
      if (values && value !== undefined && !values.includes(value as string))
        throw invalid(`${what}() ${field} is '${String(value)}': use one of ${values.join(", ")}`);
    }
  }

  private own(handle: unknown, model: ModelName, field: string): void {
    if (!this.handles.has(handle as AnyHandle)) {
      const what =
        typeof handle === "string"
          ? `a raw id ('${handle}')`
          : handle === undefined
            ? "nothing"
            : "a handle of another scenario";
      throw invalid(`${field} is ${what}: pass what this scenario's ${lowerFirst(model)}() call returned`);
    }
    if ((handle as AnyHandle).model !== model)
      throw invalid(`${field} is a ${(handle as AnyHandle).model} (${(handle as AnyHandle).place}), not a ${model}`);
  }
}

/**
 * Starts a scenario: the rows a test needs beyond the seeded baseline, declared in a few typed
 * lines. Every omitted field comes from the seed's own deterministic builders; omitted parents
 * are recycled from the seeded baseline (testuser1–3, `#general`); the app's rules hold by
 * construction, and an override that breaks one fails before anything is written.
 *
 * @example
 * const s = scenario();
 * const ops = s.channel({ traits: ["private"], members: 3 });
 * const root = s.message({ channel: ops, replies: 5, reactions: 1 });
 * const world = await s.create(prisma); // or a pg client, a pool, RollbackPool
 * world.get(root).content;
 */
export function scenario(options: ScenarioOptions = {}): Scenario {
  return new Scenario(options);
}

const EMPTY_CONTEXT: ScenarioContext = { users: new Map(), channels: new Map() };

function perRow<O>(options: PerRow<O>, index: number): O {
  return typeof options === "function" ? (options as (i: number) => O)(index) : options;
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

function lowerFirst(s: string): string {
  return s[0]!.toLowerCase() + s.slice(1);
}

function ms(value: Date | string | number): number {
  return typeof value === "number" ? value : new Date(value).getTime();
}

/** A member as planning tracks it: who, since when, whether they can still write. */
interface Member {
  readonly userId: string;
  readonly username: string;
  role: string;
  joinedAt: number;
  active: boolean;
  row?: RowOf<"ChannelMember">;
}

interface ChannelState {
  readonly id: string;
  readonly name: string;
  readonly type: "public" | "private" | "dm";
  readonly createdAt: number;
  /** Members defaults draw from, in joining order. */
  readonly members: Member[];
  readonly label: string;
}

interface UserState {
  readonly id: string;
  readonly username: string;
  readonly createdAt: number;
  readonly deleted: boolean;
  readonly baseline: boolean;
  settings?: RowOf<"UserSettings">;
  status?: RowOf<"UserStatus">;
}

interface MessageState {
  readonly row: RowOf<"Message">;
  readonly channel: ChannelState;
  readonly conversation: Conversation;
  readonly label: string;
  replies: number;
  lastReplyAt: number;
  readonly reacted: Set<string>;
}

/** Turns declarations into rows, in declaration order (a handle always names an earlier row). */
class Planner {
  private readonly rows = emptyRows();
  private readonly byPlace = new Map<AnyHandle, { model: ModelName; row: Record<string, unknown> }>();
  private readonly places = new Map<string, string>();
  private readonly users = new Map<AnyHandle, UserState>();
  private readonly channels = new Map<AnyHandle, ChannelState>();
  private readonly messages = new Map<AnyHandle, MessageState>();
  private readonly canonical: CanonicalRows = buildCanonical();
  private readonly context: ScenarioContext;
  private readonly usernames = new Set<string>();
  private readonly baselineUsers = new Set<string>();
  private readonly baselineChannels = new Set<string>();
  private readonly contextRows = emptyRows();
  /** Where an existing row that the scenario touches is named in it (`channel "general"`), by id. */
  private readonly contextPlaces = new Map<string, string>();
  private canonicalUsers?: UserState[];
  private general?: ChannelState;
  private defaultChannel?: ChannelState;

  constructor(
    private readonly seed: number,
    private readonly recycle: boolean,
    private readonly allow: ReadonlySet<string>,
    context: ScenarioContext,
  ) {
    this.context = context;
  }

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

  private stream(place: string): { rng: Random; place: string } {
    return { rng: new Random(this.seed, `scenario:${place}`), place };
  }

  /**
   * The name a row's values are drawn from: its key, else its place and what it was declared
   * with, so that two scenarios that differ in a row's overrides do not draw the same ids.
   */
  private keyOf(decl: Decl): string {
    const options = "options" in decl ? (decl.options as Record<string, unknown>) : {};
    if (typeof options.key === "string") return options.key;
    const { place: _place, handle: _handle, ...declared } = decl as Decl & { handle?: unknown };
    const own = JSON.stringify(declared, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
    return own === JSON.stringify({ kind: decl.kind, options: {} })
      ? decl.place
      : `${decl.place}~${createHash("sha256").update(own).digest("hex").slice(0, 8)}`;
  }

  private record(handle: AnyHandle | undefined, model: ModelName, row: Record<string, unknown>, place: string): void {
    (this.rows[model] as unknown[]).push(row);
    this.places.set(String(row.id), place);
    if (handle) this.byPlace.set(handle, { model, row });
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
  private contextMember(channelId: string, m: ExistingMember): void {
    const id = `${channelId}:${m.userId}`;
    const channel = this.contextPlaces.get(channelId);
    if (channel) this.contextPlaces.set(id, `${m.username}'s membership of ${channel}`);
    this.contextRows.ChannelMember.push({
      id,
      channelId,
      userId: m.userId,
      role: m.role,
      createdAt: m.createdAt,
      deletedAt: m.deletedAt,
    });
    if (!this.contextRows.User.some((u) => u.id === m.userId))
      this.contextRows.User.push({
        id: m.userId,
        auth0Id: "",
        email: "",
        username: m.username,
        fullName: "",
        deletedAt: m.userDeleted ? m.createdAt : null,
      });
  }

  // ---- users ------------------------------------------------------------------------------

  private newUser(key: string, place: string, options: UserOptions, handle?: AnyHandle): UserState {
    const { rng } = this.stream(key);
    const faker = fakerFor(this.seed, `scenario:${key}`);
    const traits = new Set(options.traits ?? []);
    const first = faker.person.firstName();
    const last = faker.person.lastName();
    const hex = faker.string.hexadecimal({ length: 24, casing: "lower", prefix: "" });
    const digits = faker.string.numeric({ length: 20, allowLeadingZeros: true });
    const createdAt = createdAtOf(options, () => SCENARIO_FROM + rng.int(0, 10 * MINUTE));
    const id = ulid(createdAt, rng);
    const base = `${first}.${last}`
      .normalize("NFKD")
      .replace(/[^A-Za-z.]/g, "")
      .toLowerCase()
      .slice(0, 40);
    let username = base;
    for (let n = 2; this.usernames.has(username); n++) username = `${base}${n}`;
    const deletedAt = traits.has("deleted") ? createdAt + HOUR : null;
    const avatar = rng.chance(0.8);
    const row: RowOf<"User"> = {
      id,
      auth0Id: traits.has("google") ? `google-oauth2|1${digits}` : `auth0|${hex}`,
      email: `${username}@example.net`,
      username,
      fullName: `${first} ${last}`.slice(0, 100),
      avatarUrl: avatar ? `https://avatars.chatgenius.example/${id.toLowerCase()}.png` : null,
      createdAt: at(createdAt),
      updatedAt: at(deletedAt ?? createdAt),
      deletedAt: deletedAt === null ? null : at(deletedAt),
      ...overrides(options, createdAt),
    };
    this.usernames.add(row.username);
    this.record(handle, "User", row as unknown as Record<string, unknown>, place);
    const state: UserState = { id, username: row.username, createdAt, deleted: row.deletedAt != null, baseline: false };
    // Every user of the app has a settings and a status row.
    const settingsAt = createdAt + rng.int(SECOND, MINUTE);
    state.settings = {
      id: ulid(settingsAt, rng),
      userId: id,
      theme: rng.chance(0.7) ? "light" : "dark",
      notifications: { ...DEFAULT_NOTIFICATIONS },
      mutedChannels: [],
      offlineSync: { ...DEFAULT_OFFLINE_SYNC },
      createdAt: at(settingsAt),
      updatedAt: at(settingsAt),
    };
    const statusAt = createdAt + rng.int(SECOND, MINUTE);
    state.status = {
      id: ulid(statusAt, rng),
      userId: id,
      presence: rng.pick(["online", "away", "offline"] as const),
      statusText: null,
      statusEmoji: null,
      statusExpiry: null,
      createdAt: at(statusAt),
      updatedAt: at(statusAt),
    };
    this.record(undefined, "UserSettings", state.settings as Record<string, unknown>, `${place}.settings`);
    this.record(undefined, "UserStatus", state.status as Record<string, unknown>, `${place}.status`);
    return state;
  }

  /** The seeded baseline's users (testuser1–3), present in every profile. */
  private baselineUser(index: number): UserState {
    this.canonicalUsers ??= this.canonical.users.map((u) => ({
      id: u.id,
      username: u.username,
      createdAt: ms(u.createdAt!),
      deleted: false,
      baseline: true,
    }));
    const user = this.canonicalUsers[index]!;
    this.baselineUsers.add(user.username);
    if (!this.contextRows.User.some((u) => u.id === user.id)) this.contextRows.User.push(this.canonical.users[index]!);
    return user;
  }

  // ---- channels ---------------------------------------------------------------------------

  private newChannel(key: string, place: string, options: ChannelOptions, handle?: AnyHandle): ChannelState {
    const { rng } = this.stream(key);
    const faker = fakerFor(this.seed, `scenario:${key}`);
    const traits = new Set(options.traits ?? []);
    const types = (["public", "private", "dm"] as const).filter((t) => traits.has(t));
    if (types.length > 1)
      throw invalid(`${place}: traits ${types.join(" and ")} are exclusive: a channel has one type`);
    const type = options.type ?? types[0] ?? "public";
    const members: UserState[] = [];
    if (Array.isArray(options.members)) {
      for (const m of options.members) members.push(this.users.get(m)!);
    } else {
      const count = (options.members as number | undefined) ?? (type === "dm" ? 2 : 3);
      for (let i = 0; i < count; i++) {
        members.push(
          this.recycle && i < this.canonical.users.length
            ? this.baselineUser(i)
            : this.newUser(`${key}.members[${i}]`, `${place}.members[${i}]`, {}),
        );
      }
    }
    const creator = options.creator ? this.users.get(options.creator)! : members[0];
    if (!creator) throw invalid(`${place}: a channel needs a creator: give it members or a creator`);
    if (!members.includes(creator)) members.unshift(creator);
    const parents = Math.max(SCENARIO_FROM, ...members.map((m) => m.createdAt));
    const createdAt = createdAtOf(options, () => parents + rng.int(SECOND, MINUTE));
    const id = ulid(createdAt, rng);
    const suffix = rng
      .int(0, 36 ** 4 - 1)
      .toString(36)
      .padStart(4, "0");
    const word = rng.pick(CHANNEL_WORDS);
    const described = rng.chance(0.8) ? `${faker.company.catchPhrase()}.` : null;
    const others = members.filter((m) => m !== creator);
    const name =
      type === "dm" ? dmChannelName(creator.username, others[0]?.username ?? creator.username) : `${word}-${suffix}`;
    const archivedAt = traits.has("archived") ? createdAt + 6 * HOUR : null;
    const deletedAt = traits.has("deleted") ? createdAt + 12 * HOUR : null;
    const archiver = options.archivedBy ? this.users.get(options.archivedBy)! : creator;
    const row: RowOf<"Channel"> = {
      id,
      name,
      description: type === "dm" ? null : described,
      type,
      createdBy: creator.id,
      archivedAt: archivedAt === null ? null : at(archivedAt),
      archivedBy: archivedAt === null ? null : archiver.id,
      createdAt: at(createdAt),
      updatedAt: at(Math.max(createdAt, archivedAt ?? 0, deletedAt ?? 0)),
      deletedAt: deletedAt === null ? null : at(deletedAt),
      ...overrides(options, createdAt, ["creator", "members", "archivedBy"]),
    };
    this.record(handle, "Channel", row as unknown as Record<string, unknown>, place);
    const state: ChannelState = {
      id,
      name: row.name,
      type: row.type,
      createdAt,
      members: [],
      label: key === place ? place : `"${key}"`,
    };
    members.forEach((user, i) => {
      this.join(state, user, `${place}.members[${i}]`, user === creator ? "owner" : "member", rng);
    });
    return state;
  }

  /** The seeded baseline's `#general` (present in every profile), with its canonical members. */
  private baselineGeneral(): ChannelState {
    if (!this.general) {
      const g = this.canonical.general;
      this.baselineChannels.add(g.name);
      this.contextRows.Channel.push(g);
      this.contextRows.ChannelMember.push(...this.canonical.members);
      // Members the database has beyond the canonical ones count for the rules, never for defaults.
      for (const m of this.context.generalMembers ?? []) this.contextMember(g.id, m);
      this.general = {
        id: g.id,
        name: g.name,
        type: "public",
        createdAt: ms(g.createdAt!),
        members: this.canonical.members.map((m, i) => ({
          userId: m.userId,
          username: this.baselineUser(i).username,
          role: m.role,
          joinedAt: ms(m.createdAt!),
          active: true,
        })),
        label: "#general",
      };
    }
    return this.general;
  }

  private channelForMessage(): ChannelState {
    if (this.recycle) return this.baselineGeneral();
    this.defaultChannel ??= this.newChannel("default.channel", "channels[default]", {});
    return this.defaultChannel;
  }

  private join(
    channel: ChannelState,
    user: UserState,
    place: string,
    role: "owner" | "admin" | "member",
    rng: Random,
    options: ChannelMemberOptions = {},
    handle?: AnyHandle,
  ): Member {
    const joinedAt = createdAtOf(
      options,
      () => Math.max(channel.createdAt, user.createdAt) + rng.int(SECOND, 30 * SECOND),
    );
    const left = (options.traits ?? []).includes("left") ? joinedAt + HOUR : null;
    const row: RowOf<"ChannelMember"> = {
      id: ulid(joinedAt, rng),
      channelId: channel.id,
      userId: user.id,
      role,
      createdAt: at(joinedAt),
      updatedAt: at(left ?? joinedAt),
      deletedAt: left === null ? null : at(left),
      ...overrides(options, joinedAt),
    };
    this.record(handle, "ChannelMember", row as unknown as Record<string, unknown>, place);
    const member: Member = {
      userId: user.id,
      username: user.username,
      role: row.role,
      joinedAt,
      active: !row.deletedAt && !user.deleted,
      row,
    };
    channel.members.push(member);
    return member;
  }

  private member(
    key: string,
    place: string,
    channel: ChannelState,
    user: UserState,
    options: ChannelMemberOptions,
    handle: AnyHandle,
  ): void {
    const { rng } = this.stream(key);
    const existing = channel.members.find((m) => m.userId === user.id && m.row);
    if (existing) {
      // Already a member (as the channel's creator or one of its members): set the fields given.
      Object.assign(existing.row!, withoutKeyAndTraits(options));
      if ((options.traits ?? []).includes("left")) existing.row!.deletedAt = at(existing.joinedAt + HOUR);
      existing.role = existing.row!.role;
      existing.active = !existing.row!.deletedAt && !user.deleted;
      this.byPlace.set(handle, { model: "ChannelMember", row: existing.row as unknown as Record<string, unknown> });
      return;
    }
    // A second live membership of one user in one channel is a state the app never makes.
    if (this.contextRows.ChannelMember.some((m) => m.channelId === channel.id && m.userId === user.id && !m.deletedAt))
      throw invalid(
        `${place}: ${user.username} is already a member of ${channel.label} in the database, and a scenario does not change existing rows: drop this channelMember(), or declare a new channel`,
      );
    this.join(channel, user, place, options.role ?? "member", rng, options, handle);
  }

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

  /**
   * A row's place in the scenario; for an existing row, its name and the scenario's rows that
   * reference it, which are what broke its rule.
   */
  private placeOf(rowId: string): string {
    const own = this.places.get(rowId);
    if (own !== undefined) return own;
    const touching: string[] = [];
    for (const list of Object.values(this.rows) as Record<string, unknown>[][])
      for (const row of list)
        if (row.id !== rowId && Object.values(row).includes(rowId)) touching.push(this.places.get(String(row.id))!);
    const existing = `${this.contextPlaces.get(rowId)} (existing)`;
    return touching.length === 0 ? existing : `${existing} with ${touching.join(", ")}`;
  }

  // ---- rules ------------------------------------------------------------------------------

  /**
   * Every rule, validator and key the scenario's rows must keep, checked over those rows together
   * with the existing rows they touch (an existing channel and its members, an existing user):
   * a violation is the scenario's when it is on one of its rows, or on an existing row that keeps
   * the rule without the scenario (a third member joined into an existing DM). What `allow` does
   * not name fails here.
   */
  private check(): void {
    const merged = emptyRows();
    for (const table of insertOrder()) {
      const model = table.model;
      (merged[model] as unknown[]).push(...(this.contextRows[model] as unknown[]), ...(this.rows[model] as unknown[]));
    }
    const ruleViolations = (rows: Rows) => [
      ...validateRows(rows).filter((v) => v.rule !== "past-window"),
      ...checkRules(rows),
    ];
    const keyOf = (v: Violation) => `${v.rowId}:${v.rule}`;
    // What the database already breaks on its own is not the scenario's doing.
    const already = new Set(ruleViolations(this.contextRows).map(keyOf));
    const ours = (v: Violation) =>
      this.places.has(v.rowId) || (this.contextPlaces.has(v.rowId) && !already.has(keyOf(v)));
    const violations = [...ruleViolations(merged), ...checkAppValidators(this.rows)].filter(
      (v) => ours(v) && !this.allow.has(v.rule),
    );
    if (violations.length === 0) return;
    const seen = new Set<string>();
    const lines = violations
      .filter((v) => !seen.has(keyOf(v)) && seen.add(keyOf(v)))
      .map((v) => `${this.placeOf(v.rowId)}: ${v.rule}${v.detail ? ` (${v.detail})` : ""}`);
    const rules = unique(violations.map((v) => v.rule)).filter((r) => SCENARIO_RULES.includes(r));
    const hint =
      rules.length > 0
        ? `; fix the override, or let a negative test break it with scenario({ allow: [${rules.map((r) => `"${r}"`).join(", ")}] })`
        : "; fix the override";
    throw invalid(
      `${lines.slice(0, 3).join("; ")}${lines.length > 3 ? ` and ${lines.length - 3} more` : ""}${hint}. Nothing was written`,
    );
  }
}

/** The row's creation time: the override's, else the default (drawn only then). */
function createdAtOf(options: { readonly createdAt?: Date | string }, fallback: () => number): number {
  return options.createdAt !== undefined ? ms(options.createdAt) : fallback();
}

/**
 * A row's overrides on top of its defaults: the model's columns only (not the builder's own
 * options), and `createdAt` as the Date its id encodes.
 */
function overrides(options: object, createdAt: number, extra: readonly string[] = []): Record<string, unknown> {
  return { ...withoutKeyAndTraits(options, extra), createdAt: at(createdAt) };
}

/** Overrides without the builder's own options: the model's columns only. */
function withoutKeyAndTraits(options: object, extra: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options))
    if (k !== "key" && k !== "traits" && !extra.includes(k) && v !== undefined) out[k] = v;
  return out;
}
