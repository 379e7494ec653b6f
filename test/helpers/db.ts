import pg from "pg";
import { afterAll, beforeAll, inject } from "vitest";
import { loadEnv, resolveDatabaseConfig, withDatabase, type DatabaseConfig } from "../../src/db/config.ts";
import { TABLES } from "../../src/core/datamodel.ts";

/**
 * The server the tests use: the same configuration as the seed (DATABASE_URL, PG*, `.env`),
 * with a database of the tests' own. TEST_DATABASE_URL overrides it.
 */
export function serverConfig(): DatabaseConfig {
  const env = loadEnv();
  if (env.TEST_DATABASE_URL) return resolveDatabaseConfig({ DATABASE_URL: env.TEST_DATABASE_URL });
  return resolveDatabaseConfig(env);
}

/**
 * The seeded template database that globalSetup prepares; every test database's name starts
 * with it. It names the run (`chatgenius_test_<pid of the run>`, set by vitest.config.ts), so
 * that two suites run at once on one server without touching each other's databases;
 * TEST_DATABASE_URL's database name replaces it.
 */
export const TEMPLATE_DATABASE = process.env.TEST_DATABASE_URL
  ? decodeURIComponent(new URL(process.env.TEST_DATABASE_URL).pathname.slice(1)) || "chatgenius_test"
  : (process.env.TEST_RUN_DATABASE ?? "chatgenius_test");

/** A run's template as vitest.config.ts names it: the pid of the run's main process. */
export const RUN_DATABASE = /^chatgenius_test_(\d+)(?:_|$)/;

export function templateConfig(): DatabaseConfig {
  return withDatabase(serverConfig(), TEMPLATE_DATABASE);
}

/** Runs one statement on a database and returns its rows. */
export async function query<T extends pg.QueryResultRow = Record<string, unknown>>(
  config: Pick<DatabaseConfig, "url">,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A fresh database for one test file: a copy of the seeded template (migrated, dev profile,
 * default seed), or empty with `{ empty: true }`. Returns its configuration.
 */
export async function createTestDatabase(name: string, options: { empty?: boolean } = {}): Promise<DatabaseConfig> {
  const database = `${TEMPLATE_DATABASE}_${name}`;
  const admin = withDatabase(serverConfig(), "postgres");
  await query(admin, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await query(
    admin,
    options.empty ? `CREATE DATABASE "${database}"` : `CREATE DATABASE "${database}" TEMPLATE "${TEMPLATE_DATABASE}"`,
  );
  return withDatabase(serverConfig(), database);
}

/** Drops a test database. */
export async function dropTestDatabase(config: DatabaseConfig): Promise<void> {
  await query(withDatabase(serverConfig(), "postgres"), `DROP DATABASE IF EXISTS "${config.database}" WITH (FORCE)`);
}

/**
 * Row count and a hash of the full contents of every seeded table, for before/after
 * comparisons. Rows are rendered in UTC and ISO style, so that two servers compare equal.
 */
export async function snapshot(
  config: DatabaseConfig | { url: string },
): Promise<Record<string, { rows: number; md5: string }>> {
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    await client.query(`SET timezone = 'UTC'; SET datestyle = 'ISO, YMD'; SET extra_float_digits = 3`);
    const out: Record<string, { rows: number; md5: string }> = {};
    for (const table of TABLES) {
      const { rows } = await client.query<{ rows: number; md5: string }>(
        `SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t.id), '')) AS md5 FROM "${table.name}" t`,
      );
      out[table.name] = rows[0]!;
    }
    return out;
  } finally {
    await client.end();
  }
}

/**
 * A database of this test file's own, created before its tests (a copy of the seeded template,
 * or empty) and dropped after them. The returned object reads as the database's configuration
 * once the file's tests run.
 *
 * @example
 * const db = useTestDatabase("seed");
 * it("…", async () => { await seedDatabase({ databaseUrl: db.url }); });
 */
export function useTestDatabase(name: string, options: { empty?: boolean; rolledBack?: boolean } = {}): DatabaseConfig {
  let config: DatabaseConfig | undefined;
  // Under Stryker, which runs a file's tests once per mutant in the same process, a file that
  // changes its database only inside transactions it rolls back (`rolledBack`) gets the copy
  // test/globalSetup.stryker.ts made once for the worker: a copy made and dropped for every
  // mutant cost seconds on a busy server, and making it here, outside any test, would make
  // every mutant of src/db/config.ts (which names the databases) a "static" one that Stryker
  // runs against all the tests.
  const kept = options.rolledBack ? inject("keptDatabases")?.[name] : undefined;
  beforeAll(async () => {
    config = kept ?? (await createTestDatabase(name, options));
  });
  afterAll(async () => {
    if (config && !kept) await dropTestDatabase(config);
  });
  const current = () => {
    if (!config) throw new Error(`test database ${name} is used before beforeAll created it`);
    return config;
  };
  return {
    get url() {
      return current().url;
    },
    get target() {
      return current().target;
    },
    get host() {
      return current().host;
    },
    get port() {
      return current().port;
    },
    get database() {
      return current().database;
    },
    get user() {
      return current().user;
    },
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    /** Under Stryker: the worker's copies of its template, by the name a test file gives useTestDatabase. */
    keptDatabases?: Record<string, DatabaseConfig>;
  }
}
