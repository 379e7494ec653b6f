import type pg from "pg";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PGlite } from "@electric-sql/pglite";
import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { resolveDatabaseConfig, type DatabaseConfig, type Env } from "./config.ts";
import { SeedError } from "../core/errors.ts";
import { packageRoot } from "../core/paths.ts";

/** Where the embedded database lives, relative to the project (git-ignored). */
export const EMBEDDED_DIR = ".chatgenius/pglite";

// Where the choice between the embedded database and a server is made (config.ts), re-exported
// for the callers that start the embedded one.
export { isServerConfigured, SERVER_VARIABLES } from "./config.ts";

/** A running embedded database, reachable over the PostgreSQL protocol on loopback. */
export interface Embedded {
  /** Connection string: postgresql://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  /** The same as a target, for a run's resolved value. */
  readonly target: DatabaseConfig;
  readonly dir: string;
  stop(): Promise<void>;
}

/**
 * Opens the embedded PostgreSQL (PGlite) persisted in `dir` and serves it on a loopback port
 * (a free one unless `port` is given), so that pg, Prisma and psql reach it as any server. One
 * process at a time: a lock file names the process that has it open.
 *
 * @example
 * const db = await startEmbedded({ dir: ".chatgenius/pglite" });
 * try { await seedDatabase({ databaseUrl: db.url }); } finally { await db.stop(); }
 */
export async function startEmbedded(options: {
  dir: string;
  port?: number;
  serving?: boolean;
  env?: Env;
  name?: string;
  /** Start a new folder from the cluster files shipped with the package (default true; tests turn it off to reach initdb). */
  bundledCluster?: boolean;
}): Promise<Embedded> {
  const dir = resolve(options.dir);
  const lock = `${dir}.lock`;
  assertUnlocked(lock);
  mkdirSync(dirname(dir), { recursive: true });
  const port = options.port ?? (await freePort());
  const url = `postgresql://postgres@127.0.0.1:${port}/postgres`;
  writeFileSync(lock, JSON.stringify({ pid: process.pid, url: options.serving ? url : null }));
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    // PGlite (a WebAssembly PostgreSQL) is loaded only by runs that use it.
    const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
      import("@electric-sql/pglite"),
      import("@electric-sql/pglite-socket"),
    ]);
    db = await openOrCreate(PGlite, dir, options.env ?? process.env, options.bundledCluster ?? true);
    server = new PGLiteSocketServer({ db, port, host: "127.0.0.1", maxConnections: 16 });
    await server.start();
    served.set(port, db);
  } catch (error) {
    await db?.close().catch(() => {});
    rmSync(lock, { force: true });
    const e = error as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE")
      throw new SeedError("INVALID_USAGE", `port ${port} is in use: pick another with --port`, { cause: error });
    throw new SeedError(
      "DATABASE_UNREACHABLE",
      `the embedded database in ${dir} could not be opened (${e.message}): delete the folder to start afresh (npm run db:reset recreates it)`,
      { cause: error },
    );
  }
  return {
    url,
    // Named by its folder: the loopback URL and its port mean nothing to the person reading.
    target: Object.freeze({
      ...resolveDatabaseConfig({ DATABASE_URL: url }),
      target: `embedded database in ${options.name ?? dir}`,
    }),
    dir,
    async stop() {
      served.delete(port);
      await server?.stop().catch(() => {});
      await db?.close().catch(() => {});
      rmSync(lock, { force: true });
    },
  };
}

/**
 * Opens the data folder, or makes a new one. PGlite's initdb is the costliest thing a new
 * folder does (measured here: 2.8 s and a 630 MB peak for initdb alone, against about 1 s and
 * 250 MB for loading a fresh cluster's files), so a new folder starts from such files: the
 * ones kept in the user's cache, else the ones shipped with the package for the PGlite version
 * it locks (assets/, made by `npm run make:pglite-cluster`), else initdb, whose files are then
 * kept in the user's cache (one per PGlite version, about 5 MB) for every later new folder.
 * SEED_CACHE=0 turns the user's cache off; any failure to read a file falls back to the next.
 */
async function openOrCreate(
  PGlite: typeof import("@electric-sql/pglite").PGlite,
  dir: string,
  env: Env,
  bundled: boolean,
): Promise<PGlite> {
  // PostgreSQL fills its shared memory at start: PGlite's default 128 MB of shared buffers put
  // 300 MB in the process before a row is read (and 0.15 s); a dev database fits in 16 MB.
  const startParams = [...PGlite.defaultStartParams, "-c", `shared_buffers=${SHARED_BUFFERS}`];
  if (existsSync(join(dir, "PG_VERSION"))) return PGlite.create(dir, { startParams });
  const kept = pristineCluster(env);
  const shipped = bundled ? bundledCluster() : null;
  for (const file of [kept, shipped]) {
    if (!file || !existsSync(file)) continue;
    try {
      return await PGlite.create(dir, { loadDataDir: new Blob([readFileSync(file)]), startParams });
    } catch {
      // A damaged or foreign file: start the folder over from the next source.
      rmSync(dir, { recursive: true, force: true });
      if (file === kept) rmSync(file, { force: true });
    }
  }
  // initdb into memory, not the folder: PGlite's initdb into a folder runs it in a second
  // instance and copies its files over (770 against 630 MB here). The folder then starts from
  // those files, as every later new folder will.
  const files = await initdbFiles(PGlite);
  if (kept) {
    try {
      mkdirSync(dirname(kept), { recursive: true });
      const temp = `${kept}.tmp-${process.pid}`;
      writeFileSync(temp, files);
      renameSync(temp, kept);
    } catch {
      // Only a later new folder is slower for it.
    }
  }
  return PGlite.create(dir, { loadDataDir: new Blob([files]), startParams });
}

/**
 * A fresh cluster's files as PGlite's initdb leaves them (gzipped tar, PGlite's dumpDataDir),
 * made in memory.
 *
 * @example
 * writeFileSync("cluster.tar.gz", await initdbFiles(PGlite));
 */
export async function initdbFiles(PGlite: typeof import("@electric-sql/pglite").PGlite): Promise<Buffer> {
  const startParams = [...PGlite.defaultStartParams, "-c", `shared_buffers=${SHARED_BUFFERS}`];
  const scratch = await PGlite.create({ startParams });
  try {
    return Buffer.from(await (await scratch.dumpDataDir("gzip")).arrayBuffer());
  } finally {
    await scratch.close();
  }
}

/**
 * `pglite-<version>-initdb.tar.gz` for the PGlite installed beside this package, or null: the
 * name of a fresh cluster's files, in the user's cache and in the package's assets/.
 *
 * @example
 * clusterFileName(); // "pglite-0.5.14-initdb.tar.gz"
 */
export function clusterFileName(): string | null {
  try {
    // PGlite does not export its package.json: find it above its entry point.
    let folder = dirname(fileURLToPath(import.meta.resolve("@electric-sql/pglite")));
    while (!existsSync(join(folder, "package.json")) && dirname(folder) !== folder) folder = dirname(folder);
    const { version } = JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as { version: string };
    return `pglite-${version}-initdb.tar.gz`;
  } catch {
    return null;
  }
}

/**
 * The fresh cluster's files shipped with the package for the installed PGlite version
 * (`assets/`), or null when there are none for it (another PGlite version: initdb then).
 *
 * @example
 * bundledCluster(); // "/app/node_modules/chatgenius-seed/assets/pglite-0.5.14-initdb.tar.gz"
 */
export function bundledCluster(): string | null {
  const name = clusterFileName();
  const file = name ? join(packageRoot(), "assets", name) : null;
  return file && existsSync(file) ? file : null;
}

/**
 * Where a fresh cluster's files are kept for new embedded folders: the user's cache
 * (XDG_CACHE_HOME, else ~/.cache), one file per PGlite version; null with SEED_CACHE=0.
 *
 * @example
 * pristineCluster({ HOME: "/home/ada" }); // "/home/ada/.cache/chatgenius-seed/pglite-0.5.14-initdb.tar.gz"
 */
export function pristineCluster(env: Env): string | null {
  if (env.SEED_CACHE?.trim() === "0") return null;
  const home = env.XDG_CACHE_HOME?.trim() || (env.HOME?.trim() ? join(env.HOME.trim(), ".cache") : "");
  const name = clusterFileName();
  return home && name ? join(home, "chatgenius-seed", name) : null;
}

/** The embedded database's shared buffers (see openOrCreate). */
const SHARED_BUFFERS = "16MB";

/** The PGlite databases this process serves, by port: their bulk rows can skip the protocol. */
const served = new Map<number, PGlite>();

/**
 * The PGlite instance behind a connection, when this very process serves it: then COPY can read
 * rows from a blob (`COPY … FROM '/dev/blob'`) instead of going through the protocol, which
 * PGlite's socket does not support for COPY FROM STDIN. Undefined otherwise.
 *
 * @example
 * const pglite = servedHere(client); if (pglite) await pglite.query(sql, [], { blob });
 */
export function servedHere(client: pg.ClientBase): PGlite | undefined {
  const { host, port } = client as unknown as { host?: string; port?: number };
  return host === "127.0.0.1" && port !== undefined ? served.get(Number(port)) : undefined;
}

/**
 * True when bulk rows must go as JSON: the server is PGlite served by another process (db:serve),
 * so neither COPY FROM STDIN nor a blob reaches it.
 *
 * @example
 * const format = (await needsJsonBulk(client)) ? "json" : "copy";
 */
export async function needsJsonBulk(client: pg.ClientBase): Promise<boolean> {
  return !servedHere(client) && (await isEmbedded(client));
}

/** Refuses to open a data folder another live process has open (PGlite is single-process). */
function assertUnlocked(lock: string): void {
  if (!existsSync(lock)) return;
  let holder: { pid?: number; url?: string | null } = {};
  try {
    holder = JSON.parse(readFileSync(lock, "utf8"));
  } catch {
    // An unreadable lock is a stale one.
  }
  if (holder.pid && holder.pid !== process.pid && alive(holder.pid)) {
    const how = holder.url
      ? `: connect with DATABASE_URL=${holder.url}, or stop it (Ctrl-C)`
      : ": wait for it to finish";
    throw new SeedError(
      "SEED_BUSY",
      `the embedded database is open in another process (pid ${holder.pid}${holder.url ? ", npm run db:serve" : ""})${how}`,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

/** The embedded database folder of a project directory. */
export function embeddedDir(cwd: string): string {
  return join(cwd, EMBEDDED_DIR);
}

/** True when the server is PGlite (the embedded database). */
export async function isEmbedded(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query(`SELECT version() AS v`);
  return /PGlite/i.test(String(rows[0]?.v ?? ""));
}
