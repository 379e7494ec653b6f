import { insertOrder, type Rows } from "../core/datamodel.ts";
import { emptyRows } from "../plan/plan.ts";
import { checkRules, type Violation } from "../plan/rules.ts";
import { validateRows } from "../plan/validate.ts";
import { checkAppValidators } from "../plan/validators.ts";
import { SCENARIO_RULES, invalid, unique } from "./declarations.ts";

/** A planned scenario's rows, the existing rows they touch, and where each is named. */
export interface ScenarioRows {
  /** The rows the scenario writes. */
  readonly rows: Rows;
  /** Existing rows the scenario names or touches (never written): channels, their members, users. */
  readonly contextRows: Rows;
  /** Row id → the row's place in the scenario (`messages[3] (reply to "root")`). */
  readonly places: ReadonlyMap<string, string>;
  /** Existing row id → how the scenario names it (`channel "general"`). */
  readonly contextPlaces: ReadonlyMap<string, string>;
  /** Rules and validators a negative test lets through. */
  readonly allow: ReadonlySet<string>;
}

/**
 * Every rule, validator and key the scenario's rows must keep, checked over those rows together
 * with the existing rows they touch (an existing channel and its members, an existing user):
 * a violation is the scenario's when it is on one of its rows, or on an existing row that keeps
 * the rule without the scenario (a third member joined into an existing DM). What `allow` does
 * not name fails here, with one SeedError (INVALID_SCENARIO) naming rule and place.
 *
 * @example
 * checkScenarioRows({ rows, contextRows, places, contextPlaces, allow: new Set() });
 */
export function checkScenarioRows(input: ScenarioRows): void {
  const { rows, contextRows, places, contextPlaces, allow } = input;
  const merged = emptyRows();
  for (const table of insertOrder()) {
    const model = table.model;
    (merged[model] as unknown[]).push(...(contextRows[model] as unknown[]), ...(rows[model] as unknown[]));
  }
  const ruleViolations = (rows: Rows) => [
    ...validateRows(rows).filter((v) => v.rule !== "past-window"),
    ...checkRules(rows),
  ];
  const keyOf = (v: Violation) => `${v.rowId}:${v.rule}`;
  // What the database already breaks on its own is not the scenario's doing.
  const already = new Set(ruleViolations(contextRows).map(keyOf));
  const ours = (v: Violation) => places.has(v.rowId) || (contextPlaces.has(v.rowId) && !already.has(keyOf(v)));
  const violations = [...ruleViolations(merged), ...checkAppValidators(rows)].filter(
    (v) => ours(v) && !allow.has(v.rule),
  );
  if (violations.length === 0) return;
  const seen = new Set<string>();
  const lines = violations
    .filter((v) => !seen.has(keyOf(v)) && seen.add(keyOf(v)))
    .map((v) => `${placeOf(input, v.rowId)}: ${v.rule}${v.detail ? ` (${v.detail})` : ""}`);
  const rules = unique(violations.map((v) => v.rule)).filter((r) => SCENARIO_RULES.includes(r));
  const hint =
    rules.length > 0
      ? `; fix the override, or let a negative test break it with scenario({ allow: [${rules.map((r) => `"${r}"`).join(", ")}] })`
      : "; fix the override";
  throw invalid(
    `${lines.slice(0, 3).join("; ")}${lines.length > 3 ? ` and ${lines.length - 3} more` : ""}${hint}. Nothing was written`,
  );
}

/**
 * A row's place in the scenario; for an existing row, its name and the scenario's rows that
 * reference it, which are what broke its rule.
 */
function placeOf(input: ScenarioRows, rowId: string): string {
  const { rows, places, contextPlaces } = input;
  const own = places.get(rowId);
  if (own !== undefined) return own;
  const touching: string[] = [];
  for (const list of Object.values(rows) as Record<string, unknown>[][])
    for (const row of list)
      if (row.id !== rowId && Object.values(row).includes(rowId)) touching.push(places.get(String(row.id))!);
  const existing = `${contextPlaces.get(rowId)} (existing)`;
  return touching.length === 0 ? existing : `${existing} with ${touching.join(", ")}`;
}
