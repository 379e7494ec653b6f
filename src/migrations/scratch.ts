import { randomBytes } from "node:crypto";
import {
  isServerConfigured,
  resolveDatabaseConfig,
  withDatabase,
  type DatabaseConfig,
  type Env,
} from "../db/config.ts";
import { connect, ident, translatePgError } from "../db/connection.ts";
import { embeddedDir, startEmbedded } from "../db/embedded.ts";

/** A database made for one run of the migration tool, gone after `drop()`. */
export interface ScratchDatabase {
  /** Connection string, password included: never print it. */
  readonly url: string;
  drop(): Promise<void>;
}

/** Prefix of every scratch database's name, so a leftover one is recognisable. */
export const SCRATCH_PREFIX = "chatgenius_scratch_";

/**
 * A new, empty database to apply migrations to: on the configured server (DATABASE_URL, PG* or
 * `.env`) when there is one, else on the project's embedded PostgreSQL (`.chatgenius/postgres`),
 * so that writing a migration needs no server at all. The one place that decides where scratch
 * databases come from: the embedded engine is swapped here.
 *
 * @example
 * const scratch = await scratchDatabase(process.env, process.cwd());
 * try { await new pg.Client(scratch.url).connect(); } finally { await scratch.drop(); }
 */
export async function scratchDatabase(env: Env, cwd: string): Promise<ScratchDatabase> {
  return isServerConfigured(env, cwd) ? onServer(resolveDatabaseConfig(env)) : embedded(cwd);
}

/** CREATE DATABASE on the configured server; the maintenance database answers the admin statements. */
async function onServer(config: DatabaseConfig): Promise<ScratchDatabase> {
  const name = `${SCRATCH_PREFIX}${randomBytes(6).toString("hex")}`;
  const admin = await connect(withDatabase(config, "postgres"));
  try {
    await admin.query(`CREATE DATABASE ${ident(name)}`);
  } catch (error) {
    throw translatePgError(error, config);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(config, name).url,
    async drop() {
      const again = await connect(withDatabase(config, "postgres"));
      try {
        await again.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
      } finally {
        await again.end();
      }
    },
  };
}

/**
 * A database on the project's embedded PostgreSQL (started, or joined when another command runs
 * it): CREATE DATABASE there, as on a server, and the server released with the database.
 */
async function embedded(cwd: string): Promise<ScratchDatabase> {
  const server = await startEmbedded({ dir: embeddedDir(cwd) });
  try {
    const scratch = await onServer(server.config);
    return {
      url: scratch.url,
      async drop() {
        try {
          await scratch.drop();
        } finally {
          await server.release();
        }
      },
    };
  } catch (error) {
    await server.release();
    throw error;
  }
}
