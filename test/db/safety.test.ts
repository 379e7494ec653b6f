import pg from "pg";
import { describe, expect, it } from "vitest";
import { ALL_TABLES } from "../../src/core/datamodel.ts";
import { databaseEnvironment, METADATA_SCHEMA } from "../../src/db/guard.ts";
import type { SeedLogEvent } from "../../src/core/log.ts";
import { migrateDatabase, resetDatabase } from "../../src/api/reset.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { query, snapshot, useTestDatabase, createTestDatabase, dropTestDatabase } from "../helpers/db.ts";

const db = useTestDatabase("safety");
const seed = (options: Parameters<typeof seedDatabase>[0] = {}) =>
  seedDatabase({ env: {}, databaseUrl: db.url, ...options });

async function hold<T>(sql: string, fn: () => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query(sql);
    return await fn();
  } finally {
    await client.end();
  }
}

describe("the database's own environment marker", () => {
  it("is recorded by migrate and reset, from APP_ENV/NODE_ENV, outside Prisma's schema", async () => {
    const fresh = await createTestDatabase("safety_marker", { empty: true });
    try {
      expect((await migrateDatabase({ env: {}, databaseUrl: fresh.url })).environment).toBe("development");
      await resetDatabase({ env: { APP_ENV: "test" }, databaseUrl: fresh.url, profile: "minimal" });
      const client = new pg.Client({ connectionString: fresh.url });
      await client.connect();
      expect(await databaseEnvironment(client)).toBe("test");
      await client.end();
      // Prisma diffs schema `public`: it holds exactly the schema's tables and Prisma's history.
      const publicTables = await query<{ t: string }>(
        fresh,
        `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`,
      );
      expect(publicTables.map((r) => r.t)).toEqual(["_prisma_migrations", ...ALL_TABLES.map((t) => t.name)].sort());
      expect(
        await query(fresh, `SELECT value FROM "${METADATA_SCHEMA}".internal_metadata WHERE key = 'environment'`),
      ).toEqual([{ value: "test" }]);
    } finally {
      await dropTestDatabase(fresh);
    }
  });

  it("refuses seed, reset and a downgrading migrate on a database marked production, changing nothing", async () => {
    await migrateDatabase({ env: { APP_ENV: "production" }, databaseUrl: db.url });
    try {
      const before = await snapshot(db);
      await expect(seed({ env: { NODE_ENV: "development" } })).rejects.toMatchObject({
        code: "PRODUCTION_REFUSED",
        exitCode: 3,
        message: expect.stringMatching(/marked as a production database/),
      });
      await expect(resetDatabase({ env: {}, databaseUrl: db.url })).rejects.toMatchObject({
        code: "PRODUCTION_REFUSED",
        exitCode: 3,
      });
      await expect(migrateDatabase({ env: {}, databaseUrl: db.url })).rejects.toMatchObject({
        code: "PRODUCTION_REFUSED",
        message: expect.stringMatching(/refusing to migrate/),
      });
      expect(await snapshot(db)).toEqual(before);
      expect(await query(db, `SELECT count(*)::int AS n FROM users`)).not.toEqual([{ n: 0 }]);
    } finally {
      await query(db, `UPDATE "${METADATA_SCHEMA}".internal_metadata SET value = 'test' WHERE key = 'environment'`);
    }
  });
});

describe("a remote host", () => {
  it("is refused before anything is contacted unless the user opts in", async () => {
    const remote = "postgresql://app:pw@db.prod.example.com:5432/chatgenius";
    await expect(seedDatabase({ env: { DATABASE_URL: remote } })).rejects.toMatchObject({
      code: "REMOTE_REFUSED",
      exitCode: 3,
    });
    await expect(resetDatabase({ env: { DATABASE_URL: remote } })).rejects.toMatchObject({ code: "REMOTE_REFUSED" });
    await expect(migrateDatabase({ env: { DATABASE_URL: remote } })).rejects.toMatchObject({ code: "REMOTE_REFUSED" });
    // Opted in, it goes on to connect: here the name does not resolve.
    await expect(seedDatabase({ env: { DATABASE_URL: remote, SEED_ALLOW_REMOTE: "1" } })).rejects.toMatchObject({
      code: "DATABASE_UNREACHABLE",
    });
    await expect(seedDatabase({ env: { DATABASE_URL: remote }, allowRemote: true })).rejects.toMatchObject({
      code: "DATABASE_UNREACHABLE",
    });
  });

  it("does not include loopback addresses or Unix sockets", async () => {
    const url = new URL(db.url);
    for (const host of ["127.0.0.1", "localhost"]) {
      url.hostname = host;
      await expect(
        seedDatabase({ env: { DATABASE_URL: url.toString() }, profile: "minimal", dryRun: true }),
      ).resolves.toMatchObject({ dryRun: true });
    }
    await expect(
      seedDatabase({
        env: {
          PGHOST: process.env.TEST_SOCKET_DIR ?? "/var/run/postgresql",
          PGPORT: new URL(db.url).port || "5432",
          PGDATABASE: db.database,
        },
        profile: "minimal",
        dryRun: true,
      }),
    ).resolves.toMatchObject({ dryRun: true });
  });
});

describe("concurrency and timeouts", () => {
  it("makes a second run wait for the seed lock, report it, and fail clearly when still blocked", async () => {
    const before = await snapshot(db);
    const events: SeedLogEvent[] = [];
    const started = Date.now();
    await hold(`SELECT pg_advisory_lock(1936024932, 1)`, async () => {
      await expect(seed({ lockWaitMs: 700, sink: (e) => events.push(e) })).rejects.toMatchObject({
        code: "SEED_BUSY",
        exitCode: 1,
        message: expect.stringMatching(
          /another seed or reset of this database is still running \(pid \d+.*SEED_LOCK_WAIT/,
        ),
      });
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          operation: "start",
          details: expect.objectContaining({
            step: "lock",
            action: "waiting",
            holder: expect.stringMatching(/^pid \d+/),
          }),
        }),
      ]),
    );
    expect(await snapshot(db)).toEqual(before);
  });

  it("makes a reset wait for the seed lock too, and fail clearly when still blocked, changing nothing", async () => {
    const before = await snapshot(db);
    await hold(`SELECT pg_advisory_lock(1936024932, 1)`, async () => {
      await expect(
        resetDatabase({ env: {}, databaseUrl: db.url, profile: "minimal", lockWaitMs: 300 }),
      ).rejects.toMatchObject({
        code: "SEED_BUSY",
        exitCode: 1,
        message: expect.stringMatching(/another seed or reset of this database is still running/),
      });
    });
    expect(await snapshot(db)).toEqual(before);
  });

  it("stops waiting for the seed lock at Ctrl-C, with the interruption's code and line", async () => {
    const before = await snapshot(db);
    const controller = new AbortController();
    await hold(`SELECT pg_advisory_lock(1936024932, 1)`, async () => {
      setTimeout(() => controller.abort("SIGINT"), 300);
      const started = Date.now();
      await expect(seed({ lockWaitMs: 60_000, signal: controller.signal })).rejects.toMatchObject({
        code: "INTERRUPTED_SIGINT",
        exitCode: 130,
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    });
    expect(await snapshot(db)).toEqual(before);
  });

  it("serializes eight parallel runs: no deadlock, and the state of one run", async () => {
    await seed({ profile: "dev", seed: 4 });
    const one = await snapshot(db);
    await seed({ profile: "minimal" });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        i % 4 === 3
          ? resetDatabase({ env: {}, databaseUrl: db.url, profile: "dev", seed: 4, lockWaitMs: 120_000 })
          : seed({ profile: "dev", seed: 4, lockWaitMs: 120_000 }),
      ),
    );
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    expect(await snapshot(db)).toEqual(one);
  });

  it("names a table another session holds, within the lock timeout, instead of hanging", async () => {
    const before = await snapshot(db);
    const started = Date.now();
    await hold(`BEGIN; LOCK TABLE reactions IN ACCESS SHARE MODE`, async () => {
      await expect(seed({ lockTimeoutMs: 500 })).rejects.toMatchObject({
        code: "TABLE_LOCKED",
        exitCode: 1,
        message: expect.stringMatching(/^table reactions is locked by another session/),
      });
    });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await snapshot(db)).toEqual(before);
  });

  it("cancels a statement that runs past the statement timeout and rolls back", async () => {
    const before = await snapshot(db);
    await query(
      db,
      `CREATE FUNCTION slow_insert() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(3); RETURN NULL; END $$ LANGUAGE plpgsql`,
    );
    await query(
      db,
      `CREATE TRIGGER slow_users BEFORE INSERT ON users FOR EACH STATEMENT EXECUTE FUNCTION slow_insert()`,
    );
    try {
      await expect(seed({ statementTimeoutMs: 500 })).rejects.toMatchObject({
        code: "STATEMENT_TIMEOUT",
        message: expect.stringMatching(/SEED_STATEMENT_TIMEOUT/),
      });
    } finally {
      await query(db, `DROP TRIGGER slow_users ON users; DROP FUNCTION slow_insert()`);
    }
    expect(await snapshot(db)).toEqual(before);
  });
});
