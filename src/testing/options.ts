import { SeedError } from "../core/errors.ts";
import type { Env } from "../db/config.ts";
import { PROFILES, type Profile } from "../plan/plan.ts";
import type { SeedOptions } from "../api/seed.ts";
import type { Scenario } from "../scenario/scenario.ts";

/**
 * What the kit takes: what seedDatabase takes (the target, the plan, the local accounts), and
 * scenarios written on top of the profile's rows into the template, so that every test file's
 * clone starts with them.
 */
export type KitOptions = Pick<
  SeedOptions,
  "env" | "databaseUrl" | "loadDotEnv" | "profile" | "seed" | "scale" | "dataFile" | "cwd" | "allowRemote"
> & {
  readonly scenario?: Scenario | readonly Scenario[];
  /**
   * How many templates of the same base to keep when a new one is built (default 3, the new one
   * included): older ones with no live clone are dropped, so templates superseded by a code or
   * schema change do not pile up. CHATGENIUS_SEED_KEEP_TEMPLATES in the environment.
   */
  readonly keepTemplates?: number;
};

/** Templates of a base kept when a new one is built, the new one included. */
export const KEEP_TEMPLATES = 3;

/**
 * The kit's options for Vitest's globalSetup, from the environment: the server and base
 * database from TEST_DATABASE_URL (else DATABASE_URL or PG*, as the seed reads them), the
 * template's plan from CHATGENIUS_SEED_PROFILE, CHATGENIUS_SEED_SEED and CHATGENIUS_SEED_SCALE.
 *
 * @example
 * kitOptionsFromEnv({ TEST_DATABASE_URL: "postgresql://postgres@127.0.0.1/app_test", CHATGENIUS_SEED_PROFILE: "minimal" });
 */
export function kitOptionsFromEnv(env: Env = process.env): KitOptions {
  const profile = env.CHATGENIUS_SEED_PROFILE as Profile | undefined;
  if (profile !== undefined && !PROFILES.includes(profile))
    throw new SeedError("INVALID_CONFIG", `CHATGENIUS_SEED_PROFILE is '${profile}': use one of ${PROFILES.join(", ")}`);
  const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  const keep = number(env.CHATGENIUS_SEED_KEEP_TEMPLATES);
  if (keep !== undefined && !(Number.isSafeInteger(keep) && keep >= 1))
    throw new SeedError(
      "INVALID_CONFIG",
      `CHATGENIUS_SEED_KEEP_TEMPLATES is '${env.CHATGENIUS_SEED_KEEP_TEMPLATES}': use a whole number of at least 1`,
    );
  return {
    env,
    loadDotEnv: true,
    databaseUrl: env.TEST_DATABASE_URL || undefined,
    profile,
    seed: number(env.CHATGENIUS_SEED_SEED),
    scale: number(env.CHATGENIUS_SEED_SCALE),
    dataFile: env.SEED_DATA_FILE,
    keepTemplates: keep,
  };
}
