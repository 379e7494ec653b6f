import type pg from "pg";
import { resolveDatabaseConfig, type DatabaseConfig, type Env } from "./config.ts";
import { SeedError } from "../core/errors.ts";

/** Where the database's own environment name is kept, out of Prisma's sight (schema `public` is Prisma's). */
export const METADATA_SCHEMA = "chatgenius_internal";
const METADATA_TABLE = `"${METADATA_SCHEMA}"."internal_metadata"`;

/** The environment variable that opts in to a database on another host (as does `--allow-remote`). */
export const ALLOW_REMOTE_VARIABLE = "SEED_ALLOW_REMOTE";

/**
 * Refuses to run when `NODE_ENV` or `APP_ENV` says production: the seed deletes data by
 * design. Runs before any connection is opened.
 *
 * @example
 * assertNotProduction({ NODE_ENV: "development" }); // passes
 */
export function assertNotProduction(env: Env): void {
  for (const name of ["NODE_ENV", "APP_ENV"] as const) {
    if (env[name]?.trim().toLowerCase() === "production") {
      throw new SeedError(
        "PRODUCTION_REFUSED",
        `refusing to run: ${name} is 'production' and the seed deletes data. Point DATABASE_URL at a development or test database and unset ${name}`,
      );
    }
  }
}

/** The environment this run records and compares with: APP_ENV, else NODE_ENV, else development. */
export function environmentName(env: Env): string {
  return (env.APP_ENV?.trim() || env.NODE_ENV?.trim() || "development").toLowerCase();
}

/** True for loopback hosts and Unix sockets. */
export function isLocalHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "");
  return (
    h === "" ||
    h.startsWith("/") ||
    h === "localhost" ||
    h.endsWith(".localhost") ||
    h === "::1" ||
    /^127(\.\d{1,3}){3}$/.test(h) ||
    h === "0:0:0:0:0:0:0:1"
  );
}

/**
 * Checks everything that can be checked without a connection, and returns the target: not
 * production by the local environment, a well-formed configuration, and a local host unless
 * the user opted in to a remote one (a copied production URL is the classic accident).
 *
 * @example
 * const config = guardTarget(process.env, { allowRemote: false });
 */
export function guardTarget(
  env: Env,
  options: { allowRemote?: boolean; allowProduction?: boolean } = {},
): DatabaseConfig {
  if (!options.allowProduction) assertNotProduction(env);
  const target = resolveDatabaseConfig(env);
  guardRun({ env, target }, options);
  return target;
}

/** What the guard decided about a run, before any connection: part of its resolved value. */
export interface GuardVerdict {
  /** The environment name this run records and compares with (APP_ENV, else NODE_ENV, else development). */
  readonly environment: string;
  /** Production is refused (seed, reset: they delete data) or allowed (migrate, report, verify). */
  readonly production: "refused" | "allowed";
  /** The target is another machine and the user opted in (--allow-remote, SEED_ALLOW_REMOTE=1). */
  readonly remote: boolean;
}

/**
 * The guard's verdict on a resolved environment, in one call: refuses production (unless
 * `allowProduction`) and a host other than this machine (unless the user opted in).
 *
 * @example
 * guardRun(resolveEnvironment({}), { allowRemote: false }).environment; // "development"
 */
export function guardRun(
  resolved: { env: Env; target: DatabaseConfig },
  options: { allowRemote?: boolean; allowProduction?: boolean } = {},
): GuardVerdict {
  if (!options.allowProduction) assertNotProduction(resolved.env);
  const remote = !isLocalHost(resolved.target.host);
  if (remote && !(options.allowRemote === true || resolved.env[ALLOW_REMOTE_VARIABLE] === "1")) {
    throw new SeedError(
      "REMOTE_REFUSED",
      `refusing to run against '${resolved.target.host}', which is not this machine: the seed deletes data. If this really is a development or test database, pass --allow-remote or set ${ALLOW_REMOTE_VARIABLE}=1`,
    );
  }
  return Object.freeze({
    environment: environmentName(resolved.env),
    production: options.allowProduction ? "allowed" : "refused",
    remote,
  });
}

/** The environment name recorded in the database, or null when none is. */
export async function databaseEnvironment(client: pg.ClientBase): Promise<string | null> {
  const { rows } = await client.query(`SELECT to_regclass('${METADATA_TABLE}') IS NOT NULL AS ok`);
  if (!rows[0].ok) return null;
  const found = await client.query(`SELECT value FROM ${METADATA_TABLE} WHERE key = 'environment'`);
  return found.rows[0]?.value ?? null;
}

/**
 * Refuses a database whose recorded environment is production, whatever the local
 * environment says.
 */
export async function assertDatabaseNotProduction(client: pg.ClientBase, database: string): Promise<void> {
  const recorded = await databaseEnvironment(client);
  if (recorded === "production") {
    throw new SeedError(
      "PRODUCTION_REFUSED",
      `refusing to run: database '${database}' is marked as a production database (${METADATA_TABLE}). Point DATABASE_URL at a development or test database`,
    );
  }
}

/**
 * Migrating never turns a production database into a development one: refuses when the
 * database is marked production and this run's environment is not.
 */
export async function assertNoDowngrade(client: pg.ClientBase, database: string, environment: string): Promise<void> {
  if ((await databaseEnvironment(client)) === "production" && environment !== "production") {
    throw new SeedError(
      "PRODUCTION_REFUSED",
      `refusing to migrate: database '${database}' is marked production and this run's environment is '${environment}'. Run migrations there with APP_ENV=production`,
    );
  }
}

/**
 * Records the environment name in the database, as Rails does in `ar_internal_metadata`,
 * in a schema of its own that Prisma's migrations neither manage nor see as drift.
 */
export async function recordEnvironment(client: pg.ClientBase, environment: string): Promise<void> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS "${METADATA_SCHEMA}"`);
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${METADATA_TABLE} (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now(), updated_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  );
  await client.query(
    `INSERT INTO ${METADATA_TABLE} (key, value) VALUES ('environment', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()`,
    [environment],
  );
}
