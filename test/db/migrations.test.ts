import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

// `db:migrate` with a migration that fails part-way, run as a user runs it: the command of a
// checkout whose prisma/migrations holds one more migration (a copy of this checkout, so the
// other test files keep the real migrations).
const db = useTestDatabase("migrations");
let checkout: string;

beforeAll(() => {
  const root = resolve(".");
  checkout = mkdtempSync(join(tmpdir(), "migrations-checkout-"));
  for (const part of ["src", "bin", "scripts", "prisma", "package.json"])
    cpSync(join(root, part), join(checkout, part), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(checkout, "node_modules"));
  const broken = join(checkout, "prisma", "migrations", "20991231000000_half_done");
  mkdirSync(broken);
  // Creates a table, adds a column and fills it, then fails: all of it must be undone.
  writeFileSync(
    join(broken, "migration.sql"),
    `CREATE TABLE "half_done" ("id" INTEGER);\nALTER TABLE "users" ADD COLUMN "nickname" TEXT;\nUPDATE "users" SET "nickname" = 'x';\nSELECT 1 / 0;\n`,
  );
});

/** The schema as the catalog describes it: every column of every table in public. */
const columns = () =>
  query(
    db,
    `SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2`,
  );

describe("db:migrate", () => {
  it("rolls back a migration that fails part-way: one line, exit 1, schema, rows and history as before", async () => {
    const rows = await snapshot(db);
    const schema = await columns();
    const history = await query(
      db,
      `SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name`,
    );
    const run = spawnSync(process.execPath, ["bin/chatgenius-seed.mjs", "migrate"], {
      cwd: checkout,
      encoding: "utf8",
      timeout: 120_000,
      env: { PATH: process.env.PATH, DATABASE_URL: db.url },
    });
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(
        /^error: migration 20991231000000_half_done failed and was rolled back: division by zero\. Fix its migration\.sql or run 'npm run db:reset'$/,
      ),
    ]);
    expect(await query(db, `SELECT to_regclass('public.half_done') AS t`)).toEqual([{ t: null }]);
    expect(await columns()).toEqual(schema);
    expect(await snapshot(db)).toEqual(rows);
    expect(
      await query(db, `SELECT migration_name, checksum, finished_at FROM _prisma_migrations ORDER BY migration_name`),
    ).toEqual(history);
  });
});
