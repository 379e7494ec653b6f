// The public API of chatgenius-seed: what the ChatGenius app and its tests call. Everything
// else is internal and may change in any release; test/api.test.ts holds this list to account.
export { seedDatabase, type SeedOptions, type SeedSummary } from "./api/seed.ts";
export { migrateDatabase, resetDatabase, type MigrateOptions, type MigrateResult } from "./api/reset.ts";
export { createSeedScript, type SeedScript, type SeedScriptOptions, type SeedScriptState } from "./api/seedScript.ts";
export { verifyDatabase, type VerifyOptions } from "./api/verify.ts";
export type { VerifyResult, TableDiff } from "./monitoring/verify.ts";
export { reportDatabase, type ReportOptions, type ReportWithStates } from "./api/report.ts";
export type { SeedReport, ReportRun, ConstraintCheck } from "./monitoring/report.ts";
export type { WorkspaceStates, NamedState, ColumnState } from "./monitoring/states.ts";
export type { IntegrityResult } from "./write/integrity.ts";
export type { WriteMethod } from "./write/transaction.ts";
export type { Profile, PlanOptions } from "./plan/plan.ts";
export type { Env } from "./db/config.ts";
export { SeedError, isSeedError, EXIT_CODES, ERROR_CODES, type SeedErrorCode, type ExitCode } from "./core/errors.ts";
export { jsonSink, type SeedLogEvent, type SeedLogSink, type SeedOperation } from "./core/log.ts";
