import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseConfig } from "../../src/db/config.ts";
import { createTestDatabase, dropTestDatabase, snapshot, useTestDatabase } from "../helpers/db.ts";
import { performRecipe, recipe, recipeSection, scratchRepo, type ScratchRepo } from "../helpers/scratchRepo.ts";

// docs/architecture.md › How to add a model, performed as written on a scratch copy of this
// checkout: its text blocks added where they say, its commands run (the type check failing where
// the page says, then passing), its database seeded. Then: the files it touched are the ones it
// names, the other tables' rows are those this checkout seeds, the new rule holds and catches
// its planted violation, and a scenario declares the new rows with no scenario code.

const HEADING = "How to add a model";
const steps = recipe(HEADING);
const section = recipeSection(HEADING);

/** Run in the copy after the recipe: what the recipe's table holds and does, as JSON. */
const CHECK = "recipe-check.mts";
const CHECK_SCRIPT = `
import pg from "pg";
import { buildPlan } from "./src/plan/plan.ts";
import { RULES, checkRules } from "./src/plan/rules.ts";
import { validateRows } from "./src/plan/validate.ts";
import { scenario } from "./src/scenario/index.ts";
import { VIOLATIONS } from "./test/helpers/violations.ts";

const rule = RULES.find((r) => r.table === "bookmarks");
const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
await client.connect();
const ids = async (sql, values = []) => (await client.query(sql, values)).rows.map((r) => r.id);
const out = { rule: rule?.id };
out.seeded = (await client.query("SELECT count(*)::int AS rows, count(note)::int AS notes FROM bookmarks")).rows[0];
out.breaking = await ids(rule.sql);
// The planted violation of test/helpers/violations.ts, in the planned rows and in SQL.
const plan = buildPlan();
const planted = VIOLATIONS[rule.id].rows(plan.rows);
out.inRows = { planted, named: checkRules(plan.rows).filter((v) => v.rule === rule.id).map((v) => v.rowId) };
await client.query("BEGIN");
out.inSql = { planted: await ids(VIOLATIONS[rule.id].sql), named: await ids(rule.sql) };
await client.query("ROLLBACK");
// The edge profile: the note at its limit, null and set, every check passing.
const edge = buildPlan({ profile: "edge" }).rows;
const kind = (note) => (note == null ? "null" : [...note].length === 200 ? "limit" : "set");
out.edge = { notes: [...new Set(edge.Bookmark.map((b) => kind(b.note)))].sort(), violations: validateRows(edge) };
// A scenario's bookmark: the generic method, nothing written for it in src/scenario/.
const s = scenario();
const root = s.message();
const user = s.existingUser("testuser2");
const saved = s.row("Bookmark", { user, message: root, note: "read later" });
await client.query("BEGIN");
const world = await s.create(client);
out.scenario = {
  written: (await client.query("SELECT user_id, message_id, note FROM bookmarks WHERE id = $1", [world.get(saved).id])).rows,
  expected: [{ user_id: world.get(user).id, message_id: world.get(root).id, note: "read later" }],
};
await client.query("ROLLBACK");
const outsider = scenario();
outsider.row("Bookmark", { user: outsider.user(), message: outsider.message({ channel: outsider.channel({ traits: ["private"] }) }) });
try {
  outsider.plan();
} catch (error) {
  out.refused = error.message;
}
await client.end();
console.log(JSON.stringify(out));
`;

const db = useTestDatabase("recipe_table");
let target: DatabaseConfig;
let repo: ScratchRepo;
beforeAll(async () => {
  target = await createTestDatabase("recipe_table_copy", { empty: true });
  repo = scratchRepo("recipe-table-");
});
afterAll(async () => {
  repo?.remove();
  if (target) await dropTestDatabase(target);
});

const tail = (text: string) => text.split("\n").slice(-30).join("\n");

describe("docs/architecture.md › How to add a model, performed on a scratch copy", () => {
  it("adds bookmarks: the type check names the missing maker, then the seed writes them and every other table as before", async () => {
    const started = performance.now();
    expect(repo.read("prisma/schema.prisma"), "the recipe's example table exists: give the recipe another").not.toMatch(
      /^model Bookmark /m,
    );
    const env = { DATABASE_URL: target.url };
    const took = performRecipe(repo, steps, env);
    expect(steps.some((s) => s.kind === "command" && s.fails)).toBe(true);

    // The files it touched are the ones it names, and only those.
    const changed = repo.changed();
    const migration = changed.filter((f) => f.startsWith("prisma/migrations/"));
    expect(migration).toEqual([expect.stringMatching(/^prisma\/migrations\/\d{14}_bookmarks\/migration\.sql$/)]);
    const named = steps.flatMap((s) => (s.kind === "snippet" ? [s.path] : []));
    expect(changed).toEqual([...new Set([...named, ...migration])].sort());
    for (const file of changed.filter((f) => !f.startsWith("prisma/migrations/")))
      expect(section, `the recipe's list names ${file}`).toContain(`\`${file}\``);
    const outside = changed.filter((f) => !f.startsWith("test/"));
    console.log(
      `${HEADING}: ${outside.length} files outside test/ (${outside.join(", ")}), ${changed.length - outside.length} test files`,
    );
    // The house's target: schema, migration, maker, rule; the rule's two test registries.
    expect(outside.length).toBeLessThanOrEqual(4);
    expect(changed.length - outside.length).toBeLessThanOrEqual(2);

    // Every other table holds exactly the rows this checkout seeds (the same profile and seed).
    expect(await snapshot(target)).toEqual(await snapshot(db));

    repo.write(CHECK, CHECK_SCRIPT);
    const check = repo.run(process.execPath, ["--import", "tsx", CHECK], env);
    expect(check.code, tail(check.output)).toBe(0);
    const out = JSON.parse(check.output.trim().split("\n").at(-1)!);
    expect(out.rule).toBe("bookmark-member");
    expect(out.seeded.rows).toBeGreaterThan(10);
    expect(out.seeded.notes).toBeGreaterThan(0);
    expect(out.seeded.notes).toBeLessThan(out.seeded.rows);
    expect(out.breaking).toEqual([]);
    expect(out.inRows.named).toEqual([out.inRows.planted]);
    expect(out.inSql.planted).toHaveLength(1);
    expect(out.inSql.named).toEqual(out.inSql.planted);
    expect(out.edge).toEqual({ notes: ["limit", "null", "set"], violations: [] });
    expect(out.scenario.written).toEqual(out.scenario.expected);
    expect(out.refused).toMatch(/^scenario: bookmarks\[0\]: bookmark-member \(/);
    console.log(
      `${HEADING}: performed and checked in ${((performance.now() - started) / 1000).toFixed(1)} s (${took.join("; ")})`,
    );
  }, 300_000);
});
