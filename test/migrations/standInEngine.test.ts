import { describe, expect, it } from "vitest";
import { spawn } from "../helpers/cli.ts";

// Prisma's CLI runs scripts/schema-engine-unavailable (prisma.config.ts) in place of its native
// schema engine, which these machines cannot download.
describe("prisma's commands that need the schema engine", () => {
  it("migrate diff fails with one line pointing at npm run migration:new, instead of printing nothing", () => {
    const run = spawn(
      "npx",
      [
        "prisma",
        "migrate",
        "diff",
        "--from-migrations",
        "prisma/migrations",
        "--to-schema",
        "prisma/schema.prisma",
        "--script",
      ],
      { PRISMA_HIDE_UPDATE_MESSAGE: "1" },
    );
    expect(run.code).toBe(1);
    expect(run.stdout.trim()).toBe("");
    const lines = run.stderr
      .split("\n")
      .filter((line) => line.trim() !== "" && !line.startsWith("Loaded Prisma config"));
    expect(lines).toEqual([expect.stringMatching(/^Error: .*'npm run migration:new -- <name>'.*docs\/migrations\.md/)]);
  });

  it("migrate deploy fails with one line pointing at npm run db:migrate, instead of waiting", () => {
    const run = spawn("npx", ["prisma", "migrate", "deploy"], { PRISMA_HIDE_UPDATE_MESSAGE: "1", PGHOST: "127.0.0.1" });
    expect(run.code).toBe(1);
    const errors = run.stderr.split("\n").filter((line) => line.startsWith("Error"));
    expect(errors).toEqual([
      expect.stringMatching(/^Error: .*'npm run db:migrate' instead of 'prisma migrate deploy'/),
    ]);
  });
});
