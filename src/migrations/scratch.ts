import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  isServerConfigured,
  resolveDatabaseConfig,
  withDatabase,
  type DatabaseConfig,
  type Env,
} from "../db/config.ts";
import { connect, ident, translatePgError } from "../db/connection.ts";
import { startEmbedded } from "../db/embedded.ts";

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
 * `.env`) when there is one, else in an embedded PostgreSQL of its own in a temporary folder, so
 * that writing a migration needs no server at all. The one place that decides where scratch
 * databases come from: the embedded engine is swapped here.
 *
 * @example
 * const scratch = await scratchDatabase(process.env, process.cwd());
 * try { await new pg.Client(scratch.url).connect(); } finally { await scratch.drop(); }
 */
export async function scratchDatabase(env: Env, cwd: string): Promise<ScratchDatabase> {
  return isServerConfigured(env, cwd) ? onServer(resolveDatabaseConfig(env)) : embedded(env);
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

/** An embedded server of its own (one database each: PGlite serves a single one). */
async function embedded(env: Env): Promise<ScratchDatabase> {
  const dir = mkdtempSync(join(tmpdir(), SCRATCH_PREFIX));
  try {
    const db = await startEmbedded({ dir: join(dir, "data"), env, name: "scratch database" });
    return {
      url: db.url,
      async drop() {
        await db.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
