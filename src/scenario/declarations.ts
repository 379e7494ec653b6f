import type { ModelName } from "../core/datamodel.ts";
import { SeedError } from "../core/errors.ts";
import { RULES } from "../plan/rules.ts";
import { APP_VALIDATORS } from "../plan/validators.ts";
import type {
  ChannelMemberOptions,
  ChannelOptions,
  FileOptions,
  Handle,
  MessageOptions,
  MessageReadOptions,
  ReactionOptions,
  RowOptions,
  UserOptions,
  UserSettingsOptions,
  UserStatusOptions,
} from "./types.ts";

// What a scenario declares, as data: the Scenario class records declarations, the planner
// turns them into rows.

/** A handle of any model. */
export type AnyHandle = Handle<ModelName>;
/** One declaration of a scenario, in the order it was made. */
export type Decl =
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
  | { kind: "userStatus"; place: string; user: AnyHandle; options: UserStatusOptions }
  | { kind: "row"; place: string; model: ModelName; options: RowOptions<ModelName> };

/** A SeedError of a scenario that cannot be planned (exit 2), its message prefixed with `scenario:`. */
export function invalid(message: string): SeedError {
  return new SeedError("INVALID_SCENARIO", `scenario: ${message}`);
}

/** The items in first-seen order, each once. */
export function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

/** Milliseconds of a timestamp given as a Date, an ISO string or milliseconds. */
export function ms(value: Date | string | number): number {
  return typeof value === "number" ? value : new Date(value).getTime();
}

/**
 * The ids of the rules and validators a scenario keeps, which `allow` can name.
 *
 * @example
 * SCENARIO_RULES.includes("reply-same-channel"); // true
 */
export const SCENARIO_RULES: readonly string[] = [...RULES.map((r) => r.id), ...APP_VALIDATORS.map((v) => v.id)];
