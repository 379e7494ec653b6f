import { loadEnv, resolveDatabaseConfig, secretsOf, redact, type DatabaseConfig, type Env } from "./config.ts";
import { connect } from "./db.ts";
import { SeedError } from "./errors.ts";
import type { PrismaClient } from "./generated/prisma/client.ts";
import { createPrisma } from "./db.ts";
import { assertNotProduction } from "./guard.ts";
import type { IntegrityResult } from "./integrity.ts";
import { createEventLog, silentSink, type EventLog, type SeedLogSink } from "./log.ts";
import { assertNoPendingMigrations, readMigrations } from "./migrations.ts";
import { buildPlan, checkPlanOptions, planTotal, type Plan, type PlanOptions, type Profile } from "./plan.ts";
import { assertSchemaCompatible } from "./schemaCheck.ts";
import { assertValidPlan } from "./validate.ts";
import { writePlan } from "./writer.ts";

/** Options of seedDatabase. Everything has a default; tests inject env, URL, sink and client. */
export interface SeedOptions extends PlanOptions {
  /** The environment to read configuration from (default: process.env, with `.env` under it when `loadDotEnv`). */
  env?: Env;
  /** Target database; overrides DATABASE_URL and PG* in `env`. */
  databaseUrl?: string;
  /** Read `.env` from the current directory (the CLI does; default false for library calls). */
  loadDotEnv?: boolean;
  /** Validate and plan, write nothing. */
  dryRun?: boolean;
  /** Where events go (default: nowhere). */
  sink?: SeedLogSink;
  /** A Prisma client to reuse across calls (a warm connection); seedDatabase leaves it open. */
  prisma?: PrismaClient;
  /** Folder of migrations to compare the database with (default: prisma/migrations). */
  migrationsDir?: string;
  /** Longest the seed transaction may run (ms, default 10 minutes). */
  transactionTimeoutMs?: number;
  /** Command name shown in the start event. */
  command?: string;
}

/** What a run did: the figures the CLI prints and `--json` reports. */
export interface SeedSummary {
  target: string;
  profile: Profile;
  seed: number;
  scale: number;
  dryRun: boolean;
  /** Tables in insert order. `removed`/`ms` are absent on a dry run. */
  tables: { table: string; rows: number; removed?: number; ms?: number }[];
  totalRows: number;
  /** Milliseconds per phase. */
  phases: { validate: number; generate: number; cleanup: number; write: number; verify: number; total: number };
  integrity: IntegrityResult[];
}

/**
 * Seeds a database: validates configuration, connection, schema and the planned rows, then
 * replaces the contents of every seeded table in one transaction, checks integrity in SQL and
 * commits. On any failure nothing changes and a SeedError says why and how to fix it.
 *
 * @example
 * import { seedDatabase } from "chatgenius-seed";
 * const summary = await seedDatabase({ databaseUrl: "postgresql://postgres@127.0.0.1:5432/chatgenius_test", profile: "minimal" });
 * summary.totalRows; // 16
 */
export async function seedDatabase(options: SeedOptions = {}): Promise<SeedSummary> {
  const started = performance.now();
  const baseEnv = options.env ?? process.env;
  const env = options.loadDotEnv ? loadEnv({ env: baseEnv }) : { ...baseEnv };
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  const log = createEventLog(options.sink ?? silentSink);
  const secrets = secretsOf(env);
  let target = "(not configured)";
  try {
    assertNotProduction(env);
    const config = resolveDatabaseConfig(env);
    target = config.target;
    const planOptions = checkPlanOptions(options);
    log.emit("start", { step: "run", command: options.command ?? "seed", target, ...planOptions, dryRun: options.dryRun ?? false });

    let t = performance.now();
    await preflight(config, options.migrationsDir);
    const validateDb = performance.now() - t;

    t = performance.now();
    const plan = buildPlan(planOptions);
    const generate = performance.now() - t;
    t = performance.now();
    assertValidPlan(plan);
    const validate = Math.round(validateDb + performance.now() - t);

    const summary = summarize(plan, target, options.dryRun ?? false);
    summary.phases.generate = Math.round(generate);
    summary.phases.validate = validate;
    if (!options.dryRun) {
      const prisma = options.prisma ?? createPrisma(config);
      try {
        const result = await writePlan(prisma, plan, log, { transactionTimeoutMs: options.transactionTimeoutMs });
        for (const row of summary.tables) {
          row.removed = result.removed[row.table] ?? 0;
          row.ms = result.inserted[row.table]?.ms ?? 0;
        }
        Object.assign(summary.phases, result.phases);
        summary.integrity = result.integrity;
      } finally {
        if (!options.prisma) await prisma.$disconnect();
      }
    }
    summary.phases.total = Math.round(performance.now() - started);
    log.emit("complete", { step: "run", totalRows: summary.totalRows, durationMs: summary.phases.total, summary });
    return summary;
  } catch (error) {
    const seedError = asSeedError(error, secrets);
    log.emit("error", { step: "run", target }, { code: seedError.code, message: seedError.message });
    throw seedError;
  }
}

/** The database answers, has every migration, and matches the schema the fixtures write. */
async function preflight(config: DatabaseConfig, migrationsDir?: string): Promise<void> {
  const client = await connect(config);
  try {
    await assertNoPendingMigrations(client, config.database, readMigrations(migrationsDir));
    await assertSchemaCompatible(client, config.database);
  } finally {
    await client.end().catch(() => {});
  }
}

function summarize(plan: Plan, target: string, dryRun: boolean): SeedSummary {
  return {
    target,
    profile: plan.profile,
    seed: plan.seed,
    scale: plan.scale,
    dryRun,
    tables: plan.tables.map((t) => ({ table: t.table.name, rows: t.rows })),
    totalRows: planTotal(plan),
    phases: { validate: 0, generate: 0, cleanup: 0, write: 0, verify: 0, total: 0 },
    integrity: [],
  };
}

/**
 * Any error as a SeedError whose message has no password in it. Driver and Prisma errors
 * become SEED_FAILED, with the original kept as `cause`.
 */
export function asSeedError(error: unknown, secrets: readonly string[] = []): SeedError {
  if (error instanceof SeedError) {
    const message = redact(error.message, secrets);
    return message === error.message ? error : new SeedError(error.code, message, { cause: error.cause });
  }
  const e = error as { message?: string; code?: string };
  const text = redact((e.message ?? String(error)).split("\n").filter(Boolean).pop() ?? "unknown error", secrets);
  return new SeedError("SEED_FAILED", `the seed failed and was rolled back, the database is as it was: ${text}`, { cause: error });
}
