import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseConfig } from "../../src/db/config.ts";
import { createTestDatabase, dropTestDatabase } from "../helpers/db.ts";
import { performRecipe, recipe, recipeSection, scratchRepo, type ScratchRepo } from "../helpers/scratchRepo.ts";

// docs/architecture.md › How to add a flag, performed as written on a scratch copy of this
// checkout (the README's flag table replaced by what the page's command prints): then the files
// it touched are the ones it names, the registry test passes, and the commands take the flag.

const HEADING = "How to add a flag";
const steps = recipe(HEADING);
const section = recipeSection(HEADING);

/** The README's flag table: from its header line to the first line that is not a table row. */
function replaceFlagTable(readme: string, table: string): string {
  const lines = readme.split("\n");
  const from = lines.findIndex((l) => l.startsWith("| flag |"));
  let to = from;
  while (lines[to + 1]?.startsWith("|")) to++;
  expect(from, "the README has a flag table").toBeGreaterThan(0);
  lines.splice(from, to - from + 1, table.trimEnd());
  return lines.join("\n");
}

let target: DatabaseConfig;
let repo: ScratchRepo;
beforeAll(async () => {
  target = await createTestDatabase("recipe_flag_copy", { empty: true });
  repo = scratchRepo("recipe-flag-");
});
afterAll(async () => {
  repo?.remove();
  if (target) await dropTestDatabase(target);
});

describe("docs/architecture.md › How to add a flag, performed on a scratch copy", () => {
  it("adds --no-cache to db:seed and db:reset: parsed, in --help and the README's table, passed on", () => {
    const started = performance.now();
    expect(repo.read("src/cli/flags.ts"), "the recipe's example flag exists: give the recipe another").not.toContain(
      "NO_CACHE",
    );
    const took = performRecipe(repo, steps, { DATABASE_URL: target.url }, (step, run) => {
      if (step.line.includes("flagTable(COMMANDS)"))
        repo.write("README.md", replaceFlagTable(repo.read("README.md"), run.output));
    });

    const changed = repo.changed();
    const named = steps.flatMap((s) => (s.kind === "snippet" ? [s.path] : []));
    expect(changed).toEqual([...new Set([...named, "README.md"])].sort());
    for (const file of changed) expect(section, `the recipe's list names ${file}`).toContain(`\`${file}\``);
    console.log(`${HEADING}: ${changed.length} files (${changed.join(", ")}), none under test/`);

    const cli = (...args: string[]) =>
      repo.run(process.execPath, ["bin/chatgenius-seed.mjs", ...args], { DATABASE_URL: target.url });
    for (const command of ["seed", "reset"])
      expect(cli(command, "--help").output).toMatch(/--no-cache\s+.*neither read nor keep/);
    const wrong = cli("seed", "--no-cache=yes");
    expect(wrong.code).toBe(2);
    expect(wrong.output.trim()).toBe("error: --no-cache takes no value, got 'yes': write --no-cache alone");
    const reset = cli("reset", "--profile", "minimal", "--no-cache");
    expect(reset.code, reset.output).toBe(0);
    expect(reset.output).toContain("Seeded: ");
    console.log(
      `${HEADING}: performed and checked in ${((performance.now() - started) / 1000).toFixed(1)} s (${took.join("; ")})`,
    );
  }, 300_000);
});
