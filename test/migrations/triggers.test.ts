import { describe, expect, it } from "vitest";
import { tablesGainingUpdatedAt, updatedAtTriggers } from "../../src/migrations/triggers.ts";

// Scripts as Prisma's engine writes them (see test/migrations/migrationNew.test.ts for real ones).
const createTable = (table: string, columns: string[]) =>
  `-- CreateTable\nCREATE TABLE "${table}" (\n${columns.map((c) => `    ${c},`).join("\n")}\n\n    CONSTRAINT "${table}_pkey" PRIMARY KEY ("id")\n);\n`;

describe("the tables a migration gives an updated_at column", () => {
  it("names a created table that has the column, and not one that lacks it", () => {
    const sql =
      createTable("bookmarks", ['"id" VARCHAR(26) NOT NULL', '"updated_at" TIMESTAMPTZ(6) NOT NULL']) +
      createTable("tags", [
        '"id" VARCHAR(26) NOT NULL',
        '"updated_at_source" TEXT',
        "\"note\" TEXT DEFAULT 'updated_at'",
      ]);
    expect(tablesGainingUpdatedAt(sql)).toEqual(["bookmarks"]);
  });

  it("names an existing table the column is added to, among other columns", () => {
    const sql = `-- AlterTable\nALTER TABLE "seed_runs" ADD COLUMN     "note" TEXT,\nADD COLUMN     "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP;\n\n-- AlterTable\nALTER TABLE "messages" ADD COLUMN     "pinned_at" TIMESTAMPTZ(6);\n`;
    expect(tablesGainingUpdatedAt(sql)).toEqual(["seed_runs"]);
  });

  it("writes one trigger per table on the existing set_updated_at(), quoting the names", () => {
    expect(updatedAtTriggers(["bookmarks", 'odd"name'])).toBe(
      '-- CreateTrigger\nCREATE OR REPLACE TRIGGER "bookmarks_set_updated_at" BEFORE UPDATE ON "bookmarks" FOR EACH ROW EXECUTE FUNCTION set_updated_at();\n' +
        '\n-- CreateTrigger\nCREATE OR REPLACE TRIGGER "odd""name_set_updated_at" BEFORE UPDATE ON "odd""name" FOR EACH ROW EXECUTE FUNCTION set_updated_at();\n',
    );
  });
});
