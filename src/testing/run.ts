import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { hashPackageFiles, planCodeFolders } from "../core/codeHash.ts";
import { packageRoot } from "../core/paths.ts";
import { resolveRun, type ResolvedRun } from "../api/run.ts";
import type { Scenario } from "../scenario/scenario.ts";
import { KEEP_TEMPLATES, type KitOptions } from "./options.ts";

/**
 * The kit's run, settled once at its edge (prepareTemplate, createTestDatabase, cleanupStale,
 * the globalSetup) and only read below it. Frozen.
 */
export interface KitRun {
  /**
   * The seed's run: the environment (with `.env` when asked), the server and base database, the
   * guard's verdict (production, a remote host), the plan and the local accounts. The template is
   * migrated and seeded with it, pointed at the database being built.
   */
  readonly seed: ResolvedRun;
  /** Scenarios written on top of the profile's rows, in order. */
  readonly scenarios: readonly Scenario[];
  /** Templates of the base kept when a new one is built, the new one included. */
  readonly keepTemplates: number;
  /** sha256 of everything that decides the template's rows (see templateKey()). */
  readonly key: string;
}

/**
 * Settles the kit's options in one call: the seed's run (resolveRun: environment, target,
 * guard, plan, local accounts), the scenarios, and the template's key. Nothing is contacted;
 * any problem is one SeedError.
 *
 * @example
 * const kit = resolveKit({ databaseUrl: "postgresql://postgres@127.0.0.1/chatgenius_test", profile: "minimal" });
 * kit.seed.plan.profile; // "minimal"
 */
export function resolveKit(options: KitOptions = {}): KitRun {
  const seed = resolveRun("seed", options);
  const scenarios = Object.freeze(
    options.scenario === undefined ? [] : Array.isArray(options.scenario) ? [...options.scenario] : [options.scenario],
  ) as readonly Scenario[];
  return Object.freeze({
    seed,
    scenarios,
    keepTemplates: options.keepTemplates ?? KEEP_TEMPLATES,
    key: keyOf(seed, scenarios),
  });
}

/**
 * The migrations and the schema, the code that plans and writes the rows (the TypeScript
 * sources in a checkout, the build in an installed copy), the plan, the local accounts and the
 * scenarios on top, each by its content.
 */
function keyOf(seed: ResolvedRun, scenarios: readonly Scenario[]): string {
  const hash = createHash("sha256");
  const version = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")).version;
  hash.update(JSON.stringify({ plan: seed.plan, version, local: seed.local?.hash ?? null }));
  hashPackageFiles(hash, [...planCodeFolders(["src/write", "src/scenario"]), "prisma/migrations"]);
  for (const scenario of scenarios) hash.update(`scenario:${scenario.fingerprint()}`);
  return hash.digest("hex");
}
