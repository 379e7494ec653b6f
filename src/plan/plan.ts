import { emptyRows, insertOrder, type ModelName, type RowOf, type Rows, type Table } from "../core/datamodel.ts";
import { SeedError } from "../core/errors.ts";
import { buildCanonical } from "./builders/canonical.ts";
import { buildChannels } from "./builders/channels.ts";
import { buildEdge, completeEdge } from "./builders/edge.ts";
import { MODELS, SliceParts } from "./builders/models.ts";
import type { SliceInput } from "./builders/slice.ts";
import { buildUsers } from "./builders/users.ts";

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
    if (profile === "edge") {
      const edge = buildEdge({ seed, index: 0, canonical });
      appendRows(rows, edge);
      completeEdge(rows);
    }
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

/** Builds one slice of the dev profile into `rows`, model by model in insert order. */
function buildSlice(slice: SliceInput, rows: Rows): void {
  const reused = counted.get(slice.seed);
  if (slice.index === 0 && reused) {
    counted.delete(slice.seed);
    appendRows(rows, reused);
    return;
  }
  const parts = new SliceParts(slice);
  for (const { model } of insertOrder()) {
    const built = MODELS[model].slice(parts) as unknown[];
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

/** Slice 0 of a seed, counted by rowsPerSlice and kept for the next plan of that seed to use once. */
const counted = new Map<number, Rows>();
const sliceCounts = new Map<number, number>();
let canonicalRowCount: number | undefined;
let edgeRowCount: number | undefined;

const countRows = (rows: Rows) => Object.values(rows).reduce((n, list) => n + list.length, 0);

/**
 * The rows a dev slice of `seed` adds: its slice 0, built and counted once per process (and
 * handed to the plan of that seed, which then does not build it again). Counted, not kept as a
 * number: a model added to the schema counts with the others without anything to update.
 *
 * @example
 * rowsPerSlice(20250106); // about 2,000
 */
export function rowsPerSlice(seed: number): number {
  let count = sliceCounts.get(seed);
  if (count === undefined) {
    const rows = emptyRows();
    buildSlice({ seed, index: 0, canonical: buildCanonical() }, rows);
    counted.clear();
    counted.set(seed, rows);
    sliceCounts.set(seed, (count = countRows(rows)));
  }
  return count;
}

/**
 * About how many rows a plan has, before anything is generated: it decides whether the plan is
 * streamed and kept in the plan cache and whether the writer drops and rebuilds the constraints,
 * and it is the progress line's denominator. Exact for minimal (the canonical rows) and for a
 * dev or edge plan of one slice; N times slice 0 for --scale N.
 */
export function estimateRows(options: PlanOptions = {}): number {
  const { profile, seed, scale } = checkPlanOptions(options);
  canonicalRowCount ??= countRows(canonicalChunk());
  if (profile === "minimal") return canonicalRowCount;
  edgeRowCount ??= countRows(buildEdge({ seed: DEFAULT_SEED, index: 0, canonical: buildCanonical() }));
  return (
    canonicalRowCount + (profile === "dev" ? scale : 1) * rowsPerSlice(seed) + (profile === "edge" ? edgeRowCount : 0)
  );
}
