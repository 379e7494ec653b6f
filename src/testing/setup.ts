// Vitest setup file of the test kit: `setupFiles: ["chatgenius-seed/testing/setup"]`. Before the
// test file's own imports run, it clones the template into a database of the file's own and
// points DATABASE_URL (and TEST_DATABASE_URL) at it, so the app's Prisma client, created on
// import, uses it; the database is dropped after the file.
import { afterAll, inject } from "vitest";
import { SeedError } from "../core/errors.ts";
import { createTestDatabase, settleReadyClones } from "./testDatabase.ts";

const template = inject("chatgeniusSeedTemplate");
if (!template)
  throw new SeedError(
    "INVALID_CONFIG",
    'chatgenius-seed/testing/setup needs the kit\'s globalSetup: add globalSetup: ["chatgenius-seed/testing/global-setup"] to vitest.config.ts',
  );
// A clone made ahead is handed over at once; the next one is made while this file's tests run.
const database = await createTestDatabase({ template });
process.env.DATABASE_URL = database.url;
process.env.TEST_DATABASE_URL = database.url;
afterAll(async () => {
  await database.drop();
  await settleReadyClones();
});
