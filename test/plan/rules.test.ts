import { describe, expect, it } from "vitest";
import { buildPlan } from "../../src/plan/plan.ts";
import { checkRules, RULES } from "../../src/plan/rules.ts";
import { VIOLATIONS } from "../helpers/violations.ts";

const dev = buildPlan({ profile: "dev" }).rows;

describe("the application rules' row checks", () => {
  it("have one planted violation each (a new rule without one fails here)", () => {
    expect(Object.keys(VIOLATIONS).sort()).toEqual(RULES.map((r) => r.id).sort());
  });

  it("find nothing in the dev plan", () => {
    expect(checkRules(dev)).toEqual([]);
  });

  it.each(RULES.map((r) => [r.id, r] as const))("%s names exactly the one row that breaks it", (id, rule) => {
    const rows = structuredClone(dev);
    const rowId = VIOLATIONS[id]!.rows(rows);
    expect(checkRules(rows)).toEqual([{ rule: id, table: rule.table, rowId, detail: rule.text }]);
  });
});
