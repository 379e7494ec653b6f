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

/**
 * What one slice's builders read: the slice, the rows of the models built before (insert order:
 * parents first), and what several builders derive from them, computed once.
 */
class SliceParts {
  readonly rows = emptyRows();
  private channelsAndRosters?: ReturnType<typeof buildChannels>;
  private members?: Map<string, string[]>;
  private deadlines?: Map<string, number>;

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
}

/**
 * How a dev slice builds each model's rows, keyed by the datamodel's model names: a model added
 * to schema.prisma fails `npm run typecheck` here until it has a builder. Each builder draws
 * from random streams of its own, so adding one leaves every other table's rows as they were.
 */
const SLICE_BUILDERS: { readonly [M in ModelName]: (parts: SliceParts) => RowOf<M>[] } = {
  User: (p) => buildUsers(p.slice),
  Channel: (p) => p.channels().channels,
  ChannelMember: (p) => buildChannelMembers(p.slice, p.rows.User, p.channels().rosters),
  Message: (p) => buildMessages(p.slice, p.rows.Channel, p.membersByChannel(), p.usernames()),
  Reaction: (p) => buildReactions(p.slice, p.rows.Message, p.membersByChannel(), (id) => p.deadline(id)),
  File: (p) => buildFiles(p.slice, p.rows.Message),
  MessageRead: (p) => buildMessageReads(p.slice, p.rows.Message, p.membersByChannel(), p.rows.Channel),
  UserSettings: (p) => buildUserSettings(p.slice, p.rows.User, p.rows.ChannelMember, p.rows.Channel),
  UserStatus: (p) => buildUserStatus(p.slice, p.rows.User),
};

/** Builds one slice of the dev profile into `rows`, model by model in insert order. */
function buildSlice(slice: SliceInput, rows: Rows): void {
  const parts = new SliceParts(slice);
  for (const { model } of insertOrder()) {
    const built = SLICE_BUILDERS[model](parts) as unknown[];
    (parts.rows[model] as unknown[]).push(...built);
    (rows[model] as unknown[]).push(...built);
  }
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

/**
 * Rows a dev slice adds, for choosing the write path before generating anything. Counting a
 * slice would cost a start-up of ~0.1 s, so it is a number, which a test holds to the builders
 * (test/plan/rowShape.test.ts fails with the new count when they change).
 */
export const ROWS_PER_SLICE_ESTIMATE = 1980;

/** Rows the edge profile adds to its dev slice. */
export const EDGE_ROWS_ESTIMATE = 450;

let canonicalRowCount: number | undefined;

/** About how many rows a plan has (exact for minimal: the canonical rows). */
export function estimateRows(options: PlanOptions = {}): number {
  const { profile, scale } = checkPlanOptions(options);
  canonicalRowCount ??= Object.values(canonicalChunk()).reduce((n, rows) => n + rows.length, 0);
  return (
    canonicalRowCount +
    (profile === "dev"
      ? scale * ROWS_PER_SLICE_ESTIMATE
      : profile === "edge"
        ? ROWS_PER_SLICE_ESTIMATE + EDGE_ROWS_ESTIMATE
        : 0)
  );
}
