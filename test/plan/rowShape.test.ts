import { describe, expect, it } from "vitest";
import { TABLES, type Rows } from "../../src/core/datamodel.ts";
import { WINDOW_END } from "../../src/plan/builders/clock.ts";
import { buildPlan, emptyRows, estimateRows } from "../../src/plan/plan.ts";
import { validateChunk, validateRows } from "../../src/plan/validate.ts";

// The timestamp fields checked against the fixture window come from the datamodel: a DateTime
// column added to schema.prisma is checked without a list to update by hand.
const plan = buildPlan({ profile: "dev" });
const cases = TABLES.filter((t) => t.seeded).flatMap((table) =>
  table.columns
    .filter((c) => c.type === "DateTime")
    .map((column) => [`${table.name}.${column.name}`, table, column.field] as const),
);

describe("every timestamp column lies inside the fixture window", () => {
  it("knows the timestamp columns from the datamodel, not from a list", () => {
    expect(cases.length).toBeGreaterThanOrEqual(TABLES.filter((t) => t.seeded).length);
  });

  it.each(cases)("refuses %s after the window, in whole plans and in chunks", (_, table, field) => {
    const rows = emptyRows();
    for (const t of TABLES.filter((x) => x.seeded))
      (rows[t.model] as unknown[]).push(...(plan.rows[t.model] as unknown[]).map((r) => ({ ...(r as object) })));
    const row = (rows[table.model] as unknown as Record<string, unknown>[])[0];
    expect(row, `the dev profile has a ${table.name} row`).toBeDefined();
    row![field] = new Date(WINDOW_END + 86_400_000);
    const caught = (violations: { rule: string; rowId: string }[]) =>
      violations.filter((v) => v.rule === "past-window" && v.rowId === row!.id);
    expect(caught(validateRows(rows as Rows))).toHaveLength(1);
    expect(caught(validateChunk(rows as Rows))).toHaveLength(1);
  });
});

describe("a row field that is no column of its table", () => {
  it.each(TABLES.filter((t) => t.seeded).map((t) => [t.name, t] as const))(
    "is refused on %s, in whole plans and in chunks, instead of being dropped by the writer",
    (_, table) => {
      const rows = emptyRows();
      for (const t of TABLES.filter((x) => x.seeded))
        (rows[t.model] as unknown[]).push(...(plan.rows[t.model] as unknown[]).map((r) => ({ ...(r as object) })));
      const row = (rows[table.model] as unknown as Record<string, unknown>[])[0]!;
      row.pinnedAt = new Date(0);
      const caught = (violations: { rule: string; rowId: string; detail?: string }[]) =>
        violations.filter((v) => v.rule === "unknown-field" && v.rowId === row.id);
      expect(caught(validateRows(rows as Rows))).toEqual([
        expect.objectContaining({ detail: expect.stringContaining(`pinnedAt is no column of ${table.name}`) }),
      ]);
      expect(caught(validateChunk(rows as Rows))).toHaveLength(1);
    },
  );
});

describe("the row estimates the write path is chosen by", () => {
  const count = (rows: Rows) => Object.values(rows).reduce((n, list) => n + list.length, 0);

  it("are counted from the builders, not kept by hand: exact for one slice, within 5% at --scale 3", () => {
    expect(estimateRows({ profile: "minimal" })).toBe(count(buildPlan({ profile: "minimal" }).rows));
    expect(estimateRows({ profile: "dev", seed: 11 })).toBe(count(buildPlan({ profile: "dev", seed: 11 }).rows));
    expect(estimateRows({ profile: "edge", seed: 11 })).toBe(count(buildPlan({ profile: "edge", seed: 11 }).rows));
    const three = count(buildPlan({ profile: "dev", seed: 12, scale: 3 }).rows);
    expect(Math.abs(estimateRows({ profile: "dev", seed: 12, scale: 3 }) - three) / three).toBeLessThan(0.05);
  });

  it("hand the slice they counted to the plan, which is the same as one built afresh", () => {
    const before = buildPlan({ profile: "dev", seed: 13 }).rows;
    estimateRows({ profile: "dev", seed: 14 });
    const reused = buildPlan({ profile: "dev", seed: 14 }).rows;
    expect(buildPlan({ profile: "dev", seed: 14 }).rows).toEqual(reused);
    expect(buildPlan({ profile: "dev", seed: 13 }).rows).toEqual(before);
  });
});
