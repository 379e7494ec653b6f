import pg from "pg";
import type { DatabaseConfig } from "./config.ts";
import { SeedError } from "./errors.ts";
import type { PrismaClient } from "./generated/prisma/client.ts";

const CONNECT_TIMEOUT_MS = 10_000;

/** How the seed's connections show in pg_stat_activity (and in lock diagnostics). */
export const APPLICATION_NAME = "chatgenius-seed";

/**
 * Opens a pg connection to the target and turns every way that can fail into a SeedError
 * whose message says how to fix it (and never shows the password).
 *
 * @example
 * const client = await connect(resolveDatabaseConfig(process.env));
 */
export async function connect(config: DatabaseConfig): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: config.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: APPLICATION_NAME });
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
 * A Prisma client over the driver adapter (no native engine needed). Loaded on first use: the
 * bulk path never needs Prisma, and loading it costs start-up time and memory.
 *
 * @example
 * const prisma = await createPrisma(resolveDatabaseConfig(process.env));
 */
export async function createPrisma(config: DatabaseConfig): Promise<PrismaClient> {
  const [{ PrismaClient }, { PrismaPg }] = await Promise.all([import("./generated/prisma/client.ts"), import("@prisma/adapter-pg")]);
  return new PrismaClient({ adapter: new PrismaPg({ connectionString: config.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: APPLICATION_NAME }) });
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
    case "ECONNREFUSED":
      return new SeedError("DATABASE_UNREACHABLE", `cannot connect to PostgreSQL at ${where} (connection refused): start the server, or fix PGHOST/PGPORT or DATABASE_URL`, { cause: error });
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new SeedError("DATABASE_UNREACHABLE", `the database host '${config.host}' was not found: fix PGHOST or the host in DATABASE_URL`, { cause: error });
    case "ETIMEDOUT":
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new SeedError("DATABASE_UNREACHABLE", `PostgreSQL at ${where} did not answer: check that the server runs and the host and port are right`, { cause: error });
    case "28P01":
    case "28000":
      return new SeedError("AUTH_FAILED", `PostgreSQL refused user '${config.user}' (wrong password or not allowed): fix PGUSER/PGPASSWORD or the credentials in DATABASE_URL`, { cause: error });
    case "3D000":
      return new SeedError("DATABASE_MISSING", `database '${config.database}' does not exist: run 'npm run db:reset' (or 'npm run db:migrate') to create it`, { cause: error });
    case "57P03":
      return new SeedError("DATABASE_UNREACHABLE", `PostgreSQL at ${where} is starting up or shutting down: try again in a moment`, { cause: error });
  }
  if (/timeout expired|Connection terminated due to connection timeout/i.test(e.message ?? "")) {
    return new SeedError("DATABASE_UNREACHABLE", `PostgreSQL at ${where} did not answer within ${CONNECT_TIMEOUT_MS / 1000} s: check that the server runs and the host and port are right`, { cause: error });
  }
  return new SeedError("SEED_FAILED", `database error${e.code ? ` ${e.code}` : ""}: ${e.message ?? String(error)}`, { cause: error });
}

/** Quotes an SQL identifier. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
