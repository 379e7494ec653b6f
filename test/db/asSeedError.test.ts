import { describe, expect, it } from "vitest";
import { SeedError } from "../../src/core/errors.ts";
import { createEventLog, type SeedLogEvent } from "../../src/core/log.ts";
import { asSeedError, failed, sqlState } from "../../src/db/asSeedError.ts";
import type { SeedSettings } from "../../src/db/config.ts";
import type { ServerSetting } from "../../src/db/serverSettings.ts";

// How every error of a run becomes the one SeedError it ends with: the code, the message (that
// says how to fix it, and never holds a password) and the cause. The inputs are errors shaped as
// the pg driver and Prisma raise them; the server tests (test/api/faults.test.ts,
// test/db/safety.test.ts, test/cli/cli.test.ts) raise the real ones.
const SECRET = "Zq7-sekr3t-PW-4711";
const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
const settings: SeedSettings = { lockWaitMs: 60_000, lockTimeoutMs: 10_000, statementTimeoutMs: 600_000 };
const setting = (
  name: ServerSetting["name"],
  ms: number,
  source: ServerSetting["source"] = "database",
  value = `${ms / 1000}s`,
): ServerSetting => ({ name, value, ms, source, database: "app", role: "seeder" });

describe("sqlState", () => {
  it.each([
    ["the driver's code", { code: "57014" }, "57014"],
    ["Prisma's adapter's original code", { cause: { originalCode: "55P03" } }, "55P03"],
    ["a cause's code", { cause: { code: "42501" } }, "42501"],
    ["Prisma's meta code", { meta: { code: "25006" } }, "25006"],
    ["the first of several", { code: "57014", meta: { code: "25006" } }, "57014"],
  ])("reads %s", (_, error, state) => {
    expect(sqlState(error)).toBe(state);
  });

  it.each([
    ["no code", {}],
    ["a Node error code", { code: "ECONNRESET" }],
    ["a lowercase one", { code: "57p01" }],
    ["a longer one", { code: "570140" }],
    ["a number", { code: 57014 }],
    ["null", null],
  ])("finds none in %s", (_, error) => {
    expect(sqlState(error)).toBeUndefined();
  });
});

describe("asSeedError", () => {
  it("keeps a SeedError without a secret as it is", () => {
    const error = new SeedError("SEED_BUSY", "another run holds the lock");
    expect(asSeedError(error, [SECRET])).toBe(error);
  });

  it("redacts a SeedError's message and keeps its code and cause", () => {
    const cause = new Error("inner");
    const error = new SeedError("DATABASE_UNREACHABLE", `cannot reach postgresql://u:${SECRET}@h/db`, { cause });
    const out = asSeedError(error, [SECRET]);
    expect(out).not.toBe(error);
    expect(out).toMatchObject({ code: "DATABASE_UNREACHABLE", message: "cannot reach postgresql://u:***@h/db" });
    expect(out.cause).toBe(cause);
  });

  it.each([
    ["57P01", "terminating connection due to administrator command"],
    ["57P02", "terminating connection due to crash of another server process"],
    ["57P03", "the database system is shutting down"],
  ])("names a lost connection (%s)", (code, message) => {
    const error = pgError(code, message);
    const out = asSeedError(error);
    expect(out.code).toBe("CONNECTION_LOST");
    expect(out.message).toBe(
      `the connection to PostgreSQL was lost mid-seed (${message}); PostgreSQL rolled back the open transaction, so the database is as it was. Check the server and run the seed again`,
    );
    expect(out.cause).toBe(error);
  });

  // A server with lc_messages in another language says none of the driver's English words: the
  // SQLSTATE alone tells a lost connection.
  it.each([
    ["57P01", "Verbindung wird abgebrochen aufgrund von Anweisung des Administrators"],
    ["57P02", "Verbindung wird abgebrochen wegen Absturz eines anderen Serverprozesses"],
  ])("names a lost connection (%s) by its SQLSTATE when the server words it in German", (code, message) => {
    expect(asSeedError(pgError(code, message))).toMatchObject({
      code: "CONNECTION_LOST",
      message: expect.stringContaining(`(${message})`),
    });
  });

  it.each([
    "Connection terminated unexpectedly",
    "read ECONNRESET",
    "write EPIPE",
    "server closed the connection unexpectedly",
    "Connection ended by the other party",
  ])("names a lost connection from the driver's words: %s", (message) => {
    expect(asSeedError(new Error(message))).toMatchObject({
      code: "CONNECTION_LOST",
      message: expect.stringContaining(`(${message})`),
    });
  });

  it("says the server closed the connection when pg only says the client is not queryable", () => {
    expect(asSeedError(new Error("Client has encountered a connection error and is not queryable"))).toMatchObject({
      code: "CONNECTION_LOST",
      message: expect.stringMatching(
        /^the connection to PostgreSQL was lost mid-seed \(the server closed the connection\)/,
      ),
    });
  });

  it("takes the last non-empty line of a multi-line message, redacted", () => {
    const out = asSeedError(
      new Error(`first line\n\nrelation "x" does not exist for postgresql://u:${SECRET}@h/db\n`),
      [SECRET],
    );
    expect(out.message).toBe(
      `the seed failed and was rolled back, the database is as it was: relation "x" does not exist for postgresql://u:***@h/db`,
    );
    expect(out.code).toBe("SEED_FAILED");
  });

  it("keeps the original error as the cause of SEED_FAILED (--verbose prints its stack)", () => {
    const error = new Error('relation "x" does not exist');
    expect(asSeedError(error).cause).toBe(error);
  });

  it("redacts a secret that is not in a URL", () => {
    expect(asSeedError(new Error(`bad password ${SECRET} given`), [SECRET]).message).toBe(
      "the seed failed and was rolled back, the database is as it was: bad password *** given",
    );
  });

  it("words an error without a message by its text", () => {
    expect(asSeedError("plain text").message).toBe(
      "the seed failed and was rolled back, the database is as it was: plain text",
    );
    expect(asSeedError(new Error("")).message).toBe(
      "the seed failed and was rolled back, the database is as it was: unknown error",
    );
  });

  it.each([
    [
      "a statement timeout",
      "57014",
      "STATEMENT_TIMEOUT",
      "a statement ran longer than SEED_STATEMENT_TIMEOUT allows and was cancelled; the transaction was rolled back, the database is as it was. Raise SEED_STATEMENT_TIMEOUT (seconds, 0 for no limit)",
    ],
    [
      "a missing privilege",
      "42501",
      "SEED_FAILED",
      "the database user lacks a privilege the seed needs (permission denied for table users); nothing was changed. Seed as the owner of the ChatGenius tables (the user that ran the migrations), or GRANT it",
    ],
    [
      "a read-only server",
      "25006",
      "SEED_FAILED",
      "the server is read-only (permission denied for table users): it is a standby or has default_transaction_read_only on; point DATABASE_URL at the primary. Nothing was changed",
    ],
    [
      "a full disk",
      "53100",
      "SEED_FAILED",
      "the server's disk is full (permission denied for table users); the transaction was rolled back. Free space on the database server and run the seed again",
    ],
    [
      "a lock timeout",
      "55P03",
      "TABLE_LOCKED",
      "a table is locked by another session (permission denied for table users): finish or close that session, or raise SEED_LOCK_TIMEOUT (seconds). Nothing was changed",
    ],
  ])("words %s", (_, state, code, message) => {
    const error = pgError(state, "permission denied for table users");
    const out = asSeedError(error);
    expect(out).toMatchObject({ code, message });
    expect(out.cause).toBe(error);
  });

  it("names the database's statement_timeout when it, not the seed's, cancelled the statement", () => {
    const error = pgError("57014", "canceling statement due to statement timeout");
    const out = asSeedError(error, [], {
      settings,
      server: { statement_timeout: setting("statement_timeout", 5000) },
    });
    expect(out).toMatchObject({
      code: "STATEMENT_TIMEOUT",
      message: `a statement ran longer than statement_timeout = 5s, set on database 'app' (not SEED_STATEMENT_TIMEOUT), and was cancelled; the transaction was rolled back, the database is as it was. Raise it there, or remove it: ALTER DATABASE "app" RESET statement_timeout`,
    });
    expect(out.cause).toBe(error);
  });

  it("names the seed's own limit when the server's is looser", () => {
    const out = asSeedError(pgError("57014", "canceling statement due to statement timeout"), [], {
      settings,
      server: { statement_timeout: setting("statement_timeout", 900_000) },
    });
    expect(out.message).toMatch(/^a statement ran longer than SEED_STATEMENT_TIMEOUT allows/);
  });

  it("names the role's lock_timeout when it ran out", () => {
    const error = pgError("55P03", "canceling statement due to lock timeout");
    const out = asSeedError(error, [], {
      settings,
      server: { lock_timeout: setting("lock_timeout", 2000, "user") },
    });
    expect(out).toMatchObject({
      code: "TABLE_LOCKED",
      message: `a table is locked by another session (canceling statement due to lock timeout) and lock_timeout = 2s, set on role 'seeder' (not SEED_LOCK_TIMEOUT), ran out: finish or close that session, or remove the setting: ALTER ROLE "seeder" RESET lock_timeout. Nothing was changed`,
    });
    expect(out.cause).toBe(error);
  });

  it("names the server's lock_timeout in the writer's TABLE_LOCKED, keeping the table and the cause", () => {
    const cause = new Error("canceling statement due to lock timeout");
    const error = new SeedError("TABLE_LOCKED", "table reactions is locked by another session: …", { cause });
    const out = asSeedError(error, [], {
      settings,
      server: { lock_timeout: setting("lock_timeout", 3000, "database user") },
    });
    expect(out).toMatchObject({
      code: "TABLE_LOCKED",
      message: `table reactions is locked by another session and lock_timeout = 3s, set on role 'seeder' in database 'app' (not SEED_LOCK_TIMEOUT), ran out: finish or close that session, or remove the setting: ALTER ROLE "seeder" IN DATABASE "app" RESET lock_timeout. Nothing was changed`,
    });
    expect(out.cause).toBe(cause);
  });

  it("says 'a table' when the writer's message names none, and keeps a TABLE_LOCKED the seed's own limit decided", () => {
    const error = new SeedError("TABLE_LOCKED", "something is locked");
    expect(
      asSeedError(error, [], { settings, server: { lock_timeout: setting("lock_timeout", 3000) } }).message,
    ).toMatch(/^a table is locked by another session and lock_timeout = 3s/);
    expect(asSeedError(error, [], { settings, server: {} })).toBe(error);
    expect(asSeedError(error)).toBe(error);
  });

  it("leaves a SeedError other than TABLE_LOCKED as it is, whatever lock_timeout the server sets", () => {
    const error = new SeedError("SEED_BUSY", "another run holds the lock");
    expect(asSeedError(error, [], { settings, server: { lock_timeout: setting("lock_timeout", 3000) } })).toBe(error);
  });

  it("names default_transaction_read_only when the database sets it", () => {
    const readOnly = { default_transaction_read_only: setting("default_transaction_read_only", 0, "database", "on") };
    const error = pgError("25006", "cannot execute INSERT in a read-only transaction");
    const out = asSeedError(error, [], { settings, server: readOnly });
    expect(out).toMatchObject({
      code: "SEED_FAILED",
      message: `the database is read-only for this user: default_transaction_read_only = on, set on database 'app'. Nothing was changed. Turn it off (ALTER DATABASE "app" RESET default_transaction_read_only), or point DATABASE_URL at a writable database`,
    });
    const off = asSeedError(pgError("25006", "read-only"), [], {
      settings,
      server: { default_transaction_read_only: setting("default_transaction_read_only", 0, "database", "off") },
    });
    expect(off.message).toMatch(/^the server is read-only \(read-only\)/);
    expect(out.cause).toBe(error);
    // On a read-only database, another error is still that error.
    expect(
      asSeedError(pgError("42501", "permission denied for table users"), [], { settings, server: readOnly }).message,
    ).toMatch(/^the database user lacks a privilege/);
  });

  it("reads the SQLSTATE of an error Prisma wraps", () => {
    expect(asSeedError({ message: "wrapped", cause: { originalCode: "42501" } }).message).toMatch(
      /^the database user lacks a privilege/,
    );
  });
});

describe("failed", () => {
  it("logs the run's error once, as its SeedError, and returns it", () => {
    const events: SeedLogEvent[] = [];
    const log = createEventLog((e) => events.push(e));
    const out = failed(log, { step: "run" }, new Error(`no route to postgresql://u:${SECRET}@h/db`), [SECRET]);
    expect(out).toBeInstanceOf(SeedError);
    expect(out.message).toBe(
      "the seed failed and was rolled back, the database is as it was: no route to postgresql://u:***@h/db",
    );
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      operation: "error",
      details: { step: "run" },
      error: { code: "SEED_FAILED", message: out.message },
    });
  });
});
