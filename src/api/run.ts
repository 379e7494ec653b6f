import { join, resolve } from "node:path";
import { resolveEnvironment, type DatabaseConfig, type Env, type ResolvedEnvironment } from "../db/config.ts";
import { SeedError } from "../core/errors.ts";
import { guardRun, type GuardVerdict } from "../db/guard.ts";
import { checkPlanOptions, type PlanOptions } from "../plan/plan.ts";
import { resolveLocalRows, type ResolvedLocal } from "../plan/localSeed.ts";
import type { PlanCache } from "../generation/planCache.ts";
import type { WriteMethod } from "../write/transaction.ts";

/** The entries that resolve a run; each settles only what it uses. */
export const RUN_KINDS = ["seed", "reset", "migrate", "verify", "report"] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/** What an entry may be given: the options of seedDatabase that are configuration, not handles. */
export interface RunOptions extends PlanOptions {
  /** The environment to read configuration from (default: process.env, with `.env` under it when `loadDotEnv`). */
  env?: Env;
  /** Target database; overrides DATABASE_URL and PG* in `env`. */
  databaseUrl?: string;
  /** Read `.env` from `cwd` (the CLI does; default false for library calls). */
  loadDotEnv?: boolean;
  /** Directory relative paths are resolved from (default: process.cwd()). */
  cwd?: string;
  /** Allow a database host other than this machine (also SEED_ALLOW_REMOTE=1). */
  allowRemote?: boolean;
  /** A local seed file, or "default" for prisma/seed.local.json when present (SEED_DATA_FILE names one too). */
  dataFile?: string;
  /** Keep and reuse large plans (SEED_CACHE=1 or 0 decides over it). */
  cache?: boolean;
  /** Overrides of SEED_LOCK_WAIT / SEED_LOCK_TIMEOUT / SEED_STATEMENT_TIMEOUT, in ms. */
  lockWaitMs?: number;
  lockTimeoutMs?: number;
  statementTimeoutMs?: number;
  /** Validate and plan, write nothing. */
  dryRun?: boolean;
  /** `auto` (default) picks COPY from COPY_THRESHOLD rows up, Prisma below. */
  method?: WriteMethod | "auto";
  /** Folder of migrations to compare the database with (default: prisma/migrations). */
  migrationsDir?: string;
  /** Longest the Prisma seed transaction may run (ms, default 10 minutes). */
  transactionTimeoutMs?: number;
  /** Command name shown in the start event and kept in the run history (default: the entry's kind). */
  command?: string;
}

/**
 * One run, settled once at its entry (the CLI, seedDatabase, resetDatabase, migrateDatabase,
 * verifyDatabase, reportDatabase) and only read below it: the target and the guard's verdict,
 * the limits, the plan options, the local accounts, the plan cache, the secrets. Frozen.
 */
export interface ResolvedRun extends ResolvedEnvironment {
  readonly kind: RunKind;
  readonly command: string;
  readonly cwd: string;
  readonly guard: GuardVerdict;
  /** Checked plan options (defaults filled in). */
  readonly plan: Readonly<Required<PlanOptions>>;
  /** Developers' own accounts as rows, checked against the plan; null without a file (and for migrate, report). */
  readonly local: ResolvedLocal | null;
  /** Where large plans are kept, or null (library calls by default, SEED_CACHE=0, migrate, verify, report). */
  readonly cache: PlanCache | null;
  readonly dryRun: boolean;
  readonly method: WriteMethod | "auto";
  readonly migrationsDir: string | undefined;
  readonly transactionTimeoutMs: number | undefined;
  /**
   * The database is the project's own (the embedded one): a seed applies its pending migrations
   * itself, on its own connection, instead of refusing to run. False for a configured server.
   */
  readonly keepMigrated: boolean;
}

/** What each entry settles: seed and reset delete data (production refused); verify and the writers need the plan. */
const NEEDS: Record<RunKind, { refuseProduction: boolean; plan: boolean; cache: boolean }> = {
  seed: { refuseProduction: true, plan: true, cache: true },
  reset: { refuseProduction: true, plan: true, cache: true },
  migrate: { refuseProduction: false, plan: false, cache: false },
  verify: { refuseProduction: false, plan: true, cache: false },
  report: { refuseProduction: false, plan: false, cache: false },
};

/**
 * Settles a run in one call, in the order a user fixes things: the environment (`.env`, the
 * target, the SEED_* limits), the guard (production, a remote host), the plan options, the
 * local seed file, the plan cache. Nothing is contacted; any problem is one SeedError.
 *
 * @example
 * const run = resolveRun("seed", { databaseUrl: "postgresql://postgres@127.0.0.1:5432/chatgenius", profile: "minimal" });
 * run.plan.profile; // "minimal"
 */
export function resolveRun(kind: RunKind, options: RunOptions = {}): ResolvedRun {
  const needs = NEEDS[kind];
  const cwd = options.cwd ?? process.cwd();
  const overrides = {
    lockWaitMs: options.lockWaitMs,
    lockTimeoutMs: options.lockTimeoutMs,
    statementTimeoutMs: options.statementTimeoutMs,
  };
  const environment = resolveEnvironment({
    env: options.env,
    loadDotEnv: options.loadDotEnv,
    databaseUrl: options.databaseUrl,
    cwd,
    overrides,
  });
  const guard = guardRun(environment, { allowRemote: options.allowRemote, allowProduction: !needs.refuseProduction });
  const plan = Object.freeze(checkPlanOptions(needs.plan ? options : {}));
  const local = needs.plan ? resolveLocalRows({ dataFile: options.dataFile, cwd }, environment.env, plan) : null;
  const cache = needs.cache ? resolvePlanCache(environment.env, cwd, options.cache ?? false) : null;
  return Object.freeze({
    ...environment,
    kind,
    command: options.command ?? kind,
    cwd,
    guard,
    plan,
    local,
    cache: cache && Object.freeze(cache),
    dryRun: options.dryRun ?? false,
    method: options.method ?? "auto",
    migrationsDir: options.migrationsDir,
    transactionTimeoutMs: options.transactionTimeoutMs,
    keepMigrated: false,
  });
}

/**
 * The same run against the embedded database the CLI opens once the run is settled (its port
 * is known only then), which it keeps migrated. The guard's verdict stands: it is this machine.
 *
 * @example
 * const embedded = retarget(run, (await openTarget(run, { cwd: run.cwd })).config);
 */
export function retarget(run: ResolvedRun, config: DatabaseConfig): ResolvedRun {
  return Object.freeze({
    ...run,
    env: Object.freeze({ ...run.env, DATABASE_URL: config.url }),
    target: config,
    keepMigrated: true,
  });
}

/** Default size of the plan cache: about five scale-1000 plans. */
const DEFAULT_CACHE_MB = 2048;

/**
 * The plan cache of a run, or null when it has none: `wanted` (the CLI's default: yes; library
 * calls: no) unless SEED_CACHE says `1` or `0`; in SEED_CACHE_DIR (default `.chatgenius/cache`
 * under `cwd`), at most SEED_CACHE_MB megabytes (default 2048).
 *
 * @example
 * resolvePlanCache({ SEED_CACHE_DIR: "/tmp/plans" }, process.cwd(), true)?.dir; // "/tmp/plans"
 */
export function resolvePlanCache(env: Env, cwd: string, wanted: boolean): PlanCache | null {
  const enabled = env.SEED_CACHE?.trim();
  if (enabled !== undefined && enabled !== "" && enabled !== "0" && enabled !== "1") {
    throw new SeedError(
      "INVALID_CONFIG",
      `SEED_CACHE is '${enabled}' but must be 1 (keep large plans, the default) or 0 (never)`,
    );
  }
  const mb = env.SEED_CACHE_MB?.trim();
  if (mb !== undefined && mb !== "" && !/^\d+$/.test(mb)) {
    throw new SeedError(
      "INVALID_CONFIG",
      `SEED_CACHE_MB is '${mb}' but must be a whole number of megabytes, e.g. ${DEFAULT_CACHE_MB}`,
    );
  }
  if (enabled === "0" || (enabled !== "1" && !wanted)) return null;
  const dir = resolve(cwd, env.SEED_CACHE_DIR?.trim() || join(".chatgenius", "cache"));
  return { dir, maxBytes: Number(mb || DEFAULT_CACHE_MB) * 1024 * 1024 };
}
