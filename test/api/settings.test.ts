import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { seedDatabase } from "../../src/api/seed.ts";
import { cli } from "../helpers/cli.ts";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

const db = useTestDatabase("settings");
const name = () => new URL(db.url).pathname.slice(1);

/** Holds an exclusive lock on `users` from another session until released. */
async function holdUsers(): Promise<() => Promise<void>> {
  const holder = new pg.Client({ connectionString: db.url });
  await holder.connect();
  await holder.query("BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE");
  return async () => {
    await holder.query("ROLLBACK").catch(() => {});
    await holder.end();
  };
}

afterEach(async () => {
  // Settings made on the database apply to new sessions: every test starts without them.
  const admin = new pg.Client({ connectionString: db.url, options: "-c default_transaction_read_only=off" });
  await admin.connect();
  try {
    await admin.query(
      `ALTER DATABASE "${name()}" RESET ALL; DROP TRIGGER IF EXISTS slow_users ON users; DROP FUNCTION IF EXISTS slow_users()`,
    );
  } finally {
    await admin.end();
  }
});

/** Makes every insert into users take 2 s: a statement that runs long, whatever the method. */
const slowUsers = `CREATE FUNCTION slow_users() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$;
  CREATE TRIGGER slow_users AFTER INSERT ON users FOR EACH STATEMENT EXECUTE FUNCTION slow_users()`;

describe("a limit the database or role sets is named where it is set, not as SEED_*", () => {
  it("a database-level statement_timeout", async () => {
    await query(db, slowUsers);
    await query(db, `ALTER DATABASE "${name()}" SET statement_timeout = '300ms'`);
    const before = await snapshot(db);
    const error = await seedDatabase({ databaseUrl: db.url, profile: "minimal" }).catch((e) => e);
    expect(error).toMatchObject({ code: "STATEMENT_TIMEOUT", exitCode: 1 });
    expect(error.message).toBe(
      `a statement ran longer than statement_timeout = 300ms, set on database '${name()}' (not SEED_STATEMENT_TIMEOUT), and was cancelled; the transaction was rolled back, the database is as it was. Raise it there, or remove it: ALTER DATABASE "${name()}" RESET statement_timeout`,
    );
    expect(await snapshot(db)).toEqual(before);
  });

  it("a database-level lock_timeout", async () => {
    await query(db, `ALTER DATABASE "${name()}" SET lock_timeout = '200ms'`);
    const release = await holdUsers();
    try {
      const error = await seedDatabase({ databaseUrl: db.url, profile: "minimal" }).catch((e) => e);
      expect(error).toMatchObject({ code: "TABLE_LOCKED", exitCode: 1 });
      expect(error.message).toBe(
        `table users is locked by another session and lock_timeout = 200ms, set on database '${name()}' (not SEED_LOCK_TIMEOUT), ran out: finish or close that session, or remove the setting: ALTER DATABASE "${name()}" RESET lock_timeout. Nothing was changed`,
      );
    } finally {
      await release();
    }
  });

  it("a database-level default_transaction_read_only", async () => {
    await query(db, `ALTER DATABASE "${name()}" SET default_transaction_read_only = on`);
    const before = await snapshot(db);
    const error = await seedDatabase({ databaseUrl: db.url, profile: "minimal" }).catch((e) => e);
    expect(error.message).toBe(
      `the database is read-only for this user: default_transaction_read_only = on, set on database '${name()}'. Nothing was changed. Turn it off (ALTER DATABASE "${name()}" RESET default_transaction_read_only), or point DATABASE_URL at a writable database`,
    );
    expect(await snapshot(db)).toEqual(before);
  });

  it("the seed's own SEED_STATEMENT_TIMEOUT, when it is the stricter one, is still named as such", async () => {
    await query(db, slowUsers);
    await query(db, `ALTER DATABASE "${name()}" SET statement_timeout = '60s'`);
    const error = await seedDatabase({ databaseUrl: db.url, profile: "minimal", statementTimeoutMs: 300 }).catch(
      (e) => e,
    );
    expect(error).toMatchObject({ code: "STATEMENT_TIMEOUT" });
    expect(error.message).toMatch(/^a statement ran longer than SEED_STATEMENT_TIMEOUT allows/);
  });
});

describe(".env mistakes are named by file and line", () => {
  const withDotEnv = (text: string) => {
    const dir = mkdtempSync(join(tmpdir(), "dotenv-"));
    writeFileSync(join(dir, ".env"), text);
    return dir;
  };

  it("an unterminated quote", async () => {
    const run = await cli(
      ["seed"],
      {},
      withDotEnv(`DATABASE_URL="postgresql://postgres@127.0.0.1:5432/x\nPGPORT=5432\n`),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `error: .env line 1: the value of DATABASE_URL opens a quote (") that is never closed: close it at the end of the value, or remove it\n`,
    );
  });

  it("a line that is not NAME=value, and a quoted value over several lines is fine", async () => {
    const run = await cli(["seed"], {}, withDotEnv(`# comment\nNOTE="two\nlines"\nDATABASE_URL postgresql://x@y/z\n`));
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      `error: .env line 4 is not NAME=value ('DATABASE_URL postgresql://x@y/z'): fix it, or comment it out with #\n`,
    );
  });
});
