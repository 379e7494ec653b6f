import type { TestProject } from "vitest/node";
import { withDatabase } from "../src/db/config.ts";
import setup from "./globalSetup.ts";
import { query, serverConfig, TEMPLATE_DATABASE } from "./helpers/db.ts";

/** The suite's global setup for one Stryker worker (vitest.stryker.config.ts), whose template is dropped when it ends. */
export default async function strykerSetup(project: TestProject): Promise<() => Promise<void>> {
  await setup(project);
  return async () => {
    await query(
      withDatabase(serverConfig(), "postgres"),
      `DROP DATABASE IF EXISTS "${TEMPLATE_DATABASE}" WITH (FORCE)`,
    );
  };
}
