import { isProcessAlive } from "../src/core/process.ts";
import type { TestProject } from "vitest/node";
import { withDatabase, type DatabaseConfig } from "../src/db/config.ts";
import { migrateDatabase } from "../src/api/reset.ts";
import { seedDatabase } from "../src/api/seed.ts";
import { RUN_DATABASE, TEMPLATE_DATABASE, query, serverConfig, templateConfig } from "./helpers/db.ts";

/**
 * Prepares the test template database once per run, the way a ChatGenius test suite would:
 * recreate it, apply the migrations and seed it with seedDatabase(). Test files clone it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = serverConfig();
  const admin = withDatabase(server, "postgres");
  await dropDeadRuns(admin);
  await query(admin, `DROP DATABASE IF EXISTS "${TEMPLATE_DATABASE}" WITH (FORCE)`);
  const template = templateConfig();
  await migrateDatabase({ databaseUrl: template.url, env: {} });
  const summary = await seedDatabase({ databaseUrl: template.url, env: {}, profile: "dev" });
  project.provide("templateRows", summary.totalRows);
  return async () => {
    await query(admin, `DROP DATABASE IF EXISTS "${TEMPLATE_DATABASE}" WITH (FORCE)`);
  };
}

/** The databases of runs whose process is gone (killed, crashed): another run's live ones are left alone. */
async function dropDeadRuns(admin: Pick<DatabaseConfig, "url">): Promise<void> {
  const rows = await query<{ datname: string }>(
    admin,
    `SELECT datname FROM pg_database WHERE datname LIKE 'chatgenius\\_test\\_%'`,
  );
  for (const { datname } of rows) {
    const pid = RUN_DATABASE.exec(datname)?.[1];
    if (pid === undefined || isProcessAlive(Number(pid))) continue;
    try {
      // The kit marks its templates IS_TEMPLATE, which DROP refuses.
      await query(admin, `ALTER DATABASE "${datname}" IS_TEMPLATE false`);
      await query(admin, `DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    } catch (error) {
      // Another run's cleanup got there first, or it is not ours to drop: the run goes on.
      console.warn(`could not drop ${datname}, left by an earlier run: ${(error as Error).message}`);
    }
  }
}

declare module "vitest" {
  export interface ProvidedContext {
    templateRows: number;
  }
}
