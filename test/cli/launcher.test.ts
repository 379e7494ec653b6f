import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { query, useTestDatabase } from "../helpers/db.ts";

// The command runs compiled code (dist/); these tests prove that an edit under src/ is what the
// next run uses, with no build step to remember. They work on a copy of the checkout, so that
// editing a fixture cannot disturb the other test files.
const db = useTestDatabase("launcher", { empty: true });
let copy: string;
let original: string;
/** The fixture the tests edit. */
const FIXTURE = "src/plan/builders/canonical.ts";

function seed() {
  const run = spawnSync(process.execPath, ["bin/chatgenius-seed.mjs", "reset", "--profile", "minimal"], {
    cwd: copy,
    encoding: "utf8",
    timeout: 120_000,
    env: { PATH: process.env.PATH, DATABASE_URL: db.url },
  });
  expect(run.stderr).toBe("");
  expect(run.status).toBe(0);
}

const welcome = async () =>
  (await query<{ content: string }>(db, `SELECT content FROM messages ORDER BY created_at LIMIT 1`))[0]?.content;

beforeAll(() => {
  const root = resolve(".");
  copy = mkdtempSync(join(tmpdir(), "checkout-"));
  for (const part of ["src", "bin", "scripts", "prisma", "package.json"])
    cpSync(join(root, part), join(copy, part), { recursive: true });
  symlinkSync(join(root, "node_modules"), join(copy, "node_modules"));
  original = readFileSync(join(copy, FIXTURE), "utf8");
});

// Each test starts from the checkout's own fixture, whatever an earlier one edited.
afterEach(() => {
  if (readFileSync(join(copy, FIXTURE), "utf8") !== original) writeFileSync(join(copy, FIXTURE), original);
});

describe("the chatgenius-seed command in a checkout", () => {
  it("builds dist/ on its first run, and reuses it while nothing under src/ changes", async () => {
    seed();
    expect(await welcome()).toBe("Welcome to ChatGenius! 👋");
    const built = statSync(join(copy, "dist", "cli.js")).mtimeMs;
    seed();
    expect(statSync(join(copy, "dist", "cli.js")).mtimeMs).toBe(built);
  });

  it("uses an edited fixture on the very next run", async () => {
    const fixture = join(copy, FIXTURE);
    writeFileSync(
      fixture,
      readFileSync(fixture, "utf8").replace("Welcome to ChatGenius! 👋", "Welcome to the edited ChatGenius!"),
    );
    seed();
    expect(await welcome()).toBe("Welcome to the edited ChatGenius!");
  });

  it("says where an edit does not compile, in one line, and runs nothing", async () => {
    // Seeded here: the database starts empty, and another test of this file may not have run first.
    seed();
    const before = await welcome();
    expect(before).toBe("Welcome to ChatGenius! 👋");
    const fixture = join(copy, FIXTURE);
    writeFileSync(fixture, `${readFileSync(fixture, "utf8")}\nexport const broken = ;\n`);
    const run = spawnSync(process.execPath, ["bin/chatgenius-seed.mjs", "seed", "--profile", "minimal"], {
      cwd: copy,
      encoding: "utf8",
      timeout: 120_000,
      env: { PATH: process.env.PATH, DATABASE_URL: db.url },
    });
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/^error: src\/ does not compile, nothing was run: .*canonical\.ts:\d+:\d+: /);
    expect(await welcome()).toBe(before);
  });
});
