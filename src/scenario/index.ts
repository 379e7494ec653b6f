// chatgenius-seed/scenario: the rows a test needs, in a few typed lines, keeping the app's rules.
export {
  scenario,
  Scenario,
  SCENARIO_RULES,
  type ScenarioOptions,
  type PlannedScenario,
  type ScenarioContext,
  type ScenarioLookups,
  type Baseline,
} from "./scenario.ts";
export {
  lookupContext,
  assertBaseline,
  insertRows,
  type ScenarioDatabase,
  type PrismaLike,
  type PgLike,
} from "./database.ts";
export type {
  Handle,
  ModelRow,
  Fields,
  UserOptions,
  ChannelOptions,
  ChannelMemberOptions,
  MessageOptions,
  ReactionOptions,
  FileOptions,
  MessageReadOptions,
  PerRow,
  UserSettingsOptions,
  UserStatusOptions,
  UserTrait,
  ChannelTrait,
  MemberTrait,
  MessageTrait,
  FileTrait,
} from "./types.ts";
