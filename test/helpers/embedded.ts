import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { migrateDatabase } from "../../src/api/reset.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { startEmbedded } from "../../src/db/embedded.ts";
import type { Profile } from "../../src/plan/plan.ts";

/**
 * Runs `body` with a client on a new embedded PGlite, migrated and seeded with `profile`; the
 * database, its folder and the client are gone afterwards.
 */
export async function withEmbeddedDatabase<T>(
  name: string,
  profile: Profile,
  body: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const embedded = await startEmbedded({ dir: join(dir, "pglite") });
  try {
    await migrateDatabase({ env: {}, databaseUrl: embedded.url });
    await seedDatabase({ env: {}, databaseUrl: embedded.url, profile });
    const client = new pg.Client({ connectionString: embedded.url });
    await client.connect();
    try {
      return await body(client);
    } finally {
      await client.end();
    }
  } finally {
    await embedded.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
