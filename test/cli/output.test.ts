import pg from "pg";
import { describe, expect, it } from "vitest";
import { cli } from "../helpers/cli.ts";
import { query, useTestDatabase } from "../helpers/db.ts";
import { TABLES } from "../../src/core/datamodel.ts";
import { estimateRows } from "../../src/plan/plan.ts";

/** What the minimal profile writes: the canonical rows, into every seeded table (the schema's). */
const MINIMAL_ROWS = estimateRows({ profile: "minimal" });

const db = useTestDatabase("output");

describe("what a person sees", () => {
  it("is quiet by default when not a terminal: the start, a plain line per phase, then the summary once", async () => {
    const run = await cli(["seed", "--profile", "minimal"], { DATABASE_URL: db.url });
    expect(run.code).toBe(0);
    expect(run.stderr).toBe("");
    const lines = run.stdout.split("\n");
    expect(lines[0]).toMatch(/^◐ seed postgresql:\/\/.* \(profile minimal, seed 20250106, scale 1\)$/);
    expect(run.stdout).toMatch(new RegExp(`^ℹ cleanup: ${TABLES.length} tables emptied, [\\d,]+ rows removed$`, "m"));
    expect(lines).toContain(`ℹ write: ${MINIMAL_ROWS} rows into ${TABLES.length} tables`);
    expect(run.stdout).not.toMatch(/cleanup users|insert users|transaction committed|done in/);
    expect(lines.filter((line) => line.startsWith("Seeded: "))).toHaveLength(1);
    expect(run.stdout).not.toContain("\r");
  });

  it("shows each table's cleanup and insert lines and the transaction's steps with --verbose", async () => {
    // Whatever this file's earlier tests left (the template's dev rows, or a minimal seed): read, not assumed.
    const [row] = await query<{ n: number }>(db, `SELECT count(*)::int AS n FROM users`);
    const run = await cli(["seed", "--profile", "minimal", "--verbose"], { DATABASE_URL: db.url });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`\n⚙ cleanup users: ${row!.n} rows removed\n`);
    expect(run.stdout).toMatch(/^⚙ insert users: 3 rows in \d+ ms$/m);
    expect(run.stdout).toMatch(/^⚙ transaction committed$/m);
  });

  it("draws one live line on a terminal instead of a line per phase, and clears it before the summary", async () => {
    const run = await cli(["seed", "--profile", "minimal"], { DATABASE_URL: db.url }, undefined, { tty: true });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      new RegExp(`\r\x1b\\[2K◐ cleanup: ${TABLES.length} tables emptied, [\\d,]+ rows removed`),
    );
    expect(run.stdout).toContain(`\r\x1b[2K◐ write: ${MINIMAL_ROWS} rows into ${TABLES.length} tables`);
    expect(run.stdout).not.toMatch(/^ℹ (cleanup|write):/m);
    expect(run.stdout).toMatch(/\r\x1b\[2KSeeded: /);
  });

  it("still shows warnings, on stderr: a run waiting for another one's lock", async () => {
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query("SELECT pg_advisory_lock(1936024932, 1)");
      const run = await cli(["seed", "--profile", "minimal"], { DATABASE_URL: db.url, SEED_LOCK_WAIT: "0.5" });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^⚠ waiting for another seed or reset of this database \(pid \d+/m);
      expect(run.stderr).toMatch(/^error: another seed or reset of this database is still running/m);
    } finally {
      await holder.end();
    }
  });
});
