// chatgenius-seed/testing: a fresh seeded database for every test file, and per-test rollback.
export { prepareTemplate, templateKey, type KitOptions, type Template } from "./template.ts";
export {
  createTestDatabase,
  cleanupStale,
  settleReadyClones,
  topUpReadyClones,
  READY_COMMENT,
  type TestDatabase,
  type TestDatabaseOptions,
} from "./testDatabase.ts";
export { RollbackPool } from "./rollback.ts";
export { kitOptionsFromEnv } from "./options.ts";
export { defineGlobalSetup } from "./globalSetup.ts";
