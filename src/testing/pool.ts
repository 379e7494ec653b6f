import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveDatabaseConfig, type DatabaseConfig } from "../db/config.ts";
import { connect } from "../db/connection.ts";
import { KitAdmin, kitAdmin } from "./admin.ts";
import { readyComment, TEST_DATABASE_COMMENT, testDatabaseComment } from "./comments.ts";
import type { Template } from "./template.ts";

export { claimFromPool, type KitPool } from "./claim.ts";
import type { KitPool } from "./claim.ts";

/** Most clones a run makes ahead (CHATGENIUS_SEED_POOL), and most bytes they may take in all. */
export const POOL_MAX = 50;
const POOL_BYTES = 1024 ** 3;

let serial = 0;

/**
 * How many clones a run makes ahead: one per test file, at least one per worker, at most
 * `max` (CHATGENIUS_SEED_POOL, default 50) and 1 GB of clones.
 *
 * @example
 * poolSize({ files: 20, workers: 2, templateBytes: 9e6 }); // 20
 */
export function poolSize(input: { files: number; workers: number; templateBytes: number; max?: number }): number {
  const bySize = Math.max(1, Math.floor(POOL_BYTES / Math.max(1, input.templateBytes)));
  return Math.max(1, input.workers, Math.min(input.files, input.max ?? POOL_MAX, bySize));
}

/**
 * The run's clones: the template's ready clones left by the last run, then new ones (two at a
 * time) until there are `count`. Each becomes this run's test database at once (renamed
 * `<base>_t_<pid>_<n>`, its comment naming this process), so that a run that dies leaves
 * databases cleanupStale() drops and never hands over again.
 *
 * @example
 * const pool = await takePool(template, 20);
 */
export async function takePool(template: Template, count: number): Promise<KitPool> {
  const admin = kitAdmin(template.server);
  const comment = testDatabaseComment(template.name);
  const names = await admin.claimReady(template.name, count, () => nextName(template), comment);
  const missing = count - names.length;
  const made = await Promise.all(
    Array.from({ length: Math.min(2, missing) }, async (_, lane) => {
      const mine: string[] = [];
      for (let i = lane; i < missing; i += 2) {
        const name = nextName(template);
        await admin.clone(template.name, name, comment);
        // A new database's first connection builds its catalog cache file (about 20 ms here):
        // done now, not by the test file's first query.
        await warm(admin.database(name));
        mine.push(name);
      }
      return mine;
    }),
  );
  return { names: [...names, ...made.flat()], claims: mkdtempSync(join(tmpdir(), "chatgenius-seed-claims-")) };
}

/**
 * After the run: the clones no file claimed go back to the ready pool, and the used ones are
 * dropped and replaced so that the next run finds `keep` ready. Dropping (a checkpoint each)
 * and cloning take a while, so by default a detached process does it after Vitest exits, as
 * IntegreSQL's daemon does; `background: false` (CHATGENIUS_SEED_POOL_BACKGROUND=0) does it
 * here. A run killed before this leaves test databases that cleanupStale() drops.
 *
 * @example
 * await releasePool(template, pool, 20, { background: false });
 */
export async function releasePool(
  template: Template,
  pool: KitPool,
  keep: number,
  options: { background?: boolean } = {},
): Promise<void> {
  const claimed = new Set(existsSync(pool.claims) ? readdirSync(pool.claims) : []);
  rmSync(pool.claims, { recursive: true, force: true });
  const unused = pool.names.filter((name) => !claimed.has(name));
  const used = pool.names.filter((name) => claimed.has(name));
  const admin = kitAdmin(template.server);
  for (const name of unused) await admin.setComment(name, readyComment(template.name));
  const job: PoolJob = { server: template.server.url, template: template.name, drop: used, keep };
  const script = fileURLToPath(new URL("./testing-maintain.js", import.meta.url));
  // Only the build can run detached (plain node cannot load the TypeScript sources).
  if (options.background !== false && import.meta.url.endsWith(".js") && existsSync(script)) {
    // The job (its URL may hold a password) goes in the environment, not on the command line.
    spawn(process.execPath, [script], {
      detached: true,
      stdio: "ignore",
      env: { ...process.env, [POOL_JOB]: JSON.stringify(job) },
    }).unref();
  } else {
    await maintainPool(job);
  }
}

/** The environment variable that hands the upkeep its job. */
export const POOL_JOB = "CHATGENIUS_SEED_POOL_JOB";

/** What the pool's upkeep after a run does. */
export interface PoolJob {
  readonly server: string;
  readonly template: string;
  readonly drop: readonly string[];
  readonly keep: number;
}

/**
 * Drops the run's used test databases and makes ready clones of the template until `keep` are
 * ready, one at a time, each warmed by one connection (its catalog cache file written: a new
 * database's first connection took 31 ms here, later ones 8 ms). Nothing is made for a template that is gone.
 *
 * @example
 * await maintainPool({ server: url, template: "chatgenius_test_tpl_0123456789ab", drop: [], keep: 4 });
 */
export async function maintainPool(job: PoolJob): Promise<void> {
  const server = resolveDatabaseConfig({ DATABASE_URL: job.server });
  // A handle of its own, named for the upkeep in pg_stat_activity.
  const admin = new KitAdmin(server, { application: "chatgenius-seed pool" });
  try {
    await admin.locked(`${job.template}:pool`, async (session) => {
      for (const name of job.drop)
        if ((await session.comment(name))?.startsWith(TEST_DATABASE_COMMENT)) await session.drop(name).catch(() => {});
      // Counted again each time: a run that started meanwhile may have taken some.
      while ((await session.readyClones(job.template)).length < job.keep) {
        if ((await session.comment(job.template)) === null) break;
        const name = `${server.database}_r_${process.pid}_${++serial}`;
        await session.clone(job.template, name, readyComment(job.template));
        await warm(admin.database(name));
      }
    });
  } finally {
    await admin.close();
  }
}

async function warm(config: DatabaseConfig): Promise<void> {
  const client = await connect(config).catch(() => null);
  await client?.query(`SELECT 1`).catch(() => {});
  await client?.end().catch(() => {});
}

function nextName(template: Template): string {
  return `${template.server.database}_t_${process.pid}_p${++serial}`;
}
