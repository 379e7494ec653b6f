import type pg from "pg";
import type { SeedSettings } from "./config.ts";

/** The server settings a database or role can set that decide whether a seed may run and for how long. */
export const WATCHED_SETTINGS = ["statement_timeout", "lock_timeout", "default_transaction_read_only"] as const;
export type WatchedSetting = (typeof WATCHED_SETTINGS)[number];

/** One of them, set on the database or the role (ALTER DATABASE / ALTER ROLE … SET), not by the seed. */
export interface ServerSetting {
  readonly name: WatchedSetting;
  /** As PostgreSQL shows it: `5s`, `on`. */
  readonly value: string;
  /** Milliseconds for the timeouts (0: no limit). */
  readonly ms: number;
  /** Where it is set: the database, the role, or the role in this database. */
  readonly source: "database" | "user" | "database user";
  readonly database: string;
  readonly role: string;
}

/** What the database and role set, by name. */
export type ServerSettings = Partial<Record<WatchedSetting, ServerSetting>>;

/**
 * The watched settings this connection got from its database or role (pg_settings' source
 * says so until the session sets its own). One round trip, before the seed sets anything.
 *
 * @example
 * (await serverSettings(client)).statement_timeout?.source; // "database"
 */
export async function serverSettings(client: pg.ClientBase): Promise<ServerSettings> {
  const { rows } = await client.query(
    `SELECT name, setting, unit, source, current_database() AS database, current_user AS role FROM pg_settings
      WHERE name IN (${WATCHED_SETTINGS.map((n) => `'${n}'`).join(", ")}) AND source IN ('database', 'user', 'database user')`,
  );
  const out: ServerSettings = {};
  for (const row of rows as {
    name: WatchedSetting;
    setting: string;
    unit: string | null;
    source: ServerSetting["source"];
    database: string;
    role: string;
  }[]) {
    const ms = row.unit === "ms" ? Number(row.setting) : row.unit === "s" ? Number(row.setting) * 1000 : 0;
    const value =
      row.name === "default_transaction_read_only"
        ? row.setting
        : ms === 0
          ? "0"
          : ms % 1000 === 0
            ? `${ms / 1000}s`
            : `${ms}ms`;
    out[row.name] = { name: row.name, value, ms, source: row.source, database: row.database, role: row.role };
  }
  return out;
}

/**
 * The limits in force in the seed's transaction: each of its own (SEED_LOCK_TIMEOUT,
 * SEED_STATEMENT_TIMEOUT) unless the database or role sets a stricter one, which then stays in
 * force, and is the one an error names.
 *
 * @example
 * effectiveLimits({ lockWaitMs: 60_000, lockTimeoutMs: 10_000, statementTimeoutMs: 600_000 }, { statement_timeout: setting }).statementTimeoutMs;
 */
export function effectiveLimits(settings: SeedSettings, server: ServerSettings): SeedSettings {
  const stricter = (own: number, theirs: ServerSetting | undefined) =>
    theirs && theirs.ms > 0 && (own === 0 || theirs.ms < own) ? theirs.ms : own;
  return {
    ...settings,
    lockTimeoutMs: stricter(settings.lockTimeoutMs, server.lock_timeout),
    statementTimeoutMs: stricter(settings.statementTimeoutMs, server.statement_timeout),
  };
}

/**
 * The setting that decided a limit, when it is the database's or role's rather than the seed's own.
 *
 * @example
 * decidingSetting("lock_timeout", run.settings, await serverSettings(client))?.source; // "database"
 */
export function decidingSetting(
  name: "statement_timeout" | "lock_timeout",
  settings: SeedSettings,
  server: ServerSettings,
): ServerSetting | null {
  const theirs = server[name];
  const own = name === "statement_timeout" ? settings.statementTimeoutMs : settings.lockTimeoutMs;
  return theirs && theirs.ms > 0 && (own === 0 || theirs.ms <= own) ? theirs : null;
}

/**
 * Where a setting is set, and the statement that changes it, for an error line.
 *
 * @example
 * whereSet(setting); // "set on database 'app' (ALTER DATABASE \"app\" SET statement_timeout = '5s')"
 */
export function whereSet(setting: ServerSetting): { where: string; reset: string } {
  const db = `"${setting.database.replace(/"/g, '""')}"`;
  const role = `"${setting.role.replace(/"/g, '""')}"`;
  if (setting.source === "database")
    return { where: `set on database '${setting.database}'`, reset: `ALTER DATABASE ${db} RESET ${setting.name}` };
  if (setting.source === "user")
    return { where: `set on role '${setting.role}'`, reset: `ALTER ROLE ${role} RESET ${setting.name}` };
  return {
    where: `set on role '${setting.role}' in database '${setting.database}'`,
    reset: `ALTER ROLE ${role} IN DATABASE ${db} RESET ${setting.name}`,
  };
}
