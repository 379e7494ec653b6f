import { kitAdmin, type KitAdmin } from "./admin.ts";
import { kitServer } from "./embedded.ts";
import { resolveKit } from "./run.ts";
import { templateOf, type KitOptions, type Template } from "./template.ts";
import {
  commentFields,
  isStaleTestDatabase,
  READY_COMMENT,
  readyComment,
  TEST_DATABASE_COMMENT,
  testDatabaseComment,
} from "./comments.ts";

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
  const template = options.template ?? (await templateOf(resolveKit(options)));
  const admin = kitAdmin(template.server);
  const name = `${template.server.database}_t_${process.pid}_${++counter}`;
  const comment = testDatabaseComment(template.name);
  const prepared = (await admin.claimReady(template.name, 1, () => name, comment)).length === 1;
  if (!prepared) await admin.clone(template.name, name, comment);
  for (let i = 0; i < (options.ready ?? 1); i++) track(makeReadyClone(template));
  return { name, url: admin.database(name).url, prepared, drop: () => dropTestDatabase(admin, name) };
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
  await kitAdmin(template.server).clone(template.name, name, readyComment(template.name));
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
  const have = (await kitAdmin(template.server).readyClones(template.name)).length;
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

/**
 * Drops a test database, if it still carries the kit's test database comment: a name the kit
 * handed out may since belong to something else.
 *
 * @example
 * await dropTestDatabase(kitAdmin(template.server), "chatgenius_test_t_4242_1");
 */
export async function dropTestDatabase(admin: KitAdmin, name: string): Promise<void> {
  if ((await admin.comment(name))?.startsWith(TEST_DATABASE_COMMENT)) await admin.drop(name);
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
  return cleanupWith(kitAdmin(await kitServer(resolveKit(options))), options.maxAgeHours);
}

/**
 * @internal cleanupStale() with the kit's handle on its server (the globalSetup's).
 *
 * @example
 * await cleanupWith(kitAdmin(await kitServer(kit)));
 */
export async function cleanupWith(admin: KitAdmin, maxAgeHours = 24): Promise<string[]> {
  const databases = await admin.list();
  const names = new Set(databases.map((d) => d.name));
  const dropped: string[] = [];
  for (const { name, comment } of databases) {
    const fields = commentFields(comment);
    const stale = comment.startsWith(READY_COMMENT)
      ? !names.has(fields.template ?? "")
      : comment.startsWith(TEST_DATABASE_COMMENT) && isStaleTestDatabase(fields, maxAgeHours * 3600_000);
    if (stale) {
      await admin.drop(name);
      dropped.push(name);
    }
  }
  return dropped;
}
