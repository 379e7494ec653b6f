import type { TestProject } from "vitest/node";
import { withDatabase } from "../src/db/config.ts";
import setup from "./globalSetup.ts";
import { query, serverConfig, TEMPLATE_DATABASE } from "./helpers/db.ts";

/**
 * The suite's global setup for one Stryker worker (vitest.stryker.config.ts): its template, and
 * the copies its test files keep from one mutant's run to the next (TEST_KEEP_ROLLED_BACK), are
 * made fresh when it starts and dropped when it ends.
 */
export default async function strykerSetup(project: TestProject): Promise<() => Promise<void>> {
  await dropCopies();
  await setup(project);
  return async () => {
    await dropCopies();
    await query(
      withDatabase(serverConfig(), "postgres"),
      `DROP DATABASE IF EXISTS "${TEMPLATE_DATABASE}" WITH (FORCE)`,
    );
  };
}

/** The worker's copies of its template (`<template>_<file>`), left by a worker of the same pid too. */
async function dropCopies(): Promise<void> {
  const admin = withDatabase(serverConfig(), "postgres");
  const copies = await query<{ datname: string }>(
    admin,
    "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
    [`${TEMPLATE_DATABASE}_`],
  );
  for (const { datname } of copies) await query(admin, `DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
}
