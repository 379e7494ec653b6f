import { emptyRows, insertOrder, type ModelName, type RowOf, type Rows, type Table } from "../core/datamodel.ts";
import { SeedError } from "../core/errors.ts";
import { buildCanonical } from "./builders/canonical.ts";
import { buildChannelMembers } from "./builders/channelMembers.ts";
import { buildChannels } from "./builders/channels.ts";
import { buildEdge } from "./builders/edge.ts";
import { buildFiles } from "./builders/files.ts";
import { buildMessageReads } from "./builders/messageReads.ts";
import { buildMessages } from "./builders/messages.ts";
import { buildReactions } from "./builders/reactions.ts";
import { groupBy, messageWindow, type SliceInput } from "./builders/slice.ts";
import { buildUserSettings } from "./builders/userSettings.ts";
import { buildUserStatus } from "./builders/userStatus.ts";
import { buildUsers, isActive } from "./builders/users.ts";

/** The profiles the seed can build; one list feeds the type, the CLI check and `--help`. */
export const PROFILES = ["minimal", "dev", "edge"] as const;
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
    throw new SeedError(
      "INVALID_USAGE",
      `scale ${scale} is not a whole number from 1 to ${MAX_SCALE}: pass e.g. --scale 2`,
    );
  }
  if (profile !== "dev" && options.scale !== undefined && scale !== 1) {
    throw new SeedError("INVALID_USAGE", "--scale applies to the dev profile only: drop --scale or use --profile dev");
  }
  return { profile, seed, scale };
}

/**
 * Rows per chunk of a streamed plan: canonical data first, then this many slices at a time
 * (about 10,000 rows). Smaller chunks keep the generator's heap small; below this the
 * per-chunk overhead shows (measured with `npm run bench`).
 */
export const SLICES_PER_CHUNK = 5;

// The plan's callers take emptyRows from here.
export { emptyRows };

/**
 * The rows of a plan in chunks, so that a large seed never holds all of them: first the
 * canonical rows, then the generated slices, `slicesPerChunk` at a time. Every chunk only
 * references its own rows and the canonical ones, so writing chunks in order (each table by
 * table, parents first) satisfies every foreign key. Pure and deterministic, like buildPlan.
 *
 * @example
 * for (const rows of planChunks({ scale: 1000 })) write(rows);
 */
export function* planChunks(
  options: PlanOptions = {},
  slicesPerChunk = SLICES_PER_CHUNK,
  part: ChunkPart = { index: 0, of: 1 },
): Generator<Rows> {
  const { profile, seed, scale } = checkPlanOptions(options);
  const canonical = buildCanonical();
  if (part.index === 0) yield canonicalChunk();
  // edge: the canonical data, one dev slice, and the edge rows (buildEdge) in the same chunk.
  const slices = profile === "dev" ? scale : profile === "edge" ? 1 : 0;
  for (let start = 0, ordinal = 1; start < slices; start += slicesPerChunk, ordinal++) {
    if (ordinal % part.of !== part.index) continue;
    const rows = emptyRows();
    for (let index = start; index < Math.min(slices, start + slicesPerChunk); index++)
      buildSlice({ seed, index, canonical }, rows);
    if (profile === "edge") appendRows(rows, buildEdge({ seed, index: 0, canonical }));
    yield rows;
  }
}

/**
 * Which chunks of a plan one of several generators builds: chunk k (0 = the canonical rows,
 * then each group of slices) when k % of === index. Written in order k = 0, 1, 2, … the
 * rows are those of the whole plan, whatever `of` is.
 */
export interface ChunkPart {
  readonly index: number;
  readonly of: number;
}

/** The first chunk of every plan: the canonical rows, which every other chunk may reference. */
export function canonicalChunk(): Rows {
  const canonical = buildCanonical();
  const first = emptyRows();
  first.User.push(...canonical.users);
  first.Channel.push(canonical.general);
  first.ChannelMember.push(...canonical.members);
  first.Message.push(...canonical.messages);
  first.UserSettings.push(...canonical.settings);
  first.UserStatus.push(...canonical.statuses);
  return first;
}

/** Builds one slice of the dev profile into `rows`. */
function buildSlice(slice: SliceInput, rows: Rows): void {
  const { canonical } = slice;
  const users = buildUsers(slice);
  const active = new Set([...users, ...canonical.users].filter(isActive).map((u) => u.id));
  const { channels, rosters } = buildChannels(slice, users);
  const members = buildChannelMembers(slice, users, rosters);
  // Who can write, react and read in each channel: its members who have not left it or the app.
  const membersByChannel = groupBy(
    members,
    (m) => (active.has(m.userId) && !m.deletedAt ? m.channelId : undefined),
    (m) => m.userId,
  );
  const deadlines = new Map(channels.map((c) => [c.id, messageWindow(c).to]));
  const deadline = (channelId: string) => deadlines.get(channelId) ?? messageWindow(canonical.general).to;
  const usernames = new Map([...canonical.users, ...users].map((u) => [u.id, u.username]));
  const messages = buildMessages(slice, channels, membersByChannel, usernames);
  rows.User.push(...users);
  rows.Channel.push(...channels);
  rows.ChannelMember.push(...members);
  rows.Message.push(...messages);
  rows.Reaction.push(...buildReactions(slice, messages, membersByChannel, deadline));
  rows.File.push(...buildFiles(slice, messages));
  rows.MessageRead.push(...buildMessageReads(slice, messages, membersByChannel, channels));
  rows.UserSettings.push(...buildUserSettings(slice, users, members, channels));
  rows.UserStatus.push(...buildUserStatus(slice, users));
}

/**
 * The users and channels of a plan without building the rest (messages, reactions, …): what
 * local seed entries may name. Cheap even at scale 1000; identical to the plan's rows.
 */
export function planDirectory(options: PlanOptions = {}): { users: RowOf<"User">[]; channels: RowOf<"Channel">[] } {
  const { profile, seed, scale } = checkPlanOptions(options);
  const canonical = buildCanonical();
  const users = [...canonical.users];
  const channels = [canonical.general];
  for (let index = 0; profile !== "minimal" && index < scale; index++) {
    const slice = { seed, index, canonical };
    const sliceUsers = buildUsers(slice);
    users.push(...sliceUsers);
    channels.push(...buildChannels(slice, sliceUsers).channels);
  }
  if (profile === "edge") {
    const edge = buildEdge({ seed, index: 0, canonical });
    users.push(...edge.User);
    channels.push(...edge.Channel);
  }
  return { users, channels };
}

/** Appends every row of `from` to `into`. */
export function appendRows(into: Rows, from: Rows): Rows {
  for (const model of Object.keys(into) as ModelName[]) {
    const target = into[model] as unknown[];
    for (const row of from[model]) target.push(row);
  }
  return into;
}

/**
 * Builds every row a seed writes, in memory. Pure: no I/O and no clock, so the same options
 * give identical rows on every machine.
 *
 * @example
 * const plan = buildPlan({ profile: "dev", seed: 42 });
 * plan.rows.User.length; // 30
 */
export function buildPlan(options: PlanOptions = {}): Plan {
  const checked = checkPlanOptions(options);
  const rows = emptyRows();
  for (const chunk of planChunks(checked)) appendRows(rows, chunk);
  return { ...checked, rows, tables: countTables(rows) };
}

/** Tables in insert order with their row counts. */
export function countTables(rows: Rows): { table: Table; rows: number }[] {
  return insertOrder().map((table) => ({ table, rows: rows[table.model].length }));
}

/** Rows a dev slice adds, for choosing the write path before generating anything. */
const ROWS_PER_SLICE_ESTIMATE = 1980;

/** Rows the edge profile adds to its dev slice. */
const EDGE_ROWS_ESTIMATE = 450;

/** About how many rows a plan has (exact for minimal). */
export function estimateRows(options: PlanOptions = {}): number {
  const { profile, scale } = checkPlanOptions(options);
  return (
    15 +
    (profile === "dev"
      ? scale * ROWS_PER_SLICE_ESTIMATE
      : profile === "edge"
        ? ROWS_PER_SLICE_ESTIMATE + EDGE_ROWS_ESTIMATE
        : 0)
  );
}
