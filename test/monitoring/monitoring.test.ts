import { describe, expect, it } from "vitest";
import { runStatistics } from "../../src/monitoring/report.ts";
import { reportDatabase } from "../../src/api/report.ts";
import { resetDatabase } from "../../src/api/reset.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { verifyDatabase } from "../../src/api/verify.ts";
import { formatReport, sparkline } from "../../src/cli/summary.ts";
import { cli } from "../helpers/cli.ts";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

const db = useTestDatabase("monitoring");
const seed = (options: Parameters<typeof seedDatabase>[0] = {}) =>
  seedDatabase({ env: {}, databaseUrl: db.url, ...options });
const verify = (options: Parameters<typeof verifyDatabase>[0] = {}) =>
  verifyDatabase({ env: {}, databaseUrl: db.url, ...options });
const runs = () =>
  query<Record<string, unknown>>(
    db,
    `SELECT command, status, profile, seed::int AS seed, scale, method, rows_per_table, fingerprints IS NOT NULL AS fingerprinted, error_code, error_message, duration_ms FROM seed_runs ORDER BY started_at, id`,
  );

/**
 * A known history, whatever ran before: a successful minimal seed, a dev seed that fails mid-
 * insert (and is rolled back: the tables stay as the first seed left them), a minimal reset.
 */
async function recordSuccessFailureReset(): Promise<void> {
  await query(db, `DELETE FROM seed_runs`);
  await seed({ profile: "minimal" });
  const before = await snapshot(db);
  await query(
    db,
    `CREATE FUNCTION fail_insert() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql`,
  );
  await query(
    db,
    `CREATE TRIGGER fail_messages BEFORE INSERT ON messages FOR EACH STATEMENT EXECUTE FUNCTION fail_insert()`,
  );
  try {
    await expect(seed({ profile: "dev", seed: 3 })).rejects.toMatchObject({ code: "SEED_FAILED" });
  } finally {
    await query(db, `DROP TRIGGER fail_messages ON messages; DROP FUNCTION fail_insert()`);
  }
  expect(await snapshot(db)).toEqual(before);
  await resetDatabase({ env: {}, databaseUrl: db.url, profile: "minimal" });
}

describe("run history", () => {
  it("records a successful seed with its rows per table and fingerprints", async () => {
    await query(db, `DELETE FROM seed_runs`);
    const summary = await seed({ profile: "dev", seed: 12 });
    const [run] = await runs();
    expect(run).toMatchObject({
      command: "seed",
      status: "success",
      profile: "dev",
      seed: 12,
      scale: 1,
      method: "copy",
      fingerprinted: true,
      error_code: null,
      error_message: null,
    });
    expect(run!.rows_per_table).toEqual(Object.fromEntries(summary.tables.map((t) => [t.table, t.rows])));
    expect(run!.duration_ms).toBeGreaterThan(0);
  });

  it("records a failed run after its rollback, and the cleanup never removes history", async () => {
    await recordSuccessFailureReset();
    expect((await runs()).map((r) => [r.command, r.status, r.profile, r.error_code])).toEqual([
      ["seed", "success", "minimal", null],
      ["seed", "failed", "dev", "SEED_FAILED"],
      ["reset", "success", "minimal", null],
    ]);
    expect((await runs())[1]!.error_message).toMatch(/rolled back.*injected failure/);
  });
});

describe("db:report", () => {
  it("computes success rate, error frequency, mean and p95 over a known series", () => {
    const series = [
      ...[100, 200, 300, 400, 1000].map((durationMs) => ({
        status: "success",
        profile: "dev",
        scale: 1,
        method: "copy",
        durationMs,
        errorCode: null,
      })),
      { status: "success", profile: "minimal", durationMs: 40, errorCode: null },
      { status: "success", profile: "dev", scale: 1000, method: "prisma", durationMs: 111_000, errorCode: null },
      { status: "success", profile: "dev", scale: 1000, method: "copy", durationMs: 8_000, errorCode: null },
      { status: "failed", profile: "dev", durationMs: 5, errorCode: "SEED_FAILED" },
      { status: "failed", profile: "dev", durationMs: 5, errorCode: "TABLE_LOCKED" },
      { status: "failed", profile: "dev", durationMs: 5, errorCode: "SEED_FAILED" },
      { status: "failed", profile: "minimal", durationMs: 5, errorCode: "SEED_BUSY" },
    ];
    const stats = runStatistics(series);
    expect(stats.successRate).toEqual({ runs: 12, succeeded: 8, failed: 4, rate: 8 / 12 });
    expect(stats.errors).toEqual([
      { code: "SEED_FAILED", count: 2, frequency: 2 / 12 },
      { code: "SEED_BUSY", count: 1, frequency: 1 / 12 },
      { code: "TABLE_LOCKED", count: 1, frequency: 1 / 12 },
    ]);
    // Runs are newest first: the trend lists each group's durations oldest first.
    expect(stats.durations).toEqual([
      {
        profile: "dev",
        scale: 1,
        methods: ["copy"],
        runs: 5,
        meanMs: 400,
        p95Ms: 1000,
        trend: [1000, 400, 300, 200, 100],
      },
      { profile: "minimal", scale: 1, methods: [], runs: 1, meanMs: 40, p95Ms: 40, trend: [40] },
      {
        profile: "dev",
        scale: 1000,
        methods: ["copy", "prisma"],
        runs: 2,
        meanMs: 59_500,
        p95Ms: 111_000,
        trend: [8_000, 111_000],
      },
    ]);
  });

  it("draws each group's trend as a sparkline, and shows each run's method and scale", () => {
    expect(sparkline([100, 200, 300, 400, 1000])).toBe("▁▂▃▃█");
    expect(sparkline([5, 5, 5])).toBe("▄▄▄");
    expect(sparkline([])).toBe("");
    const text = formatReport({
      target: "postgresql://postgres@localhost/x",
      runs: [
        {
          id: "1",
          command: "seed",
          status: "success",
          profile: "dev",
          seed: 1,
          scale: 1000,
          method: "copy",
          startedAt: "2026-12-01T00:00:00.000Z",
          durationMs: 8000,
          totalRows: 2_000_000,
          errorCode: null,
          errorMessage: null,
        },
      ],
      ...runStatistics([
        { status: "success", profile: "dev", scale: 1000, method: "copy", durationMs: 8000, errorCode: null },
        { status: "success", profile: "dev", scale: 1000, method: "copy", durationMs: 9000, errorCode: null },
      ]),
      rowCounts: [],
      integrity: [],
      constraints: [],
    });
    expect(text).toMatch(/^\s+2026-12-01T00:00:00.000Z\s+seed\s+success\s+dev\s+1\s+1000\s+copy\s+8000\s+2000000$/m);
    expect(text).toMatch(/^\s+dev\s+1000\s+copy\s+2\s+8500\s+9000\s+█▁$/m);
  });

  it("reports the recorded runs, row counts, every integrity check and the constraints", async () => {
    await recordSuccessFailureReset();
    const report = await reportDatabase({ env: {}, databaseUrl: db.url, last: 3 });
    expect(report.runs.map((r) => r.status)).toEqual(["success", "failed", "success"]);
    expect(report.successRate).toMatchObject({ runs: 3, succeeded: 2, failed: 1 });
    expect(report.errors).toEqual([{ code: "SEED_FAILED", count: 1, frequency: 1 / 3 }]);
    expect(report.rowCounts.find((c) => c.table === "users")).toEqual({ table: "users", rows: 3 });
    expect(report.integrity.every((c) => c.status === "pass")).toBe(true);
    expect(report.constraints.length).toBeGreaterThan(15);
    expect(report.constraints.every((c) => c.status === "pass")).toBe(true);
  });

  it("names broken rules and missing constraints with examples", async () => {
    await seed({ profile: "dev" });
    await query(db, `ALTER TABLE reactions DROP CONSTRAINT reactions_user_id_fkey`);
    try {
      await query(
        db,
        `UPDATE reactions SET user_id = '01JZZZZZZZZZZZZZZZZZZZZZZZ' WHERE id = (SELECT min(id) FROM reactions)`,
      );
      const report = await reportDatabase({ env: {}, databaseUrl: db.url });
      expect(report.integrity.filter((c) => c.status === "fail").map((c) => c.id)).toEqual([
        "no-orphans:reactions.user_id",
      ]);
      expect(report.constraints.filter((c) => c.status !== "pass")).toEqual([
        { table: "reactions", kind: "foreign key", columns: ["user_id"], name: null, status: "missing" },
      ]);
      const run = await cli(["report"], { DATABASE_URL: db.url });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/FAIL no-orphans:reactions\.user_id: 1 rows, e\.g\. \w{26}/);
      expect(run.stdout).toMatch(/MISSING foreign key reactions\(user_id\)/);
    } finally {
      await query(db, `DELETE FROM reactions WHERE user_id = '01JZZZZZZZZZZZZZZZZZZZZZZZ'`);
      await query(
        db,
        `ALTER TABLE reactions ADD CONSTRAINT reactions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id) ON UPDATE CASCADE ON DELETE CASCADE`,
      );
    }
  });

  it("shows on a terminal every run, rate, error, duration, row count and check total the JSON holds", async () => {
    await recordSuccessFailureReset();
    const json = await cli(["report", "--json", "--last", "5"], { DATABASE_URL: db.url });
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout);
    expect(Object.keys(report).sort()).toEqual([
      "constraints",
      "durations",
      "errors",
      "integrity",
      "rowCounts",
      "runs",
      "successRate",
      "target",
    ]);
    expect(report.runs).toHaveLength(3);
    const terminal = await cli(["report", "--last", "5"], { DATABASE_URL: db.url });
    expect(terminal.code).toBe(0);
    const lines = terminal.stdout.split("\n").map((l) => l.trim().split(/\s+/).join(" "));
    expect(lines).toContain(`Seed report: ${report.target}`);
    for (const r of report.runs) {
      expect(lines).toContain(
        [
          r.startedAt,
          r.command,
          r.status,
          r.profile,
          r.seed,
          r.scale,
          r.method ?? "",
          r.durationMs,
          r.totalRows,
          r.errorCode ?? "",
        ]
          .filter((v) => v !== "")
          .join(" "),
      );
    }
    const rate = report.successRate;
    expect(lines).toContain(
      `Transaction success rate: ${(rate.rate * 100).toFixed(1)}% (${rate.succeeded} of ${rate.runs}; ${rate.failed} failed)`,
    );
    for (const e of report.errors) expect(lines).toContain(`${e.code} ${e.count} ${(e.frequency * 100).toFixed(1)}%`);
    expect(report.errors).toHaveLength(1);
    for (const d of report.durations) {
      const row = lines.find((l) =>
        l.startsWith(`${d.profile} ${d.scale} ${d.methods.join(", ")} ${d.runs} ${d.meanMs} ${d.p95Ms} `),
      );
      // The trend: one bar per successful run of the group, oldest first.
      expect(row?.split(" ").at(-1)).toHaveLength(d.trend.length);
    }
    for (const c of report.rowCounts) expect(lines).toContain(`${c.table} ${c.rows}`);
    const passing = (list: { status: string }[]) => list.filter((c) => c.status === "pass").length;
    expect(lines).toContain(`Integrity: ${passing(report.integrity)}/${report.integrity.length} checks pass`);
    expect(lines).toContain(
      `Constraints: ${passing(report.constraints)}/${report.constraints.length} foreign and unique keys present and valid`,
    );
  });
});

describe("db:report --states", () => {
  it("says where each state the app has code for is: all of them on dev, the missing ones named on minimal", async () => {
    await seed({ profile: "minimal" });
    const minimal = JSON.parse((await cli(["report", "--states", "--json"], { DATABASE_URL: db.url })).stdout).states;
    expect(minimal.missing).toContain("a soft-deleted channel, with its history");
    expect(minimal.missing).toContain("channels.deleted_at set");
    const terminal = await cli(["report", "--states"], { DATABASE_URL: db.url });
    expect(terminal.code).toBe(0);
    expect(terminal.stdout).toContain(
      `State coverage: ${minimal.total - minimal.missing.length} of ${minimal.total} states, ${Math.floor(((minimal.total - minimal.missing.length) / minimal.total) * 100)}%; missing: ${minimal.missing.join(", ")}.`,
    );
    expect(terminal.stdout).toContain("| a soft-deleted channel, with its history | **missing** |");

    await seed({ profile: "dev" });
    const dev = (await reportDatabase({ env: {}, databaseUrl: db.url, states: true })).states!;
    expect(dev.missing).toEqual([]);
    expect(dev.total).toBe(minimal.total);
    const shown = (await cli(["report", "--states"], { DATABASE_URL: db.url })).stdout;
    expect(shown).toContain(`State coverage: ${dev.total} of ${dev.total} states, 100%.`);
    for (const col of dev.columns)
      expect(shown).toContain(`| \`${col.column}\` | ${col.seen.map((x) => `${x.value} ${x.rows}`).join(" · ")} |`);
    expect((await reportDatabase({ env: {}, databaseUrl: db.url })).states).toBeUndefined();
  });
});

describe("db:verify", () => {
  it("is clean right after a seed, from the recorded fingerprints and from regenerated rows", async () => {
    await seed({ profile: "dev", seed: 21 });
    const recorded = await verify({ profile: "dev", seed: 21 });
    expect(recorded).toMatchObject({ identical: true, basis: "recorded run" });
    const regenerated = await verify({ profile: "dev", seed: 21, regenerate: true });
    expect(regenerated).toMatchObject({ identical: true, basis: "regenerated" });
    expect(regenerated.tables.every((t) => t.identical && t.liveRows === t.expectedRows)).toBe(true);
    const run = await cli(["verify", "--seed", "21"], { DATABASE_URL: db.url });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Identical to the seed profile=dev seed=21 scale=1 \(recorded run\)/);
  });

  it("names an inserted, a deleted and an updated row in different tables, writing nothing", async () => {
    await seed({ profile: "dev", seed: 22 });
    const [msg] = await query<{ id: string }>(db, `SELECT id FROM messages ORDER BY id LIMIT 1 OFFSET 10`);
    const [reaction] = await query<{ id: string }>(db, `SELECT id FROM reactions ORDER BY id LIMIT 1 OFFSET 3`);
    await query(db, `UPDATE messages SET content = 'edited by hand' WHERE id = $1`, [msg!.id]);
    await query(db, `DELETE FROM reactions WHERE id = $1`, [reaction!.id]);
    await query(
      db,
      `INSERT INTO users (id, auth0_id, email, username, full_name) VALUES ('01JZZZZZZZZZZZZZZZZZZZZZZZ', 'auth0|cccccccccccccccccccccccc', 'extra@example.com', 'extra', 'Extra Row')`,
    );
    const before = await snapshot(db);
    const result = await verify({ profile: "dev", seed: 22 });
    expect(result.identical).toBe(false);
    const diff = Object.fromEntries(
      result.tables
        .filter((t) => !t.identical)
        .map((t) => [t.table, { added: t.examples.added, removed: t.examples.removed, changed: t.examples.changed }]),
    );
    expect(diff).toEqual({
      users: { added: ["01JZZZZZZZZZZZZZZZZZZZZZZZ"], removed: [], changed: [] },
      messages: { added: [], removed: [], changed: [msg!.id] },
      reactions: { added: [], removed: [reaction!.id], changed: [] },
    });
    expect(await snapshot(db)).toEqual(before);
    const run = await cli(["verify", "--seed", "22", "--json"], { DATABASE_URL: db.url });
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout).tables.find((t: { table: string }) => t.table === "users")).toMatchObject({
      added: 1,
      removed: 0,
      changed: 0,
    });
  });

  it("reports differences against another seed", async () => {
    await seed({ profile: "dev", seed: 23 });
    const result = await verify({ profile: "dev", seed: 24 });
    expect(result).toMatchObject({ identical: false, basis: "regenerated" });
    const users = result.tables.find((t) => t.table === "users")!;
    expect(users.added).toBe(27);
    expect(users.removed).toBe(27);
    expect(result.tables.find((t) => t.table === "messages")!.identical).toBe(false);
  });
});
