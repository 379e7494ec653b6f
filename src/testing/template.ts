import { SeedError } from "../core/errors.ts";
import type { DatabaseConfig } from "../db/config.ts";
import { migrateWith } from "../api/reset.ts";
import { retarget } from "../api/run.ts";
import { handlesOf, seedWith } from "../api/seed.ts";
import type { KitOptions } from "./options.ts";
import { kitAdmin, type AdminSession } from "./admin.ts";
import { kitServer } from "./embedded.ts";
import { resolveKit, type KitRun } from "./run.ts";
import { writeScenarios } from "./scenarios.ts";
import {
  commentFields,
  isStaleTestDatabase,
  TEMPLATE_COMMENT,
  TEST_DATABASE_COMMENT,
  templateComment,
} from "./comments.ts";

export type { KitOptions };

/** A migrated, seeded template database, cloned by createTestDatabase. */
export interface Template {
  /** The template database's name: `<base>_tpl_<key>`. */
  readonly name: string;
  /** The template's URL. */
  readonly url: string;
  /** True when an identical template was already there (nothing was built). */
  readonly reused: boolean;
  /** sha256 of everything that decides the template's rows. */
  readonly key: string;
  /** The server (and base database) the kit works on: the configured one, or the embedded one. */
  readonly server: DatabaseConfig;
}

export { TEMPLATE_COMMENT, TEST_DATABASE_COMMENT } from "./comments.ts";

/**
 * The template's key: a hash of what decides its rows: the migrations and the schema, the code
 * that plans and writes the rows (the TypeScript sources in a checkout, the build in an installed copy),
 * the profile, seed and scale, the local accounts and the scenarios written on top.
 *
 * @example
 * templateKey({ profile: "minimal" }).slice(0, 12);
 */
export function templateKey(options: KitOptions = {}): string {
  return resolveKit(options).key;
}

/**
 * A migrated, seeded template database for these options, built once and reused by every run
 * and process while nothing that decides its rows changed (then `reused: true`). Concurrent
 * callers build it once (an advisory lock on the server); a build that dies halfway leaves no
 * template behind, since it is renamed into place only when complete. The production and
 * remote-host guards apply. With nothing configured (no DATABASE_URL, PG* or .env), all of it
 * happens on the project's embedded PostgreSQL (see kitServer()), as on a server.
 * Building a new template drops the older ones of the same base that no live test database
 * came from, keeping the newest `keepTemplates` (3) in all (see pruneTemplates()).
 *
 * @example
 * const template = await prepareTemplate({ databaseUrl: "postgresql://postgres@127.0.0.1/chatgenius_test", profile: "dev" });
 */
export async function prepareTemplate(options: KitOptions = {}): Promise<Template> {
  return templateOf(resolveKit(options));
}

/**
 * @internal prepareTemplate of a kit run already settled (the globalSetup's, createTestDatabase's).
 *
 * @example
 * const template = await templateOf(resolveKit({ profile: "minimal" }));
 */
export async function templateOf(kit: KitRun): Promise<Template> {
  const { key } = kit;
  const server = await kitServer(kit);
  const admin = kitAdmin(server);
  const name = `${server.database}_tpl_${key.slice(0, 12)}`;
  const template = (reused: boolean): Template => ({ name, url: admin.database(name).url, reused, key, server });
  return admin.locked(name, async (session) => {
    const comment = await session.comment(name);
    if (comment === templateComment(key)) return template(true);
    if (comment !== null)
      throw new SeedError(
        "INVALID_USAGE",
        `database ${name} exists but is not a template of the test kit: drop it, or use another database name`,
      );
    const building = `${name}_build`;
    await session.drop(building);
    await session.create(building);
    await build(kit, admin.database(building));
    await session.rename(building, name);
    await session.seal(name, templateComment(key));
    await pruneTemplates(session, server.database, kit.keepTemplates);
    return template(false);
  });
}

/** Migrates and seeds the database being built with the kit's run, then writes its scenarios. */
async function build(kit: KitRun, target: DatabaseConfig): Promise<void> {
  const run = retarget(kit.seed, target);
  const handles = handlesOf({});
  await migrateWith(() => run, handles);
  await seedWith(run, handles);
  await writeScenarios(target.url, kit.scenarios);
}

/**
 * Drops the templates of a base (`<base>_tpl_*`, carrying the kit's template comment) beyond the
 * newest `keep`, except those a live test database came from (a run on other code may still be
 * cloning them), together with their ready clones. Newest is by creation (the database's oid).
 * A template another process is preparing right now (its advisory lock held) is left alone.
 * Returns the names dropped.
 *
 * @example
 * await kitAdmin(server).locked("prune", (session) => pruneTemplates(session, "chatgenius_test", 3));
 */
export async function pruneTemplates(
  session: AdminSession,
  base: string,
  keep: number,
  maxAgeHours = 24,
): Promise<string[]> {
  const databases = await session.list();
  const inUse = new Set(
    databases
      .filter((d) => d.comment.startsWith(TEST_DATABASE_COMMENT))
      .map((d) => commentFields(d.comment))
      .filter((f) => !isStaleTestDatabase(f, maxAgeHours * 3600_000))
      .map((f) => f.template),
  );
  const templates = databases.filter(
    (d) =>
      d.name.startsWith(`${base}_tpl_`) &&
      d.comment.startsWith(`${TEMPLATE_COMMENT} `) &&
      /^[0-9a-f]{64}$/.test(d.comment.slice(TEMPLATE_COMMENT.length + 1)),
  );
  const dropped: string[] = [];
  for (const { name } of templates.slice(Math.max(1, keep))) {
    if (inUse.has(name)) continue;
    const gone = await session.tryLocked(name, async () => {
      for (const clone of await session.readyClones(name)) await session.drop(clone);
      await session.drop(name, { template: true });
      return true;
    });
    if (gone) dropped.push(name);
  }
  return dropped;
}
