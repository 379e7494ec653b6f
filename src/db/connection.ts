import pg from "pg";
import type { DatabaseConfig } from "./config.ts";
import { SeedError } from "../core/errors.ts";
import type { PrismaClient } from "../generated/prisma/client.ts";

const CONNECT_TIMEOUT_MS = 10_000;

/** How the seed's connections show in pg_stat_activity (and in lock diagnostics). */
export const APPLICATION_NAME = "chatgenius-seed";

/**
 * How every connection of the seed's to `config` is made: its URL, the connect timeout and the
 * name it shows in pg_stat_activity.
 *
 * @example
 * const pool = new pg.Pool({ ...connectionOptions(config), max: 2 });
 */
export function connectionOptions(config: DatabaseConfig): pg.ClientConfig {
  return {
    connectionString: config.url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: APPLICATION_NAME,
  };
}

/**
 * Opens a pg connection to the target and turns every way that can fail into a SeedError
 * whose message says how to fix it (and never shows the password).
 *
 * @example
 * const client = await connect(resolveDatabaseConfig(process.env));
 */
export async function connect(config: DatabaseConfig): Promise<pg.Client> {
  const client = new pg.Client(connectionOptions(config));
  // A server that goes away later emits 'error' on the client; the running query reports it.
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw translatePgError(error, config);
  }
  return client;
}

/**
 * A Prisma client over the driver adapter (no native engine needed). Loaded on first use:
 * only runs that write through Prisma pay for its start-up.
 */
export async function createPrisma(config: DatabaseConfig): Promise<PrismaClient> {
  const [{ PrismaClient }, { PrismaPg }] = await Promise.all([
    import("../generated/prisma/client.ts"),
    import("@prisma/adapter-pg"),
  ]);
  return new PrismaClient({
    adapter: new PrismaPg(connectionOptions(config)),
  });
}

/**
 * A SeedError for a driver error, by PostgreSQL SQLSTATE or Node error code.
 *
 * @example
 * throw translatePgError(err, config);
 */
export function translatePgError(error: unknown, config: DatabaseConfig): SeedError {
  if (error instanceof SeedError) return error;
  const e = error as { code?: string; message?: string };
  const where = `${config.host}:${config.port}`;
  switch (e.code) {
    case "ENOENT":
      return new SeedError(
        "DATABASE_UNREACHABLE",
        `no PostgreSQL socket at ${config.host}/.s.PGSQL.${config.port}: start the server, or set PGHOST to the folder that holds its socket (often /var/run/postgresql) or to 127.0.0.1`,
        { cause: error },
      );
    case "EACCES":
      return new SeedError(
        "DATABASE_UNREACHABLE",
        `this user may not open the PostgreSQL socket in ${config.host}: run as a user in the server's group, or connect over TCP (PGHOST=127.0.0.1)`,
        { cause: error },
      );
    case "ECONNREFUSED":
      return new SeedError(
        "DATABASE_UNREACHABLE",
        `cannot connect to PostgreSQL at ${where} (connection refused): start the server, or fix PGHOST/PGPORT or DATABASE_URL`,
        { cause: error },
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new SeedError(
        "DATABASE_UNREACHABLE",
        `the database host '${config.host}' was not found: fix PGHOST or the host in DATABASE_URL`,
        { cause: error },
      );
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new SeedError(
        "DATABASE_UNREACHABLE",
        `PostgreSQL at ${where} did not answer: check that the server runs and the host and port are right`,
        { cause: error },
      );
    case "28000":
      if (/pg_hba\.conf/.test(e.message ?? "")) {
        return new SeedError(
          "AUTH_FAILED",
          `PostgreSQL at ${where} does not accept user '${config.user}' for database '${config.database}' from this machine (no pg_hba.conf entry): add one to the server's pg_hba.conf, or use a user and database it allows`,
          { cause: error },
        );
      }
      if (/role .* does not exist/.test(e.message ?? "")) {
        return new SeedError(
          "AUTH_FAILED",
          `PostgreSQL at ${where} has no role '${config.user}': create it (createuser --createdb ${config.user}) or fix PGUSER / the user in DATABASE_URL`,
          { cause: error },
        );
      }
      return refusedUser(config, error);
    case "28P01":
      return refusedUser(config, error);
    case "3D000":
      return new SeedError(
        "DATABASE_MISSING",
        `database '${config.database}' does not exist: run 'npm run db:reset' (or 'npm run db:migrate') to create it`,
        { cause: error },
      );
    case "53300":
      return new SeedError(
        "DATABASE_UNREACHABLE",
        `PostgreSQL at ${where} has no free connection (max_connections reached): close idle sessions (see pg_stat_activity) or raise max_connections`,
        { cause: error },
      );
    case "42501":
      return new SeedError(
        "AUTH_FAILED",
        `user '${config.user}' may not connect to database '${config.database}': GRANT CONNECT ON DATABASE ${config.database} TO ${config.user}, or use another user`,
        { cause: error },
      );
    case "57P03":
      return new SeedError(
        "DATABASE_UNREACHABLE",
        `PostgreSQL at ${where} is starting up or shutting down: try again in a moment`,
        { cause: error },
      );
  }
  if (/timeout expired|Connection terminated due to connection timeout/i.test(e.message ?? "")) {
    return new SeedError(
      "DATABASE_UNREACHABLE",
      `PostgreSQL at ${where} did not answer within ${CONNECT_TIMEOUT_MS / 1000} s: check that the server runs and the host and port are right`,
      { cause: error },
    );
  }
  return new SeedError("SEED_FAILED", `database error${e.code ? ` ${e.code}` : ""}: ${e.message ?? String(error)}`, {
    cause: error,
  });
}

/** The server refused the user: a wrong password, or one it does not allow. */
function refusedUser(config: DatabaseConfig, error: unknown): SeedError {
  return new SeedError(
    "AUTH_FAILED",
    `PostgreSQL refused user '${config.user}' (wrong password or not allowed): fix PGUSER/PGPASSWORD or the credentials in DATABASE_URL`,
    { cause: error },
  );
}

/** Quotes an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
