import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { SeedError } from "../core/errors.ts";
import { packageRoot } from "../core/paths.ts";
import { hashPackageFiles, planCodeFolders } from "../core/codeHash.ts";
import { migrateDatabase } from "../api/reset.ts";
import { seedDatabase } from "../api/seed.ts";
import { KEEP_TEMPLATES, kitScenarios, type KitOptions } from "./options.ts";
import { runEnv, withDatabase, type DatabaseConfig } from "../db/config.ts";
import { kitServer } from "./embedded.ts";
import { writeScenarios } from "./scenarios.ts";
import {
  commentFields,
  isStaleTestDatabase,
  READY_COMMENT,
  TEMPLATE_COMMENT,
  TEST_DATABASE_COMMENT,
} from "./comments.ts";
import type pg from "pg";

export type { KitOptions };
import { connect, ident } from "../db/connection.ts";
import { checkPlanOptions } from "../plan/plan.ts";

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
 * the profile, seed and scale, the local accounts file and the scenarios written on top.
 *
 * @example
 * templateKey({ profile: "minimal" }).slice(0, 12);
 */
export function templateKey(options: KitOptions = {}): string {
  const hash = createHash("sha256");
  const plan = checkPlanOptions(options);
  hash.update(
    JSON.stringify({ plan, version: JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")).version }),
  );
  hashPackageFiles(hash, [...planCodeFolders(["src/write", "src/scenario"]), "prisma/migrations"]);
  // Scenarios on top are keyed by their content, like a profile.
  for (const scenario of kitScenarios(options)) hash.update(`scenario:${scenario.fingerprint()}`);
  const env = runEnv(options);
  const dataFile = options.dataFile && options.dataFile !== "default" ? options.dataFile : env.SEED_DATA_FILE;
  if (dataFile) hash.update(readFileSync(resolve(options.cwd ?? process.cwd(), dataFile)));
  return hash.digest("hex");
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
  const key = templateKey(options);
  const server = await kitServer(options);
  const name = `${server.database}_tpl_${key.slice(0, 12)}`;
  const url = withDatabase(server, name).url;
  const admin = await connect(withDatabase(server, "postgres"));
  try {
    const lock = createHash("sha256").update(name).digest().readInt32BE(0);
    await admin.query(`SELECT pg_advisory_lock(1936024933, $1)`, [lock]);
    try {
      const comment = await databaseComment(admin, name);
      if (comment === `${TEMPLATE_COMMENT} ${key}`) return { name, url, reused: true, key, server };
      if (comment !== null)
        throw new SeedError(
          "INVALID_USAGE",
          `database ${name} exists but is not a template of the test kit: drop it, or use another database name`,
        );
      const building = `${name}_build`;
      await admin.query(`DROP DATABASE IF EXISTS ${ident(building)} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${ident(building)}`);
      const target = withDatabase(server, building).url;
      await migrateDatabase({ env: {}, databaseUrl: target, allowRemote: options.allowRemote });
      await seedDatabase({
        env: {},
        databaseUrl: target,
        profile: options.profile,
        seed: options.seed,
        scale: options.scale,
        dataFile: options.dataFile,
        cwd: options.cwd,
        allowRemote: options.allowRemote,
      });
      await writeScenarios(target, options);
      await admin.query(`ALTER DATABASE ${ident(building)} RENAME TO ${ident(name)}`);
      await admin.query(`ALTER DATABASE ${ident(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
      await admin.query(`COMMENT ON DATABASE ${ident(name)} IS '${TEMPLATE_COMMENT} ${key}'`);
      await pruneTemplates(admin, server.database, options.keepTemplates ?? KEEP_TEMPLATES);
      return { name, url, reused: false, key, server };
    } finally {
      await admin.query(`SELECT pg_advisory_unlock(1936024933, $1)`, [lock]).catch(() => {});
    }
  } finally {
    await admin.end().catch(() => {});
  }
}

/** The comment on a database, '' when it has none, null when there is no such database. */
export async function databaseComment(
  admin: { query: (sql: string, values?: unknown[]) => Promise<{ rows: { comment: string | null }[] }> },
  name: string,
): Promise<string | null> {
  const { rows } = await admin.query(
    `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
    [name],
  );
  return rows.length === 0 ? null : (rows[0]!.comment ?? "");
}

/**
 * Drops the templates of a base (`<base>_tpl_*`, carrying the kit's template comment) beyond the
 * newest `keep`, except those a live test database came from (a run on other code may still be
 * cloning them), together with their ready clones. Newest is by creation (the database's oid).
 * A template another process is preparing right now (its advisory lock held) is left alone.
 * Returns the names dropped.
 *
 * @example
 * await pruneTemplates(admin, "chatgenius_test", 3);
 */
export async function pruneTemplates(
  admin: pg.Client,
  base: string,
  keep: number = KEEP_TEMPLATES,
  maxAgeHours = 24,
): Promise<string[]> {
  const { rows } = await admin.query<{ name: string; comment: string }>(
    `SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment FROM pg_database
     WHERE starts_with(datname, $1) OR starts_with(shobj_description(oid, 'pg_database'), $2) ORDER BY oid DESC`,
    [`${base}_tpl_`, TEST_DATABASE_COMMENT],
  );
  const inUse = new Set(
    rows
      .filter((r) => r.comment?.startsWith(TEST_DATABASE_COMMENT))
      .map((r) => commentFields(r.comment))
      .filter((f) => !isStaleTestDatabase(f, maxAgeHours * 3600_000))
      .map((f) => f.template),
  );
  const templates = rows.filter(
    (r) =>
      r.comment?.startsWith(`${TEMPLATE_COMMENT} `) &&
      /^[0-9a-f]{64}$/.test(r.comment.slice(TEMPLATE_COMMENT.length + 1)),
  );
  const dropped: string[] = [];
  for (const { name } of templates.slice(Math.max(1, keep))) {
    if (inUse.has(name)) continue;
    const lock = createHash("sha256").update(name).digest().readInt32BE(0);
    const { rows: got } = await admin.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(1936024933, $1) AS ok`, [
      lock,
    ]);
    if (!got[0]?.ok) continue;
    try {
      const ready = await admin.query<{ name: string }>(
        `SELECT datname AS name FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1`,
        [`${READY_COMMENT} template=${name}`],
      );
      for (const clone of ready.rows) await admin.query(`DROP DATABASE IF EXISTS ${ident(clone.name)} WITH (FORCE)`);
      await admin.query(`ALTER DATABASE ${ident(name)} WITH IS_TEMPLATE false`);
      await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
      dropped.push(name);
    } finally {
      await admin.query(`SELECT pg_advisory_unlock(1936024933, $1)`, [lock]).catch(() => {});
    }
  }
  return dropped;
}
