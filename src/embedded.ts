import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import type { Env } from "./config.ts";
import { SeedError } from "./errors.ts";

/** Where the embedded database lives, relative to the project (git-ignored). */
export const EMBEDDED_DIR = ".chatgenius/pglite";

/** The variables that mean "a server is configured": any of them, or a `.env` file. */
export const SERVER_VARIABLES = ["DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD"] as const;

/**
 * True when the user configured a database: a server variable in the environment, or a `.env`
 * file. Only then is a server used; otherwise the commands use the embedded database.
 *
 * @example
 * if (!isServerConfigured(process.env, process.cwd())) console.log("embedded");
 */
export function isServerConfigured(env: Env, cwd: string): boolean {
  return SERVER_VARIABLES.some((name) => (env[name] ?? "").trim() !== "") || existsSync(resolve(cwd, ".env"));
}

/** A running embedded database, reachable over the PostgreSQL protocol on loopback. */
export interface Embedded {
  /** Connection string: postgresql://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
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
export async function startEmbedded(options: { dir: string; port?: number; serving?: boolean }): Promise<Embedded> {
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
    // Loaded here: commands against a server never pay for the WebAssembly PostgreSQL.
    const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([import("@electric-sql/pglite"), import("@electric-sql/pglite-socket")]);
    db = await PGlite.create(dir);
    server = new PGLiteSocketServer({ db, port, host: "127.0.0.1", maxConnections: 16 });
    await server.start();
  } catch (error) {
    await db?.close().catch(() => {});
    rmSync(lock, { force: true });
    const e = error as NodeJS.ErrnoException;
    if (e.code === "EADDRINUSE") throw new SeedError("INVALID_USAGE", `port ${port} is in use: pick another with --port`, { cause: error });
    throw new SeedError("DATABASE_UNREACHABLE", `the embedded database in ${dir} could not be opened (${e.message}): delete the folder to start afresh (npm run db:reset recreates it)`, { cause: error });
  }
  return {
    url,
    dir,
    async stop() {
      await server?.stop().catch(() => {});
      await db?.close().catch(() => {});
      rmSync(lock, { force: true });
    },
  };
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
    const how = holder.url ? `: connect with DATABASE_URL=${holder.url}, or stop it (Ctrl-C)` : ": wait for it to finish";
    throw new SeedError("SEED_BUSY", `the embedded database is open in another process (pid ${holder.pid}${holder.url ? ", npm run db:serve" : ""})${how}`);
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
