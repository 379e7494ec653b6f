import type pg from "pg";
import { withDatabase } from "../db/config.ts";
import { connect, ident } from "../db/connection.ts";
import { kitServer } from "./embedded.ts";
import { databaseComment, prepareTemplate, type KitOptions, type Template } from "./template.ts";
import { commentFields, host, isStaleTestDatabase, READY_COMMENT, TEST_DATABASE_COMMENT } from "./comments.ts";

export { READY_COMMENT };

/** An isolated database holding the template's rows, for one test file (or one test). */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** True when it was a clone made ahead (handed over at once), false when cloned on demand. */
  readonly prepared: boolean;
  /** Drops it (connections included). */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions extends KitOptions {
  /** The template to clone (default: prepareTemplate(options)). */
  template?: Template;
  /** Clones to make ahead for the next callers, in the background (default 1; 0 for none). */
  ready?: number;
}

let counter = 0;
const pending = new Set<Promise<unknown>>();

/**
 * A database of its own for a test file: a clone of the seeded template, named
 * `<base>_t_<pid>_<n>` and marked as the kit's (so that cleanupStale() can drop it after a
 * crash, and nothing else is ever dropped). As IntegreSQL does, clones are made ahead: a call
 * takes one that is ready on the server (renamed to its own name, at once), or clones on demand
 * when none is, and then makes the next one in the background (see settleReadyClones()). Ready
 * clones outlive the process: the next run of the suite starts with them.
 *
 * @example
 * const db = await createTestDatabase({ databaseUrl: process.env.TEST_DATABASE_URL });
 * process.env.DATABASE_URL = db.url; // … tests …
 * await db.drop();
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const template = options.template ?? (await prepareTemplate(options));
  const name = `${template.server.database}_t_${process.pid}_${++counter}`;
  const admin = await connect(withDatabase(template.server, "postgres"));
  let prepared = false;
  const comment = `${TEST_DATABASE_COMMENT} host=${host()} pid=${process.pid} created=${new Date().toISOString()} template=${template.name}`;
  try {
    prepared = await claimReady(admin, template, name, comment);
    if (!prepared) {
      await admin.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template.name)}`);
      await admin.query(`COMMENT ON DATABASE ${ident(name)} IS '${comment}'`);
    }
  } finally {
    await admin.end().catch(() => {});
  }
  for (let i = 0; i < (options.ready ?? 1); i++) track(makeReadyClone(template));
  return { name, url: withDatabase(template.server, name).url, prepared, drop: () => dropKitDatabase(template, name) };
}

/**
 * Takes a ready clone of the template, if there is one: renamed and marked as this process's in
 * one transaction. Renamed first and marked after, it would be listed, still marked ready, under
 * its new name for a moment, and another run could rename it away from this one.
 */
async function claimReady(admin: pg.Client, template: Template, name: string, comment: string): Promise<boolean> {
  const { rows } = await admin.query<{ name: string }>(
    `SELECT datname AS name FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1 ORDER BY datname`,
    [`${READY_COMMENT} template=${template.name}`],
  );
  for (const ready of rows) {
    try {
      await admin.query(
        `BEGIN; ALTER DATABASE ${ident(ready.name)} RENAME TO ${ident(name)}; COMMENT ON DATABASE ${ident(name)} IS '${comment}'; COMMIT`,
      );
      return true;
    } catch {
      await admin.query(`ROLLBACK`).catch(() => {}); // another process took it first
    }
  }
  return false;
}

/**
 * Makes one clone ahead, marked ready, for the next createTestDatabase() on this server (a
 * globalSetup calls it before the test files start).
 *
 * @example
 * await makeReadyClone(await prepareTemplate());
 */
export async function makeReadyClone(template: Template): Promise<void> {
  const name = `${template.server.database}_r_${process.pid}_${++counter}`;
  const admin = await connect(withDatabase(template.server, "postgres"));
  try {
    await admin.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template.name)}`);
    await admin.query(`COMMENT ON DATABASE ${ident(name)} IS '${READY_COMMENT} template=${template.name}'`);
  } finally {
    await admin.end().catch(() => {});
  }
}

function track(work: Promise<unknown>): void {
  const settled = work.catch(() => {}).finally(() => pending.delete(settled));
  pending.add(settled);
}

/**
 * Makes clones ahead until `count` of the template's are ready on the server (a globalSetup
 * calls it before the test files start; ready clones left by the last run count).
 *
 * @example
 * await topUpReadyClones(await prepareTemplate(), 2);
 */
export async function topUpReadyClones(template: Template, count: number): Promise<void> {
  const admin = await connect(withDatabase(template.server, "postgres"));
  let have = 0;
  try {
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1`,
      [`${READY_COMMENT} template=${template.name}`],
    );
    have = rows[0]?.n ?? 0;
  } finally {
    await admin.end().catch(() => {});
  }
  await Promise.all(Array.from({ length: Math.max(0, count - have) }, () => makeReadyClone(template)));
}

/**
 * Waits for the clones this process is making ahead (call it before the process ends, e.g. in
 * afterAll, so that each is complete and marked).
 *
 * @example
 * afterAll(() => settleReadyClones());
 */
export async function settleReadyClones(): Promise<void> {
  while (pending.size > 0) await Promise.all([...pending]);
}

async function dropKitDatabase(template: Template, name: string): Promise<void> {
  const admin = await connect(withDatabase(template.server, "postgres"));
  try {
    const comment = await databaseComment(admin, name);
    if (comment?.startsWith(TEST_DATABASE_COMMENT))
      await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
  } finally {
    await admin.end().catch(() => {});
  }
}

/**
 * Drops what crashed runs left: the kit's test databases on this server whose process on this
 * machine is gone or that are older than `maxAgeHours` (default 24), and ready clones of a
 * template that no longer exists. Only databases carrying the kit's comment are considered.
 * Returns the names dropped.
 *
 * @example
 * await cleanupStale({ databaseUrl: process.env.TEST_DATABASE_URL });
 */
export async function cleanupStale(options: KitOptions & { maxAgeHours?: number } = {}): Promise<string[]> {
  const server = await kitServer(options);
  const admin = await connect(withDatabase(server, "postgres"));
  const dropped: string[] = [];
  try {
    const { rows } = await admin.query<{ name: string; comment: string }>(
      `SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE $1 OR shobj_description(oid, 'pg_database') LIKE $2`,
      [`${TEST_DATABASE_COMMENT}%`, `${READY_COMMENT}%`],
    );
    const names = new Set(
      (await admin.query<{ name: string }>(`SELECT datname AS name FROM pg_database`)).rows.map((r) => r.name),
    );
    const maxAge = (options.maxAgeHours ?? 24) * 3600_000;
    for (const { name, comment } of rows) {
      const fields = commentFields(comment);
      const stale = comment.startsWith(READY_COMMENT)
        ? !names.has(fields.template ?? "")
        : isStaleTestDatabase(fields, maxAge);
      if (stale) {
        await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
        dropped.push(name);
      }
    }
  } finally {
    await admin.end().catch(() => {});
  }
  return dropped;
}
