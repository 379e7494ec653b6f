import { hostname } from "node:os";
import { runEnv, withDatabase } from "../db/config.ts";
import { guardTarget } from "../db/guard.ts";
import { connect, ident } from "../db/connection.ts";
import { databaseComment, prepareTemplate, TEST_DATABASE_COMMENT, type KitOptions, type Template } from "./template.ts";

/** An isolated database holding the template's rows, for one test file (or one test). */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops it (connections included). */
  drop(): Promise<void>;
}

export interface TestDatabaseOptions extends KitOptions {
  /** The template to clone (default: prepareTemplate(options)). */
  template?: Template;
  /** Clones kept ready in the background, so that the next call hands one over at once (default 1; 0 for none). */
  ready?: number;
}

/** Clones made ahead, per template, in this process. */
const readyClones = new Map<string, Promise<TestDatabase>[]>();
let counter = 0;

/**
 * A database of its own for a test file: a `CREATE DATABASE … TEMPLATE` clone of the seeded
 * template, named `<base>_t_<pid>_<n>` and marked as the kit's (so that cleanupStale() can
 * drop it after a crash, and nothing else is ever dropped). As IntegreSQL does, the next clone
 * is made in the background while this one is in use.
 *
 * @example
 * const db = await createTestDatabase({ databaseUrl: process.env.TEST_DATABASE_URL });
 * process.env.DATABASE_URL = db.url; // … tests …
 * await db.drop();
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const template = options.template ?? (await prepareTemplate(options));
  const queue = readyClones.get(template.name) ?? [];
  readyClones.set(template.name, queue);
  const next = queue.shift() ?? clone(template);
  while (queue.length < (options.ready ?? 1)) queue.push(clone(template));
  return next;
}

async function clone(template: Template): Promise<TestDatabase> {
  const name = `${template.server.database}_t_${process.pid}_${++counter}`;
  const admin = await connect(withDatabase(template.server, "postgres"));
  try {
    await admin.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template.name)}`);
    await admin.query(`COMMENT ON DATABASE ${ident(name)} IS '${TEST_DATABASE_COMMENT} host=${hostname().replace(/'/g, "")} pid=${process.pid} created=${new Date().toISOString()}'`);
  } finally {
    await admin.end().catch(() => {});
  }
  const url = withDatabase(template.server, name).url;
  return { name, url, drop: () => dropKitDatabase(template, name) };
}

async function dropKitDatabase(template: Template, name: string): Promise<void> {
  const admin = await connect(withDatabase(template.server, "postgres"));
  try {
    const comment = await databaseComment(admin, name);
    if (comment?.startsWith(TEST_DATABASE_COMMENT)) await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
  } finally {
    await admin.end().catch(() => {});
  }
}

/**
 * Drops the clones this process made ahead and did not hand over (a globalSetup's teardown, or
 * the end of a worker).
 *
 * @example
 * afterAll(() => releaseReadyClones());
 */
export async function releaseReadyClones(): Promise<void> {
  const all = [...readyClones.values()].flat();
  readyClones.clear();
  await Promise.all(all.map(async (p) => (await p.catch(() => null))?.drop()));
}

/**
 * Drops what crashed runs left: the kit's test databases on this server whose process on this
 * machine is gone, or that are older than `maxAgeHours` (default 24). Only databases carrying
 * the kit's comment are considered. Returns the names dropped.
 *
 * @example
 * await cleanupStale({ databaseUrl: process.env.TEST_DATABASE_URL });
 */
export async function cleanupStale(options: KitOptions & { maxAgeHours?: number } = {}): Promise<string[]> {
  const server = guardTarget(runEnv(options), { allowRemote: options.allowRemote });
  const admin = await connect(withDatabase(server, "postgres"));
  const dropped: string[] = [];
  try {
    const { rows } = await admin.query<{ name: string; comment: string }>(
      `SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE shobj_description(oid, 'pg_database') LIKE $1`,
      [`${TEST_DATABASE_COMMENT}%`],
    );
    const maxAge = (options.maxAgeHours ?? 24) * 3600_000;
    for (const { name, comment } of rows) {
      const fields = Object.fromEntries(comment.slice(TEST_DATABASE_COMMENT.length).trim().split(/\s+/).map((f) => f.split("=") as [string, string]));
      const gone = fields.host === hostname().replace(/'/g, "") && !alive(Number(fields.pid));
      const old = Date.now() - Date.parse(fields.created ?? "") > maxAge;
      if (gone || old) {
        await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
        dropped.push(name);
      }
    }
  } finally {
    await admin.end().catch(() => {});
  }
  return dropped;
}

function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

