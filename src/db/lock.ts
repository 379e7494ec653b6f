import type pg from "pg";
import { interrupted, SeedError } from "../core/errors.ts";
import type { EventLog } from "../core/log.ts";

/** The advisory lock all seeds and resets of one database take (two keys: 'seed', 1). */
const LOCK_KEYS = "1936024932, 1";
const POLL_MS = 250;

/**
 * Takes the seed's session-level advisory lock, so that two seeds or resets of the same
 * database never interleave. If another run holds it, reports that it waits (with that run's
 * pid and application) and polls for up to `waitMs`, then fails with SEED_BUSY.
 *
 * @example
 * await acquireSeedLock(client, { waitMs: 60_000, log });
 * try { … } finally { await releaseSeedLock(client); }
 */
export async function acquireSeedLock(
  client: pg.ClientBase,
  options: { waitMs: number; log?: EventLog; signal?: AbortSignal },
): Promise<void> {
  const started = Date.now();
  let reported = false;
  for (;;) {
    const { rows } = await client.query(`SELECT pg_try_advisory_lock(${LOCK_KEYS}) AS ok`);
    if (rows[0].ok) return;
    const holder = await lockHolder(client);
    if (!reported) {
      options.log?.emit("start", { step: "lock", action: "waiting", holder, waitMs: options.waitMs });
      reported = true;
    }
    if (options.signal?.aborted) throw interrupted(options.signal);
    if (Date.now() - started >= options.waitMs) {
      throw new SeedError(
        "SEED_BUSY",
        `another seed or reset of this database is still running (${holder ?? "pid unknown"}) after ${Math.round(options.waitMs / 1000)} s: wait for it to finish, or raise SEED_LOCK_WAIT (seconds)`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Releases the lock (also released when the connection closes). */
export async function releaseSeedLock(client: pg.ClientBase): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(${LOCK_KEYS})`).catch(() => {});
}

async function lockHolder(client: pg.ClientBase): Promise<string | null> {
  const { rows } = await client.query(
    `SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid = 1936024932 AND l.objid = 1 LIMIT 1`,
  );
  return rows[0] ? `pid ${rows[0].pid}${rows[0].application_name ? `, ${rows[0].application_name}` : ""}` : null;
}
