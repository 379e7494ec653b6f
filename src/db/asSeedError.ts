import { SeedError } from "../core/errors.ts";
import { redact, type SeedSettings } from "./config.ts";
import { decidingSetting, whereSet, type ServerSettings } from "./serverSettings.ts";
import type { EventLog } from "../core/log.ts";

/** The SQLSTATE of a driver error, also when Prisma wraps it. */
export function sqlState(error: unknown): string | undefined {
  const e = error as {
    code?: unknown;
    cause?: { originalCode?: unknown; code?: unknown; kind?: unknown };
    meta?: { code?: unknown };
  };
  for (const code of [e?.code, e?.cause?.originalCode, e?.cause?.code, e?.meta?.code]) {
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/**
 * Any error as a SeedError whose message has no password in it and names the cause: lost
 * connections, timeouts, locks, privileges, a read-only or full server each get their own
 * message; other driver and Prisma errors become SEED_FAILED, with the original as `cause`.
 *
 * @example
 * try { await seedDatabase(); } catch (error) { console.error(asSeedError(error, secretsOf(process.env)).message); }
 */
export function asSeedError(
  error: unknown,
  secrets: readonly string[] = [],
  limits?: { settings: SeedSettings; server: ServerSettings },
): SeedError {
  // The writer names a lock it waited for as SEED_LOCK_TIMEOUT's; the database's may have decided.
  const lockSetting =
    limits && error instanceof SeedError && error.code === "TABLE_LOCKED"
      ? decidingSetting("lock_timeout", limits.settings, limits.server)
      : null;
  if (lockSetting) {
    const { where, reset } = whereSet(lockSetting);
    const table = /^table (\S+) is locked/.exec((error as SeedError).message)?.[1];
    return new SeedError(
      "TABLE_LOCKED",
      `${table ? `table ${table}` : "a table"} is locked by another session and lock_timeout = ${lockSetting.value}, ${where} (not SEED_LOCK_TIMEOUT), ran out: finish or close that session, or remove the setting: ${reset}. Nothing was changed`,
      { cause: (error as SeedError).cause },
    );
  }
  if (error instanceof SeedError) {
    const message = redact(error.message, secrets);
    return message === error.message ? error : new SeedError(error.code, message, { cause: error.cause });
  }
  const e = error as { message?: string; code?: string };
  // pg says only "not queryable" for queries after the server ended the connection.
  const text = /not queryable/.test(e.message ?? "")
    ? "the server closed the connection"
    : redact((e.message ?? String(error)).split("\n").filter(Boolean).pop() ?? "unknown error", secrets);
  const state = sqlState(error);
  const server = limits?.server ?? {};
  const deciding =
    limits && (state === "57014" || state === "55P03")
      ? decidingSetting(state === "57014" ? "statement_timeout" : "lock_timeout", limits.settings, server)
      : null;
  if (deciding && state === "57014") {
    const { where, reset } = whereSet(deciding);
    return new SeedError(
      "STATEMENT_TIMEOUT",
      `a statement ran longer than statement_timeout = ${deciding.value}, ${where} (not SEED_STATEMENT_TIMEOUT), and was cancelled; the transaction was rolled back, the database is as it was. Raise it there, or remove it: ${reset}`,
      { cause: error },
    );
  }
  if (deciding && state === "55P03") {
    const { where, reset } = whereSet(deciding);
    return new SeedError(
      "TABLE_LOCKED",
      `a table is locked by another session (${text}) and lock_timeout = ${deciding.value}, ${where} (not SEED_LOCK_TIMEOUT), ran out: finish or close that session, or remove the setting: ${reset}. Nothing was changed`,
      { cause: error },
    );
  }
  const readOnly = server.default_transaction_read_only;
  if (state === "25006" && readOnly?.value === "on") {
    const { where, reset } = whereSet(readOnly);
    return new SeedError(
      "SEED_FAILED",
      `the database is read-only for this user: default_transaction_read_only = on, ${where}. Nothing was changed. Turn it off (${reset}), or point DATABASE_URL at a writable database`,
      { cause: error },
    );
  }
  if (state === "57014") {
    return new SeedError(
      "STATEMENT_TIMEOUT",
      `a statement ran longer than SEED_STATEMENT_TIMEOUT allows and was cancelled; the transaction was rolled back, the database is as it was. Raise SEED_STATEMENT_TIMEOUT (seconds, 0 for no limit)`,
      { cause: error },
    );
  }
  if (
    state === "57P01" ||
    state === "57P02" ||
    state === "57P03" ||
    /Connection terminated|terminating connection|ECONNRESET|EPIPE|server closed the connection|ended by the other party|not queryable/i.test(
      e.message ?? "",
    )
  ) {
    return new SeedError(
      "CONNECTION_LOST",
      `the connection to PostgreSQL was lost mid-seed (${text}); PostgreSQL rolled back the open transaction, so the database is as it was. Check the server and run the seed again`,
      { cause: error },
    );
  }
  if (state === "42501") {
    return new SeedError(
      "SEED_FAILED",
      `the database user lacks a privilege the seed needs (${text}); nothing was changed. Seed as the owner of the ChatGenius tables (the user that ran the migrations), or GRANT it`,
      { cause: error },
    );
  }
  if (state === "25006") {
    return new SeedError(
      "SEED_FAILED",
      `the server is read-only (${text}): it is a standby or has default_transaction_read_only on; point DATABASE_URL at the primary. Nothing was changed`,
      { cause: error },
    );
  }
  if (state === "53100") {
    return new SeedError(
      "SEED_FAILED",
      `the server's disk is full (${text}); the transaction was rolled back. Free space on the database server and run the seed again`,
      { cause: error },
    );
  }
  if (state === "55P03") {
    return new SeedError(
      "TABLE_LOCKED",
      `a table is locked by another session (${text}): finish or close that session, or raise SEED_LOCK_TIMEOUT (seconds). Nothing was changed`,
      { cause: error },
    );
  }
  return new SeedError("SEED_FAILED", `the seed failed and was rolled back, the database is as it was: ${text}`, {
    cause: error,
  });
}

/**
 * An error of a run as the one SeedError it ends with (no secret in it), logged once.
 *
 * @example
 * throw failed(log, { step: "run" }, error, run.secrets);
 */
export function failed(
  log: EventLog,
  details: Record<string, unknown>,
  error: unknown,
  secrets: readonly string[],
): SeedError {
  const seedError = asSeedError(error, secrets);
  log.emit("error", details, { code: seedError.code, message: seedError.message });
  return seedError;
}
