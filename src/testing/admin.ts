import { createHash } from "node:crypto";
import pg from "pg";
import { withDatabase, type DatabaseConfig } from "../db/config.ts";
import { APPLICATION_NAME, connectionOptions, ident, translatePgError } from "../db/connection.ts";
import { readyComment } from "./comments.ts";

/** The advisory-lock namespace of the kit's locks on a server ("seed" in ASCII). */
const LOCK_SPACE = 1936024933;

/** A database of the server with the comment the kit may have put on it ('' when none). */
export interface ServerDatabase {
  readonly name: string;
  readonly comment: string;
}

/**
 * What the kit says to a server about its databases: create, clone, claim, comment, drop and
 * list them. Every statement of the kit's on the maintenance database is one of these, so the
 * SQL that decides what the kit may drop lives in one place.
 */
abstract class DatabaseStatements {
  protected abstract query<R extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>>;

  /** The comment on a database, '' when it has none, null when there is no such database. */
  async comment(name: string): Promise<string | null> {
    const { rows } = await this.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
      [name],
    );
    return rows.length === 0 ? null : (rows[0]!.comment ?? "");
  }

  /** The server's databases, newest first (by oid), with their comments. */
  async list(): Promise<ServerDatabase[]> {
    const { rows } = await this.query<{ name: string; comment: string | null }>(
      `SELECT datname AS name, shobj_description(oid, 'pg_database') AS comment FROM pg_database ORDER BY oid DESC`,
    );
    return rows.map((r) => ({ name: r.name, comment: r.comment ?? "" }));
  }

  /** The ready clones of a template, oldest first: the order they are handed over in. */
  async readyClones(template: string): Promise<string[]> {
    const ready = readyComment(template);
    return (await this.list())
      .filter((d) => d.comment === ready)
      .map((d) => d.name)
      .reverse();
  }

  /** An empty database. */
  async create(name: string): Promise<void> {
    await this.query(`CREATE DATABASE ${ident(name)}`);
  }

  /** A copy of `template` named `name`, carrying `comment` (the kit's mark: only marked databases are dropped). */
  async clone(template: string, name: string, comment: string): Promise<void> {
    await this.query(`CREATE DATABASE ${ident(name)} TEMPLATE ${ident(template)}`);
    await this.setComment(name, comment);
  }

  async setComment(name: string, comment: string): Promise<void> {
    await this.query(`COMMENT ON DATABASE ${ident(name)} IS ${literal(comment)}`);
  }

  async rename(from: string, to: string): Promise<void> {
    await this.query(`ALTER DATABASE ${ident(from)} RENAME TO ${ident(to)}`);
  }

  /** Marks a complete template: clonable, and closed to connections (a stray one would block every clone). */
  async seal(name: string, comment: string): Promise<void> {
    await this.query(`ALTER DATABASE ${ident(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    await this.setComment(name, comment);
  }

  /** Drops a database, its connections included; a template is unmarked first (DROP refuses one). */
  async drop(name: string, options: { template?: boolean } = {}): Promise<void> {
    if (options.template) await this.query(`ALTER DATABASE ${ident(name)} WITH IS_TEMPLATE false`);
    await this.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
  }

  /** pg_database_size of a database, in bytes. */
  async size(name: string): Promise<number> {
    const { rows } = await this.query<{ bytes: string }>(`SELECT pg_database_size($1) AS bytes`, [name]);
    return Number(rows[0]?.bytes ?? 0);
  }
}

/**
 * The kit's statements on one session of the server: where an advisory lock is held, and
 * everything done under it, so that a lock taken inside another never waits for a free
 * connection.
 */
export class AdminSession extends DatabaseStatements {
  constructor(readonly client: pg.ClientBase) {
    super();
  }

  protected override query<R extends pg.QueryResultRow>(sql: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.client.query<R>(sql, values);
  }

  /** Runs `body` holding the kit's lock on `key`, waiting for it while another process holds it. */
  async locked<T>(key: string, body: () => Promise<T>): Promise<T> {
    await this.client.query(`SELECT pg_advisory_lock($1, $2)`, [LOCK_SPACE, lockOf(key)]);
    return this.thenUnlock(key, body);
  }

  /** Runs `body` holding the kit's lock on `key`, or returns null at once while another process holds it. */
  async tryLocked<T>(key: string, body: () => Promise<T>): Promise<T | null> {
    const { rows } = await this.client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock($1, $2) AS ok`, [
      LOCK_SPACE,
      lockOf(key),
    ]);
    return rows[0]?.ok ? this.thenUnlock(key, body) : null;
  }

  private async thenUnlock<T>(key: string, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } finally {
      await this.client.query(`SELECT pg_advisory_unlock($1, $2)`, [LOCK_SPACE, lockOf(key)]).catch(() => {});
    }
  }
}

/**
 * The kit's one handle on a server (as IntegreSQL's manager holds one): a few connections to its
 * maintenance database, opened when first needed and shared by every template, clone, pool and
 * cleanup of this process. Idle, they never keep the process alive.
 *
 * @example
 * const admin = kitAdmin(template.server);
 * await admin.clone(template.name, "chatgenius_test_t_1", "chatgenius-seed test database …");
 */
export class KitAdmin extends DatabaseStatements {
  private readonly pool: pg.Pool;

  constructor(
    private readonly server: DatabaseConfig,
    options: { application?: string } = {},
  ) {
    super();
    this.pool = new pg.Pool({
      ...connectionOptions(withDatabase(server, "postgres")),
      application_name: options.application ?? APPLICATION_NAME,
      // Two clones are made at a time; a claim or a lock may run beside them.
      max: 4,
      allowExitOnIdle: true,
    });
    // A connection the server ends while idle (the embedded server stopping) is simply replaced.
    this.pool.on("error", () => {});
  }

  /** The same server with another database name. */
  database(name: string): DatabaseConfig {
    return withDatabase(this.server, name);
  }

  protected override async query<R extends pg.QueryResultRow>(
    sql: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    return this.session((session) => session.client.query<R>(sql, values));
  }

  /** Runs `body` on one session of its own (locks, a transaction), given back to the handle after. */
  async session<T>(body: (session: AdminSession) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((error: unknown) => {
      throw translatePgError(error, this.server);
    });
    try {
      return await body(new AdminSession(client));
    } finally {
      client.release();
    }
  }

  /**
   * Takes up to `count` of the template's ready clones, oldest first, each renamed to the next
   * of `name()` and marked with `comment`; returns the names taken. Renamed and marked in one
   * transaction: renamed first and marked after, a clone would be listed, still marked ready,
   * under its new name for a moment, and another run could rename it away. A clone another
   * process took first is passed over.
   */
  async claimReady(template: string, count: number, name: () => string, comment: string): Promise<string[]> {
    const taken: string[] = [];
    for (const ready of await this.readyClones(template)) {
      if (taken.length === count) break;
      const next = name();
      if (await this.claim(ready, next, comment)) taken.push(next);
    }
    return taken;
  }

  private claim(ready: string, name: string, comment: string): Promise<boolean> {
    return this.session(async ({ client }) => {
      try {
        // What is claimed holds no test's writes yet: losing the rename in a server crash loses nothing.
        await client.query(
          `BEGIN; SET LOCAL synchronous_commit = off; ALTER DATABASE ${ident(ready)} RENAME TO ${ident(name)}; COMMENT ON DATABASE ${ident(name)} IS ${literal(comment)}; COMMIT`,
        );
        return true;
      } catch {
        await client.query(`ROLLBACK`).catch(() => {});
        return false;
      }
    });
  }

  /** Runs `body` on a session holding the kit's lock on `key` (see AdminSession.locked()). */
  locked<T>(key: string, body: (session: AdminSession) => Promise<T>): Promise<T> {
    return this.session((session) => session.locked(key, () => body(session)));
  }

  /** Closes the handle's connections. */
  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}

/** A string as an SQL literal (COMMENT takes no parameter). */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

function lockOf(key: string): number {
  return createHash("sha256").update(key).digest().readInt32BE(0);
}

/** The handles of this process, one per server and base database. */
const admins = new Map<string, KitAdmin>();

/**
 * The kit's handle on the server of `server` (its base database aside), made on first use and
 * kept for the process.
 *
 * @example
 * const admin = kitAdmin(template.server);
 */
export function kitAdmin(server: DatabaseConfig): KitAdmin {
  let admin = admins.get(server.url);
  if (!admin) {
    admin = new KitAdmin(server);
    admins.set(server.url, admin);
  }
  return admin;
}

/**
 * Closes this process's handles (the next use opens them again): before the server they talk to
 * is let go of.
 *
 * @example
 * await closeKitAdmins();
 */
export async function closeKitAdmins(): Promise<void> {
  const open = [...admins.values()];
  admins.clear();
  await Promise.all(open.map((admin) => admin.close()));
}
