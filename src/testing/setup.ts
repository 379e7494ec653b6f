// Vitest setup file of the test kit: `setupFiles: ["chatgenius-seed/testing/setup"]`. Before the
// test file's own imports run, it takes a database of the file's own (one of the clones the
// globalSetup made ahead, claimed without a round trip to the server; cloned on demand when
// none is left) and points DATABASE_URL (and TEST_DATABASE_URL) at it, so the app's Prisma
// client, created on import, uses it. A claimed clone is dropped after the run, by the
// globalSetup's teardown; one cloned on demand after the file.
import { afterAll, inject } from "vitest";
import { withDatabase } from "../db/config.ts";
import { claimFromPool } from "./claim.ts";
import { SeedError } from "../core/errors.ts";

const template = inject("chatgeniusSeedTemplate");
if (!template)
  throw new SeedError(
    "INVALID_CONFIG",
    'chatgenius-seed/testing/setup needs the kit\'s globalSetup: add globalSetup: ["chatgenius-seed/testing/global-setup"] to vitest.config.ts',
  );
const pool = inject("chatgeniusSeedPool");
// The hand-over is measured (performance.getEntriesByName("chatgenius-seed:hand-over")).
const start = performance.now();
const claimed = pool ? claimFromPool(pool) : null;
const url = claimed ? withDatabase(template.server, claimed).url : await onDemand();
performance.measure("chatgenius-seed:hand-over", { start, detail: { pooled: claimed !== null } });
process.env.DATABASE_URL = url;
process.env.TEST_DATABASE_URL = url;

async function onDemand(): Promise<string> {
  // Loaded only here: a file that takes a clone from the pool loads none of the kit's other code.
  const { createTestDatabase } = await import("./testDatabase.ts");
  const database = await createTestDatabase({ template, ready: 0 });
  afterAll(() => database.drop());
  return database.url;
}
