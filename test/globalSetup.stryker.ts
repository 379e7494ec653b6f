import { isProcessAlive } from "../src/core/process.ts";
import type { TestProject } from "vitest/node";
import { withDatabase, type DatabaseConfig } from "../src/db/config.ts";
import setup from "./globalSetup.ts";
import { createTestDatabase, query, serverConfig, TEMPLATE_DATABASE } from "./helpers/db.ts";

/**
 * The copies of the template the worker makes once and its test files keep from one mutant's
 * run to the next (`useTestDatabase(name, { rolledBack: true })`): test/write/checks.test.ts's.
 */
const KEPT = ["checks"];

/**
 * The suite's global setup for one Stryker worker (vitest.stryker.config.ts names its template
 * after the worker's pid): the template, seeded, and the kept copies of it, all dropped when the
 * worker ends. A worker Stryker killed (a mutant that timed out) ends without that: the next
 * worker to start drops what a dead one left.
 */
export default async function strykerSetup(project: TestProject): Promise<() => Promise<void>> {
  await dropDeadWorkers();
  await setup(project);
  const kept: Record<string, DatabaseConfig> = {};
  for (const name of KEPT) kept[name] = await createTestDatabase(name);
  project.provide("keptDatabases", kept);
  return async () => {
    const admin = withDatabase(serverConfig(), "postgres");
    for (const { database } of Object.values(kept))
      await query(admin, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await query(admin, `DROP DATABASE IF EXISTS "${TEMPLATE_DATABASE}" WITH (FORCE)`);
  };
}

/** The templates and copies of Stryker workers (`<base>_stryker<pid>…`) whose process is gone. */
async function dropDeadWorkers(): Promise<void> {
  const prefix = TEMPLATE_DATABASE.replace(/_stryker\d+$/, "_stryker");
  const admin = withDatabase(serverConfig(), "postgres");
  const rows = await query<{ datname: string }>(
    admin,
    "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
    [prefix],
  );
  for (const { datname } of rows) {
    const pid = /^(\d+)(?:_|$)/.exec(datname.slice(prefix.length))?.[1];
    if (pid !== undefined && !isProcessAlive(Number(pid)))
      await query(admin, `DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
}
