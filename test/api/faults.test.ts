import { spawn } from "node:child_process";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { APPLICATION_NAME } from "../../src/db/connection.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { connect, createPrisma } from "../../src/db/connection.ts";
import { createEventLog, silentSink } from "../../src/core/log.ts";
import { buildPlan } from "../../src/plan/plan.ts";
import { writeWithPrisma } from "../../src/write/prismaWriter.ts";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

const db = useTestDatabase("faults");
let before: Awaited<ReturnType<typeof snapshot>>;

/** The seed's backend once it is inside the (slowed) insert into reactions: mid-write. */
async function midWriteBackend(statement = "%reactions%"): Promise<number> {
  for (let i = 0; i < 300; i++) {
    const rows = await query<{ pid: number }>(
      db,
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND state = 'active' AND query ILIKE $3`,
      [db.database, APPLICATION_NAME, statement],
    );
    if (rows[0]) return rows[0].pid;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the seed never reached the insert into reactions");
}

async function noSeedBackend(): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const rows = await query(db, `SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`, [
      db.database,
      APPLICATION_NAME,
    ]);
    if (rows.length === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the seed's connection is still open");
}

function cli(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/cli.ts", ...args], {
    env: { PATH: process.env.PATH, DATABASE_URL: db.url },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  // How the process ended: its exit code, or the signal that ended it (then code is null).
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exit, stderr: () => stderr };
}

beforeAll(async () => {
  await query(
    db,
    `INSERT INTO users (id, auth0_id, email, username, full_name) VALUES ('01JZZZZZZZZZZZZZZZZZZZZZZZ', 'auth0|dddddddddddddddddddddddd', 'old@example.com', 'oldrow', 'Pre-existing Row')`,
  );
});
beforeEach(async () => {
  // Holds every insert into reactions for 2 s: users, channels, members and messages are
  // written by then, inside the seed's transaction.
  await query(
    db,
    `CREATE FUNCTION slow_insert() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(2); RETURN NULL; END $$ LANGUAGE plpgsql`,
  );
  await query(
    db,
    `CREATE TRIGGER slow_reactions BEFORE INSERT ON reactions FOR EACH STATEMENT EXECUTE FUNCTION slow_insert()`,
  );
  before = await snapshot(db);
});
afterEach(async () => {
  await noSeedBackend();
  await query(db, `DROP TRIGGER IF EXISTS slow_reactions ON reactions; DROP FUNCTION IF EXISTS slow_insert()`);
  expect(await snapshot(db)).toEqual(before);
  expect(await query(db, `SELECT username FROM users WHERE id = '01JZZZZZZZZZZZZZZZZZZZZZZZ'`)).toEqual([
    { username: "oldrow" },
  ]);
});

describe("faults mid-write leave the database exactly as before, pre-existing rows included", () => {
  it("the server terminates the seeding connection", async () => {
    const run = seedDatabase({ env: {}, databaseUrl: db.url, profile: "dev", seed: 77 }).catch((e: unknown) => e);
    const pid = await midWriteBackend();
    await query(db, `SELECT pg_terminate_backend($1)`, [pid]);
    const error = await run;
    expect(error).toMatchObject({
      code: "CONNECTION_LOST",
      exitCode: 1,
      message: expect.stringMatching(/connection to PostgreSQL was lost mid-seed.*database is as it was/),
    });
  });

  it("the process is killed with SIGKILL", async () => {
    const { child, exit } = cli(["seed", "--seed", "78"]);
    await midWriteBackend();
    child.kill("SIGKILL");
    expect(await exit).toEqual({ code: null, signal: "SIGKILL" });
  });

  it("SIGINT (Ctrl-C): cancels the running statement, rolls back, says so, exits 130", async () => {
    // A statement that would run for a minute: Ctrl-C must not wait for it.
    await query(
      db,
      `CREATE OR REPLACE FUNCTION slow_insert() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$ LANGUAGE plpgsql`,
    );
    const { child, exit, stderr } = cli(["seed", "--seed", "79"]);
    await midWriteBackend();
    const interrupted = Date.now();
    child.kill("SIGINT");
    expect(await exit).toEqual({ code: 130, signal: null });
    expect(Date.now() - interrupted).toBeLessThan(15_000);
    expect(stderr()).toMatch(
      /^error: interrupted by SIGINT: the transaction was rolled back, the database is as it was\n$/,
    );
  });

  it("an abort (as Ctrl-C gives) on the Prisma path cancels the running statement and rolls back", async () => {
    await query(
      db,
      `CREATE OR REPLACE FUNCTION slow_insert() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$ LANGUAGE plpgsql`,
    );
    const controller = new AbortController();
    const run = seedDatabase({
      env: {},
      databaseUrl: db.url,
      profile: "dev",
      seed: 81,
      method: "prisma",
      signal: controller.signal,
    }).catch((e: unknown) => e);
    await midWriteBackend();
    const interrupted = Date.now();
    controller.abort("SIGINT");
    expect(await run).toMatchObject({
      code: "INTERRUPTED_SIGINT",
      exitCode: 130,
      message: expect.stringMatching(/rolled back, the database is as it was/),
    });
    expect(Date.now() - interrupted).toBeLessThan(15_000);
  });

  it("a lost cancel (its connection refused, or landing between two statements) is sent again until the statement stops", async () => {
    await query(
      db,
      `CREATE OR REPLACE FUNCTION slow_insert() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$ LANGUAGE plpgsql`,
    );
    const prisma = await createPrisma(db);
    const canceller = await connect(db);
    const attempts: string[] = [];
    try {
      const controller = new AbortController();
      const run = writeWithPrisma(prisma, buildPlan({ profile: "dev", seed: 82 }).rows, createEventLog(silentSink), {
        signal: controller.signal,
        cancel: async (pid) => {
          // The first attempt is lost, as when a busy server refuses its connection.
          if (attempts.push("sent") === 1) throw new Error("sorry, too many clients already");
          await canceller.query(`SELECT pg_cancel_backend($1)`, [pid]);
        },
      }).catch((e: unknown) => e);
      // Inside the slowed insert itself (not the cleanup's DELETE): only a cancel can end it.
      await midWriteBackend("%INSERT INTO%reactions%");
      const interrupted = Date.now();
      controller.abort("SIGINT");
      expect(await run).toMatchObject({ code: "INTERRUPTED_SIGINT", exitCode: 130 });
      expect(Date.now() - interrupted).toBeLessThan(15_000);
      expect(attempts.length).toBeGreaterThanOrEqual(2);
    } finally {
      await prisma.$disconnect();
      await canceller.end();
    }
  });

  it("SIGTERM: rolls back, says so, exits 143", async () => {
    const { child, exit, stderr } = cli(["seed", "--seed", "80"]);
    await midWriteBackend();
    child.kill("SIGTERM");
    expect(await exit).toEqual({ code: 143, signal: null });
    expect(stderr()).toMatch(/interrupted by SIGTERM: the transaction was rolled back/);
  });
});
