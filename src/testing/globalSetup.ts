// Vitest globalSetup of the test kit: `globalSetup: ["chatgenius-seed/testing/global-setup"]`.
// Prepares (or reuses) the seeded template once per run, drops what crashed runs left behind,
// makes a clone ahead for every test file before they start, and hands the template and the
// clones to the test files (chatgenius-seed/testing/setup claims one per file).
import type { TestProject } from "vitest/node";
import { kitOptionsFromEnv, type KitOptions } from "./options.ts";
import { resolveKit } from "./run.ts";
import { templateOf, type Template } from "./template.ts";
import { cleanupWith } from "./testDatabase.ts";
import { holdsKitServer, kitServer, releaseKitServer } from "./embedded.ts";
import { kitAdmin } from "./admin.ts";
import { POOL_MAX, poolSize, releasePool, takePool, type KitPool } from "./pool.ts";

declare module "vitest" {
  export interface ProvidedContext {
    chatgeniusSeedTemplate: Template;
    chatgeniusSeedPool: KitPool | null;
  }
}

/**
 * Vitest's globalSetup: prepares the template and provides it as `chatgeniusSeedTemplate`.
 *
 * @example
 * // vitest.config.ts
 * export default defineConfig({ test: { globalSetup: ["chatgenius-seed/testing/global-setup"], setupFiles: ["chatgenius-seed/testing/setup"] } });
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  return prepareKit(project, kitOptionsFromEnv(process.env));
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
export function defineGlobalSetup(
  options: Partial<KitOptions>,
): (project: TestProject) => Promise<() => Promise<void>> {
  return (project) => prepareKit(project, { ...kitOptionsFromEnv(process.env), ...options });
}

async function prepareKit(project: TestProject, options: KitOptions): Promise<() => Promise<void>> {
  const kit = resolveKit(options);
  const admin = kitAdmin(await kitServer(kit));
  await cleanupWith(admin);
  const template = await templateOf(kit);
  project.provide("chatgeniusSeedTemplate", template);
  // A clone per test file, made before the files start: cloning while tests run would take the
  // cores they need, and the run's first files would wait for their clone.
  const { env } = kit.seed;
  // The files this run will run: those the command line names, when it names some.
  const filters = project.globalConfig.filters?.length ? project.globalConfig.filters : undefined;
  const files = await project
    .globTestFiles(filters)
    .then((found) => found.testFiles.length)
    .catch(() => 0);
  const count = poolSize({
    files,
    workers: Number(project.config.maxWorkers) || 1,
    templateBytes: await admin.size(template.name),
    max: Number(env.CHATGENIUS_SEED_POOL) || POOL_MAX,
  });
  const pool = await takePool(template, count);
  project.provide("chatgeniusSeedPool", pool);
  return async () => {
    const background = env.CHATGENIUS_SEED_POOL_BACKGROUND?.trim() !== "0" && !holdsKitServer();
    await releasePool(template, pool, count, { background });
    // The kit's connections, and the embedded server when nothing is configured: it stops if no
    // one else uses it.
    await releaseKitServer();
  };
}
