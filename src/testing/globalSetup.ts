// Vitest globalSetup of the test kit: `globalSetup: ["chatgenius-seed/testing/global-setup"]`.
// Prepares (or reuses) the seeded template once per run, drops what crashed runs left behind,
// and hands the template to the test files (chatgenius-seed/testing/setup clones it per file).
import type { TestProject } from "vitest/node";
import { kitOptionsFromEnv, type KitOptions } from "./options.ts";
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
  await prepareKit(project, kitOptionsFromEnv(process.env));
}

/**
 * A globalSetup of your own for the kit: its options from the environment as the default one
 * reads them, plus yours (a scenario or a list of them written into the template on top of the
 * profile's rows). The setup file (`chatgenius-seed/testing/setup`) then clones that template.
 *
 * @example
 * // test/global-setup.ts; vitest.config.ts: globalSetup: ["test/global-setup.ts"]
 * import { defineGlobalSetup } from "chatgenius-seed/testing";
 * import { world } from "./world.ts";
 * export default defineGlobalSetup({ scenario: world });
 */
export function defineGlobalSetup(options: Partial<KitOptions>): (project: TestProject) => Promise<void> {
  return (project) => prepareKit(project, { ...kitOptionsFromEnv(process.env), ...options });
}

async function prepareKit(project: TestProject, options: KitOptions): Promise<void> {
  await cleanupStale(options);
  const template = await prepareTemplate(options);
  project.provide("chatgeniusSeedTemplate", template);
  // One clone ready per worker before the first file asks; each file then makes the next.
  await topUpReadyClones(template, Math.max(1, Number(project.config.maxWorkers) || 1));
}
