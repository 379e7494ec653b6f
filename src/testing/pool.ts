import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { resolveDatabaseConfig, withDatabase, type DatabaseConfig } from "../db/config.ts";
import { connect, ident } from "../db/connection.ts";
import { host, READY_COMMENT, TEST_DATABASE_COMMENT } from "./comments.ts";
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
  const admin = await connect(withDatabase(template.server, "postgres"));
  const names: string[] = [];
  try {
    // What is renamed here holds no test's writes yet: losing it in a server crash loses nothing.
    await admin.query(`SET synchronous_commit = off`);
    const { rows } = await admin.query<{ name: string }>(
      `SELECT datname AS name FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1 ORDER BY oid LIMIT $2`,
      [`${READY_COMMENT} template=${template.name}`, count],
    );
    for (const ready of rows) {
      const name = nextName(template);
      try {
        await admin.query(
          `BEGIN; ALTER DATABASE ${ident(ready.name)} RENAME TO ${ident(name)}; COMMENT ON DATABASE ${ident(name)} IS '${testComment(template)}'; COMMIT`,
        );
        names.push(name);
      } catch {
        await admin.query(`ROLLBACK`).catch(() => {}); // another run took it first
      }
    }
  } finally {
    await admin.end().catch(() => {});
  }
  const missing = count - names.length;
  const made = await Promise.all(
    Array.from({ length: Math.min(2, missing) }, async (_, lane) => {
      const mine: string[] = [];
      for (let i = lane; i < missing; i += 2) {
        const name = await makeClone(template, nextName(template), testComment(template));
        // A new database's first connection builds its catalog cache file (about 20 ms here):
        // done now, not by the test file's first query.
        await warm(withDatabase(template.server, name));
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
  if (unused.length > 0) {
    const admin = await connect(withDatabase(template.server, "postgres"));
    try {
      for (const name of unused)
        await admin.query(`COMMENT ON DATABASE ${ident(name)} IS '${READY_COMMENT} template=${template.name}'`);
    } finally {
      await admin.end().catch(() => {});
    }
  }
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
  const admin = await connect(withDatabase(server, "postgres"));
  const lock = createHash("sha256").update(`${job.template}:pool`).digest().readInt32BE(0);
  try {
    await admin.query(`SET application_name = 'chatgenius-seed pool'`);
    await admin.query(`SELECT pg_advisory_lock(1936024933, $1)`, [lock]);
    for (const name of job.drop) {
      const { rows } = await admin.query<{ comment: string | null }>(
        `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
        [name],
      );
      if (rows[0]?.comment?.startsWith(TEST_DATABASE_COMMENT))
        await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`).catch(() => {});
    }
    const template = { name: job.template, server } as Template;
    // Counted again each time: a run that started meanwhile may have taken some.
    while ((await readyCount(admin, job.template)) < job.keep) {
      if (!(await exists(admin, job.template))) break;
      const name = await makeClone(
        template,
        `${template.server.database}_r_${process.pid}_${++serial}`,
        `${READY_COMMENT} template=${job.template}`,
      );
      await warm(withDatabase(template.server, name));
    }
  } finally {
    await admin.query(`SELECT pg_advisory_unlock(1936024933, $1)`, [lock]).catch(() => {});
    await admin.end().catch(() => {});
  }
}

async function readyCount(admin: pg.Client, template: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1`,
    [`${READY_COMMENT} template=${template}`],
  );
  return rows[0]?.n ?? 0;
}

async function exists(admin: pg.Client, name: string): Promise<boolean> {
  return (await admin.query(`SELECT 1 FROM pg_database WHERE datname = $1`, [name])).rowCount === 1;
}

async function warm(config: DatabaseConfig): Promise<void> {
  const client = await connect(config).catch(() => null);
  await client?.query(`SELECT 1`).catch(() => {});
  await client?.end().catch(() => {});
}

/** Clones the template as `name` with `comment`; returns the name. */
async function makeClone(template: Template, name: string, comment: string): Promise<string> {
  const admin = await connect(withDatabase(template.server, "postgres"));
  try {
    await admin.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template.name)}`);
    await admin.query(`COMMENT ON DATABASE ${ident(name)} IS '${comment.replace(/'/g, "''")}'`);
  } finally {
    await admin.end().catch(() => {});
  }
  return name;
}

function nextName(template: Template): string {
  return `${template.server.database}_t_${process.pid}_p${++serial}`;
}

function testComment(template: Template): string {
  return `${TEST_DATABASE_COMMENT} host=${host()} pid=${process.pid} created=${new Date().toISOString()} template=${template.name}`;
}
