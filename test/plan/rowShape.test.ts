import { describe, expect, it } from "vitest";
import { TABLES, type Rows } from "../../src/core/datamodel.ts";
import { WINDOW_END } from "../../src/plan/builders/clock.ts";
import {
  EDGE_ROWS_ESTIMATE,
  ROWS_PER_SLICE_ESTIMATE,
  buildPlan,
  emptyRows,
  estimateRows,
} from "../../src/plan/plan.ts";
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
  const canonical = count(buildPlan({ profile: "minimal" }).rows);

  it("follow the builders: a dev slice and the edge rows within 5% of what they build", () => {
    const slice = (count(buildPlan({ profile: "dev", scale: 2 }).rows) - canonical) / 2;
    expect(
      Math.abs(ROWS_PER_SLICE_ESTIMATE - slice) / slice,
      `set ROWS_PER_SLICE_ESTIMATE in src/plan/plan.ts to ${slice}`,
    ).toBeLessThan(0.05);
    const sliceZero = count(plan.rows) - canonical;
    const edge = count(buildPlan({ profile: "edge" }).rows) - canonical - sliceZero;
    expect(
      Math.abs(EDGE_ROWS_ESTIMATE - edge) / edge,
      `set EDGE_ROWS_ESTIMATE in src/plan/plan.ts to ${edge}`,
    ).toBeLessThan(0.05);
    expect(estimateRows({ profile: "minimal" })).toBe(canonical);
  });
});
