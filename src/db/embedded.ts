import { isProcessAlive } from "../core/process.ts";
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, statSync, watch, type FSWatcher } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import type pg from "pg";
import { resolveDatabaseConfig, type DatabaseConfig } from "./config.ts";
import { SeedError } from "../core/errors.ts";
import {
  checkAborted,
  checkCluster,
  ensureCluster,
  ensureFolder,
  postgresBinaries,
  readFrom,
  rotateLog,
  serverFailed,
  serverUser,
  shown,
  type Owner,
} from "./embeddedCluster.ts";

export { POSTGRES_MAJOR } from "./embeddedCluster.ts";

/** Where the embedded PostgreSQL lives, relative to the project (git-ignored). */
export const EMBEDDED_DIR = ".chatgenius/postgres";

/** Where the embedded database of versions before 0.2 (PGlite) lived: no longer used, never deleted. */
export const PGLITE_DIR = ".chatgenius/pglite";

/** A running embedded PostgreSQL that this process uses until release(). */
export interface EmbeddedServer {
  /** The project folder it runs from (`.chatgenius/postgres`, absolute). */
  readonly dir: string;
  readonly port: number;
  /** Its `postgres` database on 127.0.0.1:port, user postgres, no password (trust on loopback). */
  readonly config: DatabaseConfig;
  /** True when this call started the server, false when it joined one already running. */
  readonly started: boolean;
  /** True when this call created `options.database` on the server. */
  readonly createdDatabase: boolean;
  /** Leaves the server; the last process to leave stops it. Idempotent. */
  release(): Promise<void>;
}

/** Options of startEmbedded. */
export interface EmbeddedOptions {
  /** The folder (`<project>/.chatgenius/postgres`); made, and initdb'd, on first use. */
  dir: string;
  /** The port to start on (default: a free one). A server already running keeps its own. */
  port?: number;
  /** Aborting it stops initdb or the start and throws the signal's SeedError. */
  signal?: AbortSignal;
  /** A database to create on the server when it has none of that name (on this process's own session: no connection more). */
  database?: string;
  /**
   * Called once when this call starts the server, as soon as its process runs, or waits for the
   * start startEmbeddedEarly made: work to do while PostgreSQL boots (about 0.1 s), such as
   * building a plan. Not called when the server runs already.
   */
  whileStarting?: () => void;
}

/**
 * Starts the PostgreSQL server of a project folder, or joins it when another process runs it,
 * and keeps it until release(): the last process to leave stops it ("the last one out turns off
 * the light"). Who uses the server is counted by the server itself: each user holds a shared
 * advisory lock on a session of its own, which PostgreSQL releases when the process ends, however
 * it ends (SIGKILL included); the last one out is whoever then gets the lock exclusively, and no
 * one can join while it holds it. PostgreSQL's own postmaster.pid keeps a second server off the
 * folder; initdb runs into a folder of its own, renamed into place when complete.
 *
 * @example
 * const server = await startEmbedded({ dir: ".chatgenius/postgres" });
 * try { await seedDatabase({ databaseUrl: withDatabase(server.config, "chatgenius").url }); } finally { await server.release(); }
 */
export async function startEmbedded(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dir = resolve(options.dir);
  let entry = joined.get(dir);
  if (!entry) {
    const joining = join_(dir, options);
    entry = { users: 0, queries: 0, lease: joining };
    joined.set(dir, entry);
    joining.catch(() => joined.delete(dir));
  }
  const shared = entry;
  const lease = await shared.lease;
  shared.users += 1;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    shared.users -= 1;
    if (shared.users > 0) return;
    joined.delete(dir);
    await leave(dir, lease);
  };
  let createdDatabase = false;
  if (options.database) {
    // The lease's socket keeps no process alive (see tryLease), but this query must finish.
    const socket = socketOf(lease.client);
    if (shared.queries++ === 0) socket?.ref();
    try {
      const { createDatabaseOn } = await import("./migrations.ts");
      createdDatabase = await createDatabaseOn(lease.client, options.database, lease.config);
    } catch (error) {
      await release();
      throw error;
    } finally {
      if (--shared.queries === 0) socket?.unref();
    }
  }
  return { dir, port: lease.port, config: lease.config, started: lease.started, createdDatabase, release };
}

/** This process's leases, by folder: several users in one process share one (one session, one count). */
const joined = new Map<string, { users: number; queries: number; lease: Promise<Lease> }>();

interface Lease {
  readonly port: number;
  readonly config: DatabaseConfig;
  readonly started: boolean;
  readonly client: pg.Client;
}

/** The advisory lock whose shared holders are the server's users (two int4 keys: "cgs", 27). */
const LEASE_KEY = "1667724147, 27";

/** How long a command waits for the server to start, stop or answer before it gives up. */
const WAIT_MS = 30_000;

async function join_(dir: string, options: EmbeddedOptions): Promise<Lease> {
  const owner = serverUser();
  ensureFolder(dir, owner);
  await ensureCluster(dir, owner, options.signal);
  const deadline = Date.now() + WAIT_MS;
  let port = options.port;
  let started = false;
  let whileStarting = options.whileStarting;
  const ahead = early.get(dir);
  if (ahead) {
    // Started by this process before it knew it would need it: this call is its first user.
    early.delete(dir);
    const stop = () => ahead.controller.abort(options.signal?.reason);
    options.signal?.addEventListener("abort", stop, { once: true });
    whileStarting?.();
    whileStarting = undefined;
    try {
      started = (await ahead.outcome) === "started";
    } finally {
      options.signal?.removeEventListener("abort", stop);
    }
  }
  for (let attempt = 0; ; attempt++) {
    checkAborted(options.signal);
    const running = runningServer(dir);
    if (running) {
      const lease = await tryLease(running.port, started);
      if (lease) return lease;
    } else {
      const outcome = await startServer(dir, port ?? (await freePort()), owner, {
        signal: options.signal,
        whileStarting,
      });
      whileStarting = undefined;
      started = outcome === "started";
      if (started) continue;
      if (outcome === "port taken") {
        if (port !== undefined)
          throw new SeedError(
            "INVALID_USAGE",
            `port ${port} is in use: pick another with --port, or stop what uses it`,
          );
        // A free port taken between the probe and the start: another one.
      }
      // "lost": another process started it first; join it.
    }
    if (Date.now() > deadline) throw stuck(dir, running?.pid);
    // Starting or stopping (another process's): look again when its pid file changes.
    const seen = pidFile(dir);
    await waitUntil(dir, () => pidFile(dir) !== seen, Math.min(20 * (attempt + 1), 200), options.signal);
    port = options.port;
  }
}

/**
 * Servers this process started before it needed them (startEmbeddedEarly), by folder, until its
 * first startEmbedded of that folder joins it: what came of the start (null: it did not; the
 * joining call then starts or joins as usual and reports what is wrong), and a way to stop it.
 */
const early = new Map<string, { outcome: Promise<StartOutcome | null>; controller: AbortController }>();

/**
 * Starts the server of a project folder now, without joining it, when the folder holds a
 * cluster of this version and no server runs from it: for a caller that knows it will need the
 * server and has other work first (the CLI, before its code loads), so that PostgreSQL boots
 * meanwhile. This process's next startEmbedded of the folder joins it (as the one that started
 * it); releaseEarly stops it when none did. A new folder (initdb), or any problem, is left to
 * startEmbedded, which says what is wrong.
 *
 * @example
 * startEmbeddedEarly(".chatgenius/postgres"); // returns at once
 * const server = await startEmbedded({ dir: ".chatgenius/postgres" }); // joins it
 */
export function startEmbeddedEarly(dir: string): void {
  const folder = resolve(dir);
  if (early.has(folder) || joined.has(folder) || runningServer(folder)) return;
  try {
    checkCluster(folder);
  } catch {
    return;
  }
  const controller = new AbortController();
  const outcome = (async () => {
    const owner = serverUser();
    return startServer(folder, await freePort(), owner, { signal: controller.signal });
  })().catch(() => null);
  early.set(folder, { outcome, controller });
}

/**
 * Stops the servers startEmbeddedEarly started that this process then never joined (the command
 * ended before it needed one: a wrong flag, --help), unless another process uses them by now.
 *
 * @example
 * await releaseEarly();
 */
export async function releaseEarly(): Promise<void> {
  for (const [dir, { outcome }] of early) {
    early.delete(dir);
    if ((await outcome) !== "started") continue;
    const running = runningServer(dir);
    const lease = running && (await tryLease(running.port, true));
    if (lease) await leave(dir, lease);
  }
}

/** A session on the server holding its shared lease, or null while it starts or stops. */
async function tryLease(port: number, started: boolean): Promise<Lease | null> {
  const config = resolveDatabaseConfig({ DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/postgres` });
  // Loaded here, not with this module: startEmbeddedEarly runs before the CLI's code has loaded.
  const { default: pg } = await import("pg");
  const client = new pg.Client({
    connectionString: config.url,
    connectionTimeoutMillis: 5_000,
    application_name: "chatgenius-seed lease",
  });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query(`SELECT pg_advisory_lock_shared(${LEASE_KEY})`);
  } catch {
    // Starting, stopping (its last user shuts it down while holding the lock), or gone.
    await client.end().catch(() => {});
    return null;
  }
  // The lease must not keep the process alive: it ends with the process, which ends it.
  socketOf(client)?.unref();
  return { port, config, started, client };
}

function socketOf(client: pg.Client): { ref(): void; unref(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { ref(): void; unref(): void } } }).connection?.stream;
}

/**
 * Gives the lease back; the last user stops the server (fast shutdown: sessions end, data is
 * kept). Not an immediate shutdown, though it would return sooner: the next start would replay
 * the WAL and checkpoint then (more than the fast shutdown's checkpoint of a few ms), and
 * commits not yet written out (`synchronous_commit=off`) would be lost.
 */
async function leave(dir: string, lease: Lease): Promise<void> {
  const { client } = lease;
  // Leaving must finish before the process may end.
  socketOf(client)?.ref();
  try {
    // One round trip: the arguments of a target list are evaluated in order.
    const { rows } = await client.query<{ last: boolean }>(
      `SELECT pg_advisory_unlock_shared(${LEASE_KEY}), pg_try_advisory_lock(${LEASE_KEY}) AS last`,
    );
    if (!rows[0]?.last) return;
    const running = runningServer(dir);
    if (running?.port !== lease.port) return;
    try {
      process.kill(running.pid, "SIGINT");
    } catch {
      return;
    }
    await waitUntil(dir, () => runningServer(dir)?.pid !== running.pid, WAIT_MS);
  } catch {
    // Already stopped by someone else: nothing to leave.
  } finally {
    await client.end().catch(() => {});
  }
}

/** The folder's postmaster.pid as it reads now, or null when there is none. */
function pidFile(dir: string): string | null {
  try {
    return readFileSync(join(dir, "data", "postmaster.pid"), "utf8");
  } catch {
    return null;
  }
}

/** The server running from the folder, from its postmaster.pid, or null. */
function runningServer(dir: string): { pid: number; port: number } | null {
  const lines = pidFile(dir)?.split("\n");
  if (!lines) return null;
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  // A pid file left by a server that was killed: PostgreSQL replaces it on the next start.
  if (!(pid > 0 && port > 0) || !isProcessAlive(pid)) return null;
  return { pid, port };
}

type StartOutcome = "started" | "port taken" | "lost";

/** Starts a server on the folder, detached (Ctrl-C in the terminal is the command's, not the server's). */
async function startServer(
  dir: string,
  port: number,
  owner: Owner | null,
  { signal, whileStarting }: Pick<EmbeddedOptions, "signal" | "whileStarting">,
): Promise<StartOutcome> {
  const binaries = await postgresBinaries();
  const logFile = join(dir, "server.log");
  rotateLog(logFile);
  const from = existsSync(logFile) ? statSync(logFile).size : 0;
  const log = openSync(logFile, "a");
  let exited = false;
  let child: ReturnType<typeof spawn>;
  try {
    const args = ["-D", join(dir, "data"), "-p", String(port), "-c", `unix_socket_directories=${socketDir(dir) ?? ""}`];
    child = spawn(binaries.postgres, [...args, ...SERVER_SETTINGS], {
      detached: true,
      stdio: ["ignore", log, log],
      ...(owner ?? {}),
    });
  } finally {
    closeSync(log);
  }
  child.on("error", () => {});
  child.once("exit", () => {
    exited = true;
  });
  child.unref();
  whileStarting?.();
  const ready = await waitUntil(dir, () => exited || isReady(dir, child.pid), WAIT_MS, signal);
  if (!exited && ready) return "started";
  if (!exited) {
    child.kill("SIGINT");
    checkAborted(signal);
    throw new SeedError(
      "DATABASE_UNREACHABLE",
      `the embedded PostgreSQL did not start within ${WAIT_MS / 1000} s: see ${shown(logFile)}`,
    );
  }
  const said = readFrom(logFile, from);
  if (/could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(said)) return "port taken";
  if (/lock file "postmaster\.pid" already exists/i.test(said)) return "lost";
  throw serverFailed(dir, said, logFile, owner);
}

/**
 * The folder of the server's Unix socket: its own folder, unless the socket's path would pass
 * the 107 bytes a socket path may have (a deep project): then none, and TCP only.
 *
 * @example
 * socketDir("/home/ada/app/.chatgenius/postgres"); // "/home/ada/app/.chatgenius/postgres"
 */
export function socketDir(dir: string): string | null {
  return Buffer.byteLength(join(dir, ".s.PGSQL.65535.lock")) <= 107 ? dir : null;
}

/**
 * The settings the embedded server starts with: loopback, trust for local connections (set by
 * initdb), small memory, and no fsync: a crash of the machine (not of a process) can lose the
 * last writes, which a development database, reseeded in a second, can afford.
 *
 * No process it does not need (each one is forked at every start and waited for at every
 * stop): no logical replication workers (a development database subscribes to nothing), and
 * I/O done by the backends themselves (`io_method=sync`, as before PostgreSQL 18) instead of
 * three I/O worker processes. No huge pages: not worth the failed attempt where none are reserved.
 */
const SERVER_SETTINGS = [
  "-c",
  "listen_addresses=127.0.0.1",
  "-c",
  "shared_buffers=32MB",
  "-c",
  "max_connections=100",
  "-c",
  "fsync=off",
  "-c",
  "synchronous_commit=off",
  "-c",
  "full_page_writes=off",
  "-c",
  "logging_collector=off",
  "-c",
  "max_logical_replication_workers=0",
  "-c",
  "io_method=sync",
  "-c",
  "huge_pages=off",
];

function isReady(dir: string, pid: number | undefined): boolean {
  const lines = pidFile(dir)?.split("\n");
  return lines !== undefined && Number(lines[0]) === pid && lines[7]?.trim() === "ready";
}

function stuck(dir: string, pid: number | undefined): SeedError {
  return new SeedError(
    "DATABASE_UNREACHABLE",
    pid
      ? `the embedded PostgreSQL in ${shown(dir)} (pid ${pid}) did not answer within ${WAIT_MS / 1000} s: if no PostgreSQL runs from that folder, delete ${shown(join(dir, "data", "postmaster.pid"))} and try again`
      : `the embedded PostgreSQL in ${shown(dir)} did not start within ${WAIT_MS / 1000} s: see ${shown(join(dir, "server.log"))}`,
  );
}

/**
 * Resolves true once `done()` holds, false after `ms` or on abort. Asked again whenever the
 * data folder changes (the server writes its state in postmaster.pid: started, ready, removed
 * when stopped) and every 25 ms besides (a child's exit, a file system that reports no changes),
 * so that a start or a stop is seen when it happens, not at the next tick of a poll.
 */
function waitUntil(dir: string, done: () => boolean, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (done()) return Promise.resolve(true);
  return new Promise((resolveWait) => {
    let watcher: FSWatcher | undefined;
    const finish = (result: boolean) => {
      clearInterval(poll);
      clearTimeout(timeout);
      watcher?.close();
      signal?.removeEventListener("abort", aborted);
      resolveWait(result);
    };
    const check = () => {
      if (done()) finish(true);
    };
    const aborted = () => finish(false);
    try {
      watcher = watch(join(dir, "data"), check);
      watcher.on("error", () => {});
    } catch {
      // No folder to watch (yet), or no watches left: the poll alone.
    }
    const poll = setInterval(check, 25);
    const timeout = setTimeout(() => finish(done()), ms);
    if (signal?.aborted) aborted();
    else signal?.addEventListener("abort", aborted, { once: true });
  });
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

/**
 * The embedded database folder of a project directory.
 *
 * @example
 * embeddedDir("/home/ada/app"); // "/home/ada/app/.chatgenius/postgres"
 */
export function embeddedDir(cwd: string): string {
  return join(cwd, EMBEDDED_DIR);
}
