import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TABLES, tableOf } from "../../src/core/datamodel.ts";
import type { DatabaseConfig } from "../../src/db/config.ts";
import { createTestDatabase, dropTestDatabase, snapshot, useTestDatabase } from "../helpers/db.ts";
import { performRecipe, recipe, recipeSection, scratchRepo, type ScratchRepo } from "../helpers/scratchRepo.ts";

// docs/architecture.md › How to add a column, performed as written on a scratch copy of this
// checkout: then the files it touched are the ones it names, the other tables' rows (and the
// other columns of its own) are those this checkout seeds, and the column has its values in the
// dev workspace, its boundaries in the edge profile, and its type in scenarios.

const HEADING = "How to add a column";
const steps = recipe(HEADING);
const section = recipeSection(HEADING);

const CHECK = "recipe-check.mts";
const CHECK_SCRIPT = `
import { buildPlan } from "./src/plan/plan.ts";
import { validateRows } from "./src/plan/validate.ts";
import { scenario } from "./src/scenario/index.ts";

const out = {};
const edge = buildPlan({ profile: "edge" }).rows;
const kind = (v) => (v == null ? "null" : [...v].length === 64 ? "limit" : "set");
out.edge = { timezones: [...new Set(edge.User.map((u) => kind(u.timezone)))].sort(), violations: validateRows(edge) };
const s = scenario();
const tokyo = s.user({ timezone: "Asia/Tokyo" });
const none = s.row("User", { timezone: null });
const planned = s.plan();
out.scenario = [planned.get(tokyo).timezone, planned.get(none).timezone];
console.log(JSON.stringify(out));
`;

/** The users' rows, as this checkout's columns print them (the new column left out). */
async function usersWithoutTheColumn(config: DatabaseConfig): Promise<string> {
  const client = new pg.Client({ connectionString: config.url });
  await client.connect();
  try {
    await client.query(`SET timezone = 'UTC'; SET datestyle = 'ISO, YMD'; SET extra_float_digits = 3`);
    const columns = tableOf("User")
      .columns.map((c) => `"${c.name}"`)
      .join(", ");
    const { rows } = await client.query(
      `SELECT md5(string_agg(row(${columns})::text, E'\\n' ORDER BY id)) AS md5 FROM users`,
    );
    return rows[0].md5;
  } finally {
    await client.end();
  }
}

const db = useTestDatabase("recipe_column");
let target: DatabaseConfig;
let repo: ScratchRepo;
beforeAll(async () => {
  target = await createTestDatabase("recipe_column_copy", { empty: true });
  repo = scratchRepo("recipe-column-");
});
afterAll(async () => {
  repo?.remove();
  if (target) await dropTestDatabase(target);
});

describe("docs/architecture.md › How to add a column, performed on a scratch copy", () => {
  it("adds users.timezone: seeded from a stream of its own, every other value as before", async () => {
    const started = performance.now();
    expect(
      repo.read("prisma/schema.prisma"),
      "the recipe's example column exists: give the recipe another",
    ).not.toMatch(/^\s+timezone\s/m);
    const took = performRecipe(repo, steps, { DATABASE_URL: target.url });

    const changed = repo.changed();
    const migration = changed.filter((f) => f.startsWith("prisma/migrations/"));
    expect(migration).toEqual([
      expect.stringMatching(/^prisma\/migrations\/\d{14}_add_user_timezone\/migration\.sql$/),
    ]);
    const named = steps.flatMap((s) => (s.kind === "snippet" ? [s.path] : []));
    expect(changed).toEqual([...new Set([...named, ...migration])].sort());
    for (const file of changed.filter((f) => !f.startsWith("prisma/migrations/")))
      expect(section, `the recipe's list names ${file}`).toContain(`\`${file}\``);
    console.log(`${HEADING}: ${changed.length} files (${changed.join(", ")}), none under test/`);
    expect(changed.filter((f) => f.startsWith("test/"))).toEqual([]);

    // The other tables, and the users' other columns, hold what this checkout seeds.
    const others = (s: Record<string, unknown>) => Object.fromEntries(Object.entries(s).filter(([t]) => t !== "users"));
    expect(others(await snapshot(target))).toEqual(others(await snapshot(db)));
    expect(Object.keys(others(await snapshot(db)))).toHaveLength(TABLES.length - 1);
    expect(await usersWithoutTheColumn(target)).toBe(await usersWithoutTheColumn(db));
    const client = new pg.Client({ connectionString: target.url });
    await client.connect();
    const [counts] = (
      await client
        .query(`SELECT count(*)::int AS users, count(timezone)::int AS set FROM users`)
        .finally(() => client.end())
    ).rows;
    expect(counts.set).toBeGreaterThan(0);
    expect(counts.set).toBeLessThan(counts.users);

    repo.write(CHECK, CHECK_SCRIPT);
    const check = repo.run(process.execPath, ["--import", "tsx", CHECK]);
    expect(check.code, check.output).toBe(0);
    const out = JSON.parse(check.output.trim().split("\n").at(-1)!);
    expect(out.edge).toEqual({ timezones: ["limit", "null", "set"], violations: [] });
    expect(out.scenario).toEqual(["Asia/Tokyo", null]);
    console.log(
      `${HEADING}: performed and checked in ${((performance.now() - started) / 1000).toFixed(1)} s (${took.join("; ")})`,
    );
  }, 300_000);
});
