// Vitest globalSetup of the test kit: `globalSetup: ["chatgenius-seed/testing/global-setup"]`.
// Prepares (or reuses) the seeded template once per run, drops what crashed runs left behind,
// and hands the template to the test files (chatgenius-seed/testing/setup clones it per file).
import type { TestProject } from "vitest/node";
import { kitOptionsFromEnv } from "./options.ts";
import { prepareTemplate, type Template } from "./template.ts";
import { cleanupStale, topUpReadyClones } from "./testDatabase.ts";

declare module "vitest" {
  export interface ProvidedContext {
    chatgeniusSeedTemplate: Template;
  }
}

/**
 * Vitest's globalSetup: prepares the template and provides it as `chatgeniusSeedTemplate`.
 *
 * @example
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ["chatgenius-seed/testing/global-setup"], setupFiles: ["chatgenius-seed/testing/setup"] } });
 */
export default async function setup(project: TestProject): Promise<void> {
  const options = kitOptionsFromEnv(process.env);
  await cleanupStale(options);
  const template = await prepareTemplate(options);
  project.provide("chatgeniusSeedTemplate", template);
  // One clone ready per worker before the first file asks; each file then makes the next.
  await topUpReadyClones(template, Math.max(1, Number(project.config.maxWorkers) || 1));
}
