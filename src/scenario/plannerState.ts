import { createHash } from "node:crypto";
import type { ModelName, RowOf } from "../core/datamodel.ts";
import { buildCanonical, type CanonicalRows } from "../plan/builders/canonical.ts";
import { DAY, WINDOW_END, at } from "../plan/builders/clock.ts";
import { emptyRows } from "../plan/plan.ts";
import { Random } from "../plan/random.ts";
import type { Conversation } from "../plan/builders/text/cast.ts";
import { ms, type AnyHandle, type Decl } from "./declarations.ts";
import type { ScenarioContext, ExistingMember } from "./types.ts";

/** Every generated timestamp of a scenario lies after this (two days before the seed's window ends), after its parents. */
export const SCENARIO_FROM = WINDOW_END - 2 * DAY;
export const SECOND = 1000;
/** A member as planning tracks it: who, since when, whether they can still write. */
export interface Member {
  readonly userId: string;
  readonly username: string;
  role: string;
  joinedAt: number;
  active: boolean;
  row?: RowOf<"ChannelMember">;
}

export interface ChannelState {
  readonly id: string;
  readonly name: string;
  readonly type: "public" | "private" | "dm";
  readonly createdAt: number;
  /** Members defaults draw from, in joining order. */
  readonly members: Member[];
  readonly label: string;
}

export interface UserState {
  readonly id: string;
  readonly username: string;
  readonly createdAt: number;
  readonly deleted: boolean;
  readonly baseline: boolean;
  settings?: RowOf<"UserSettings">;
  status?: RowOf<"UserStatus">;
}

export interface MessageState {
  readonly row: RowOf<"Message">;
  readonly channel: ChannelState;
  /** What a thread under it is about: drawn with its text, or at its first reply for a row() message. */
  conversation?: Conversation;
  readonly label: string;
  replies: number;
  lastReplyAt: number;
  readonly reacted: Set<string>;
}

/**
 * What planning a scenario holds (its rows, where each is named, the states of its users,
 * channels and messages, the existing rows it touches) and the row bookkeeping every planner
 * step shares.
 */
export abstract class PlannerState {
  protected readonly rows = emptyRows();
  protected readonly byPlace = new Map<AnyHandle, { model: ModelName; row: Record<string, unknown> }>();
  protected readonly places = new Map<string, string>();
  protected readonly users = new Map<AnyHandle, UserState>();
  protected readonly channels = new Map<AnyHandle, ChannelState>();
  protected readonly messages = new Map<AnyHandle, MessageState>();
  protected readonly canonical: CanonicalRows = buildCanonical();
  protected readonly context: ScenarioContext;
  protected readonly usernames = new Set<string>();
  protected readonly baselineUsers = new Set<string>();
  protected readonly baselineChannels = new Set<string>();
  protected readonly contextRows = emptyRows();
  /** Where an existing row that the scenario touches is named in it (`channel "general"`), by id. */
  protected readonly contextPlaces = new Map<string, string>();
  protected canonicalUsers?: UserState[];
  protected general?: ChannelState;
  protected defaultChannel?: ChannelState;

  constructor(
    protected readonly seed: number,
    protected readonly recycle: boolean,
    protected readonly allow: ReadonlySet<string>,
    context: ScenarioContext,
  ) {
    this.context = context;
  }

  protected stream(place: string): { rng: Random; place: string } {
    return { rng: new Random(this.seed, `scenario:${place}`), place };
  }

  /**
   * The name a row's values are drawn from: its key, else its place and what it was declared
   * with, so that two scenarios that differ in a row's overrides do not draw the same ids.
   */
  protected keyOf(decl: Decl): string {
    const options = "options" in decl ? (decl.options as Record<string, unknown>) : {};
    if (typeof options.key === "string") return options.key;
    const { place: _place, handle: _handle, ...declared } = decl as Decl & { handle?: unknown };
    const own = JSON.stringify(declared, (_, v) => (typeof v === "bigint" ? `${v}n` : v));
    return own === JSON.stringify({ kind: decl.kind, options: {} })
      ? decl.place
      : `${decl.place}~${createHash("sha256").update(own).digest("hex").slice(0, 8)}`;
  }

  protected record(handle: AnyHandle | undefined, model: ModelName, row: Record<string, unknown>, place: string): void {
    (this.rows[model] as unknown[]).push(row);
    this.places.set(String(row.id), place);
    if (handle) this.byPlace.set(handle, { model, row });
  }

  protected contextMember(channelId: string, m: ExistingMember): void {
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
}

/** The row's creation time: the override's, else the default (drawn only then). */
export function createdAtOf(options: { readonly createdAt?: Date | string }, fallback: () => number): number {
  return options.createdAt !== undefined ? ms(options.createdAt) : fallback();
}

/**
 * A row's overrides on top of its defaults: the model's columns only (not the builder's own
 * options), and `createdAt` as the Date its id encodes.
 */
export function overrides(options: object, createdAt: number, extra: readonly string[] = []): Record<string, unknown> {
  return { ...withoutKeyAndTraits(options, extra), createdAt: at(createdAt) };
}

/** Overrides without the builder's own options: the model's columns only. */
export function withoutKeyAndTraits(options: object, extra: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options))
    if (k !== "key" && k !== "traits" && !extra.includes(k) && v !== undefined) out[k] = v;
  return out;
}
