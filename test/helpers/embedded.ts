import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { migrateDatabase } from "../../src/api/reset.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { withDatabase } from "../../src/db/config.ts";
import { startEmbedded } from "../../src/db/embedded.ts";
import type { Profile } from "../../src/plan/plan.ts";

/**
 * Runs `body` with a client on a new embedded PostgreSQL of a project folder of its own,
 * migrated and seeded with `profile`, as a fresh clone's first command makes it; the server,
 * its folder and the client are gone afterwards.
 */
export async function withEmbeddedDatabase<T>(
  name: string,
  profile: Profile,
  body: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const project = mkdtempSync(join(tmpdir(), `${name}-`));
  // As root, the server runs as the `postgres` user, who must be able to enter the folder.
  chmodSync(project, 0o755);
  const server = await startEmbedded({ dir: join(project, ".chatgenius/postgres") });
  try {
    const url = withDatabase(server.config, "chatgenius").url;
    await migrateDatabase({ env: {}, databaseUrl: url });
    await seedDatabase({ env: {}, databaseUrl: url, profile });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return await body(client);
    } finally {
      await client.end();
    }
  } finally {
    await server.release();
    rmSync(project, { recursive: true, force: true });
  }
}
