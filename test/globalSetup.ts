import type { TestProject } from "vitest/node";
import { withDatabase } from "../src/db/config.ts";
import { migrateDatabase } from "../src/api/reset.ts";
import { seedDatabase } from "../src/api/seed.ts";
import { TEMPLATE_DATABASE, query, serverConfig, templateConfig } from "./helpers/db.ts";

/**
 * Prepares the test template database once per run, the way a ChatGenius test suite would:
 * recreate it, apply the migrations and seed it with seedDatabase(). Test files clone it.
 */
export default async function setup(project: TestProject): Promise<void> {
  const server = serverConfig();
  const admin = withDatabase(server, "postgres");
  await query(admin, `DROP DATABASE IF EXISTS "${TEMPLATE_DATABASE}" WITH (FORCE)`);
  const template = templateConfig();
  await migrateDatabase({ databaseUrl: template.url, env: {} });
  const summary = await seedDatabase({ databaseUrl: template.url, env: {}, profile: "dev" });
  project.provide("templateRows", summary.totalRows);
}

declare module "vitest" {
  export interface ProvidedContext {
    templateRows: number;
  }
}
