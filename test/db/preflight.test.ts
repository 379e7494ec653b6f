import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, readMigrations } from "../../src/db/migrations.ts";
import { migrateDatabase } from "../../src/api/reset.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { query, snapshot, useTestDatabase, createTestDatabase, dropTestDatabase } from "../helpers/db.ts";

const db = useTestDatabase("preflight");
const seed = (options: Parameters<typeof seedDatabase>[0] = {}) =>
  seedDatabase({ env: {}, databaseUrl: db.url, profile: "minimal", ...options });

describe("checks before any write", () => {
  it("names unapplied migrations and says to run db:migrate, writing nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "migrations-"));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    mkdirSync(join(dir, "20991231000000_add_pins"));
    writeFileSync(
      join(dir, "20991231000000_add_pins", "migration.sql"),
      `CREATE TABLE pins (id VARCHAR(26) PRIMARY KEY);\n`,
    );
    const before = await snapshot(db);
    await expect(seed({ migrationsDir: dir })).rejects.toMatchObject({
      code: "PENDING_MIGRATIONS",
      exitCode: 2,
      message: expect.stringMatching(/1 migration\(s\) not applied .*20991231000000_add_pins.*npm run db:migrate/),
    });
    expect(await snapshot(db)).toEqual(before);
  });

  it("applies pending migrations in order and records them as Prisma Migrate does", async () => {
    const fresh = await createTestDatabase("preflight_migrate", { empty: true });
    try {
      const first = await migrateDatabase({ env: {}, databaseUrl: fresh.url });
      expect(first.applied).toEqual(readMigrations().map((m) => m.name));
      const second = await migrateDatabase({ env: {}, databaseUrl: fresh.url });
      expect(second.applied).toEqual([]);
      const rows = await query(
        fresh,
        `SELECT migration_name, checksum, finished_at IS NOT NULL AS finished, rolled_back_at, logs, applied_steps_count, length(id) AS id_length FROM _prisma_migrations`,
      );
      expect(rows).toEqual(
        readMigrations().map((m) => ({
          migration_name: m.name,
          checksum: m.checksum,
          finished: true,
          rolled_back_at: null,
          logs: null,
          applied_steps_count: 1,
          id_length: 36,
        })),
      );
      expect(readMigrations()[0]!.checksum).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      await dropTestDatabase(fresh);
    }
  });

  it("creates the database when it does not exist", async () => {
    const fresh = await createTestDatabase("preflight_create", { empty: true });
    await dropTestDatabase(fresh);
    try {
      const result = await migrateDatabase({ env: {}, databaseUrl: fresh.url });
      expect(result.createdDatabase).toBe(true);
      expect(await query(fresh, `SELECT count(*)::int AS n FROM users`)).toEqual([{ n: 0 }]);
    } finally {
      await dropTestDatabase(fresh);
    }
  });

  it("detects a migration recorded as failed", async () => {
    await query(db, `UPDATE _prisma_migrations SET finished_at = NULL`);
    try {
      await expect(seed()).rejects.toMatchObject({
        code: "PENDING_MIGRATIONS",
        message: expect.stringMatching(/failed part-way.*db:reset/),
      });
    } finally {
      await query(db, `UPDATE _prisma_migrations SET finished_at = now()`);
    }
  });

  it("names a column missing from the live database", async () => {
    await query(db, `ALTER TABLE user_status RENAME COLUMN status_emoji TO emoji_old`);
    try {
      const before = await snapshot(db);
      await expect(seed()).rejects.toMatchObject({
        code: "SCHEMA_MISMATCH",
        exitCode: 2,
        message: expect.stringMatching(/column user_status\.status_emoji is missing.*npm run db:reset/),
      });
      expect(await snapshot(db)).toEqual(before);
    } finally {
      await query(db, `ALTER TABLE user_status RENAME COLUMN emoji_old TO status_emoji`);
    }
  });

  it("names a column whose type is too narrow for the fixtures", async () => {
    // As narrow as the rows already there allow, so that the ALTER itself succeeds.
    const [{ n }] = (await query<{ n: number }>(db, `SELECT max(length(username))::int AS n FROM users`)) as [
      { n: number },
    ];
    await query(db, `ALTER TABLE users ALTER COLUMN username TYPE VARCHAR(${n})`);
    try {
      await expect(seed()).rejects.toMatchObject({
        code: "SCHEMA_MISMATCH",
        message: expect.stringContaining(`column users.username is varchar(${n}), expected varchar(50)`),
      });
    } finally {
      await query(db, `ALTER TABLE users ALTER COLUMN username TYPE VARCHAR(50)`);
    }
  });

  it("refuses production before connecting to anything", async () => {
    for (const env of [{ NODE_ENV: "production" }, { APP_ENV: "Production" }]) {
      await expect(
        seedDatabase({ env: { ...env, DATABASE_URL: "postgresql://nobody@127.0.0.1:1/none" } }),
      ).rejects.toMatchObject({ code: "PRODUCTION_REFUSED", exitCode: 3 });
    }
  });
});
