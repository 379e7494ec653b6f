import { insertOrder, type ModelName, type Rows, type Table } from "./datamodel.ts";
import { SeedError } from "./errors.ts";
import { buildCanonical } from "./fixtures/canonical.ts";
import { buildChannelMembers } from "./fixtures/channelMembers.ts";
import { buildChannels } from "./fixtures/channels.ts";
import { buildFiles } from "./fixtures/files.ts";
import { buildMessageReads } from "./fixtures/messageReads.ts";
import { buildMessages } from "./fixtures/messages.ts";
import { buildReactions } from "./fixtures/reactions.ts";
import { messageWindow, type SliceInput } from "./fixtures/slice.ts";
import { buildUserSettings } from "./fixtures/userSettings.ts";
import { buildUserStatus } from "./fixtures/userStatus.ts";
import { buildUsers, isActive } from "./fixtures/users.ts";

/** The profiles the seed can build; one list feeds the type, the CLI check and `--help`. */
export const PROFILES = ["minimal", "dev"] as const;
export type Profile = (typeof PROFILES)[number];

export const DEFAULT_PROFILE: Profile = "dev";
export const DEFAULT_SEED = 20250106;
export const MAX_SCALE = 1000;

/** What to build. */
export interface PlanOptions {
  profile?: Profile;
  seed?: number;
  scale?: number;
}

/** The rows a seed writes, table by table in insert order. */
export interface Plan {
  readonly profile: Profile;
  readonly seed: number;
  readonly scale: number;
  readonly rows: Rows;
  /** Tables in insert order (parents first) with their row counts. */
  readonly tables: readonly { table: Table; rows: number }[];
}

/** Checks plan options; throws SeedError INVALID_USAGE with how to fix them. */
export function checkPlanOptions(options: PlanOptions): Required<PlanOptions> {
  const profile = options.profile ?? DEFAULT_PROFILE;
  if (!PROFILES.includes(profile)) {
    throw new SeedError("INVALID_USAGE", `unknown profile '${profile}': use one of ${PROFILES.join(", ")}`);
  }
  const seed = options.seed ?? DEFAULT_SEED;
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new SeedError("INVALID_USAGE", `seed ${seed} is not a whole number ≥ 0: pass e.g. --seed 42`);
  }
  const scale = options.scale ?? 1;
  if (!Number.isSafeInteger(scale) || scale < 1 || scale > MAX_SCALE) {
    throw new SeedError("INVALID_USAGE", `scale ${scale} is not a whole number from 1 to ${MAX_SCALE}: pass e.g. --scale 2`);
  }
  if (profile === "minimal" && options.scale !== undefined && scale !== 1) {
    throw new SeedError("INVALID_USAGE", "--scale applies to the dev profile only: drop --scale or use --profile dev");
  }
  return { profile, seed, scale };
}

/**
 * Builds every row a seed writes. Pure: no I/O and no clock, so the same options give
 * identical rows on every machine.
 *
 * @example
 * const plan = buildPlan({ profile: "dev", seed: 42 });
 * plan.rows.User.length; // 30
 */
export function buildPlan(options: PlanOptions = {}): Plan {
  const { profile, seed, scale } = checkPlanOptions(options);
  const canonical = buildCanonical();
  const rows: Rows = {
    User: [...canonical.users],
    Channel: [canonical.general],
    ChannelMember: [...canonical.members],
    Message: [...canonical.messages],
    Reaction: [],
    File: [],
    MessageRead: [],
    UserSettings: [...canonical.settings],
    UserStatus: [...canonical.statuses],
  };
  const slices = profile === "dev" ? scale : 0;
  for (let index = 0; index < slices; index++) {
    const slice: SliceInput = { seed, index, canonical };
    const users = buildUsers(slice);
    const active = new Set([...users, ...canonical.users].filter(isActive).map((u) => u.id));
    const { channels, rosters } = buildChannels(slice, users);
    const members = buildChannelMembers(slice, users, rosters);
    const membersByChannel = new Map<string, string[]>();
    for (const m of members) {
      if (active.has(m.userId)) membersByChannel.set(m.channelId, [...(membersByChannel.get(m.channelId) ?? []), m.userId]);
    }
    const deadlines = new Map(channels.map((c) => [c.id, messageWindow(c).to]));
    const deadline = (channelId: string) => deadlines.get(channelId) ?? messageWindow(canonical.general).to;
    const messages = buildMessages(slice, channels, members, active);
    rows.User.push(...users);
    rows.Channel.push(...channels);
    rows.ChannelMember.push(...members);
    rows.Message.push(...messages);
    rows.Reaction.push(...buildReactions(slice, messages, membersByChannel, deadline));
    rows.File.push(...buildFiles(slice, messages));
    rows.MessageRead.push(...buildMessageReads(slice, messages, membersByChannel));
    rows.UserSettings.push(...buildUserSettings(slice, users, members, channels));
    rows.UserStatus.push(...buildUserStatus(slice, users));
  }
  const tables = insertOrder().map((table) => ({ table, rows: rows[table.model].length }));
  return { profile, seed, scale, rows, tables };
}

/** Total rows of a plan. */
export function planTotal(plan: Plan): number {
  return plan.tables.reduce((sum, t) => sum + t.rows, 0);
}

/** Rows of one model, typed loosely for code that walks every table. */
export function rowsOf(plan: Plan, model: ModelName): Record<string, unknown>[] {
  return plan.rows[model] as unknown as Record<string, unknown>[];
}
