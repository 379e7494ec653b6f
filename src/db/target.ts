import { existsSync } from "node:fs";
import { join } from "node:path";
import { withDatabase, type DatabaseConfig, type ResolvedEnvironment } from "./config.ts";
import { EMBEDDED_DIR, embeddedDir, PGLITE_DIR, startEmbedded } from "./embedded.ts";

/**
 * The database a run works on, decided once at its edge (kysely's Dialect is the model: one
 * interface, one implementation per backend) and passed down: nothing below asks "server or
 * embedded?" again. Both backends are PostgreSQL servers reached over the protocol, so rows are
 * bulk-loaded the same way (COPY FROM STDIN) and no code below differs between them; what
 * differs is where the server comes from and what leaving it means.
 */
export interface DatabaseTarget {
  /** `server`: the one configured (DATABASE_URL, PG*, .env); `embedded`: the project's own, started from its dependencies. */
  readonly kind: "server" | "embedded";
  /** Where to connect; `target` names it for people (the embedded one by its folder, never its port). */
  readonly config: DatabaseConfig;
  /** The server's own address for the app (db:serve prints it): the same as `config` for a configured server. */
  readonly url: string;
  /** Lets go of it: the embedded server stops when its last user leaves; a configured server is left alone. */
  release(): Promise<void>;
}

/** What a target is opened with, besides the run's settled environment. */
export interface TargetOptions {
  /** The project folder (the embedded server lives in `.chatgenius/postgres` under it). */
  readonly cwd: string;
  /** The embedded server's port when this call starts it (default: a free one). */
  readonly port?: number;
  /** Stops a start under way (initdb, the server's start) with the signal's SeedError. */
  readonly signal?: AbortSignal;
  /** A line for the person (the old PGlite folder found, say). */
  readonly notice?: (line: string) => void;
  /** Work to do while the embedded server boots, when this call starts it (see EmbeddedOptions). */
  readonly whileStarting?: () => void;
}

/**
 * The target of a settled run: its configured server, or, with nothing configured, the
 * project's embedded PostgreSQL (started, or joined when another command runs it), holding the
 * database the run names (`chatgenius` by default; created when missing).
 *
 * @example
 * const target = await openTarget(resolveEnvironment({ env: {} }), { cwd: process.cwd() });
 * try { await seedDatabase({ databaseUrl: target.config.url }); } finally { await target.release(); }
 */
export async function openTarget(
  environment: Pick<ResolvedEnvironment, "target" | "serverConfigured">,
  options: TargetOptions,
): Promise<DatabaseTarget> {
  if (environment.serverConfigured) {
    const config = environment.target;
    return Object.freeze({ kind: "server", config, url: config.url, release: async () => {} });
  }
  if (existsSync(join(options.cwd, PGLITE_DIR)))
    options.notice?.(
      `${PGLITE_DIR} (the PGlite database of earlier versions) is no longer used: the embedded database is now a PostgreSQL server in ${EMBEDDED_DIR}, migrated and seeded there; remove ${PGLITE_DIR} when you no longer need it`,
    );
  const server = await startEmbedded({
    dir: embeddedDir(options.cwd),
    port: options.port,
    signal: options.signal,
    database: environment.target.database,
    whileStarting: options.whileStarting,
  });
  const database = withDatabase(server.config, environment.target.database);
  return Object.freeze({
    kind: "embedded",
    config: Object.freeze({ ...database, target: `embedded database in ${EMBEDDED_DIR}` }),
    url: database.url,
    release: () => server.release(),
  });
}
