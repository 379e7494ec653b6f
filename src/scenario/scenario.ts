import { createHash } from "node:crypto";
import { tableOf, type ModelName } from "../core/datamodel.ts";
import * as ENUMS from "../generated/prisma/enums.ts";
import { relationsOf, type Relation } from "../plan/builders/draw.ts";
import { MODELS } from "../plan/builders/models.ts";
import { DEFAULT_SEED } from "../plan/plan.ts";
import { SCENARIO_RULES, invalid, unique, type AnyHandle, type Decl } from "./declarations.ts";
import { Planner } from "./planner.ts";
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
  type PerRow,
  type ReactionOptions,
  type RowOptions,
  type UserOptions,
  type UserSettingsOptions,
  type UserStatusOptions,
  type PlannedScenario,
  type ScenarioContext,
  type ScenarioLookups,
} from "./types.ts";

export { SCENARIO_RULES };

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

const PLURAL: Record<Exclude<Decl["kind"], "row">, string> = {
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

  /**
   * One row of any model of the schema, from that model's maker (the seed's own default row):
   * its relations are handles of this scenario (required where the foreign key is), its columns
   * optional overrides. Exactly that row is written, nothing around it (a user made this way has
   * no settings or status row); it is checked against every rule like the others. The methods
   * above are the same rows with the app's relations filled in for you.
   *
   * @example
   * const root = s.message();
   * s.row("Reaction", { message: root, user: s.existingUser("testuser2"), emoji: "🎉" });
   */
  row<M extends ModelName>(model: M, options: RowOptions<M>): Handle<M> {
    if (typeof model !== "string" || !(model in MODELS))
      throw invalid(`row() names no model '${String(model)}': use one of ${Object.keys(MODELS).join(", ")}`);
    const what = `row("${model}")`;
    const relations = relationsOf(model);
    const given = (options ?? {}) as Record<string, unknown>;
    for (const relation of relations) {
      const handle = given[relation.name];
      if (handle === undefined || handle === null) {
        if (relation.required)
          throw invalid(`${what} needs ${relation.name}: the handle of a ${relation.model} of this scenario`);
        continue;
      }
      this.own(handle, relation.model, relation.name);
    }
    this.fields(
      what,
      model,
      given,
      relations.map((r) => r.field),
      ["key", ...relations.map((r) => r.name)],
      relations,
    );
    return this.declare(model, { kind: "row", place: "", model, options: options as RowOptions<ModelName> });
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
      const plural = decl.kind === "row" ? camelCase(tableOf(decl.model).name) : PLURAL[decl.kind];
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
    relations: readonly Relation[] = [],
  ): void {
    const columns = tableOf(model).columns.filter((c) => c.field !== "id" && !foreignKeys.includes(c.field));
    const call = what.endsWith(")") ? what : `${what}()`;
    for (const [field, value] of Object.entries(options ?? {})) {
      if (extra.includes(field)) continue;
      const relation = relations.find((r) => r.field === field);
      if (relation)
        throw invalid(
          `${call} ${field} is a foreign key: pass ${relation.name}, the handle of a ${relation.model} of this scenario`,
        );
      const column = columns.find((c) => c.field === field);
      if (!column)
        throw invalid(`${call} has no field '${field}': use ${[...columns.map((c) => c.field), ...extra].join(", ")}`);
      const values =
        column.kind === "enum"
          ? Object.values((ENUMS as unknown as Record<string, Record<string, string>>)[column.type] ?? {})
          : null;
      if (values && value !== undefined && !values.includes(value as string))
        throw invalid(`${call} ${field} is '${String(value)}': use one of ${values.join(", ")}`);
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

/** `channel_members` → `channelMembers`: a generic row's place is named after its table. */
function camelCase(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function lowerFirst(s: string): string {
  return s[0]!.toLowerCase() + s.slice(1);
}
