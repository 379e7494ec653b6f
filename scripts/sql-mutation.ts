// `npm run test:mutation:sql`: mutation testing of the checks' SQL, which Stryker cannot reach
// (it is text that PostgreSQL runs). Every application rule's, app validator's and orphan
// check's SQL is changed one predicate at a time (removed, or negated: scripts/sql-mutants.ts),
// and the tests that plant violations in a seeded database (test/write/integrity.test.ts) run
// against each mutant. A mutant is killed when a test fails. Prints killed/survived per mutant;
// exits 1 when a mutant survives that EQUIVALENT does not explain, or when an "equivalent"
// mutant is killed (the list is out of date). Needs the PostgreSQL server the suite uses.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { createVitest } from "vitest/node";
import { RULES } from "../src/plan/rules.ts";
import { APP_VALIDATORS } from "../src/plan/validators.ts";
import { INTEGRITY_CHECKS } from "../src/write/integrity.ts";
import { MUTANT_FILE } from "./sql-mutation-file.ts";
import { sqlMutants } from "./sql-mutants.ts";

/**
 * Mutants no test can kill because they select the same rows as the check on every database the
 * schema allows (`<check id>: <mutant>` → why). docs/safety.md lists them.
 */
export const EQUIVALENT: Record<string, string> = {};

const TEST_FILE = "test/write/integrity.test.ts";
/** The tests that plant violations in SQL (not the slower write paths), all of them: the baseline. */
const PLANTING_TESTS =
  /each application rule's SQL check|each app validator's SQL check|the orphan checks, where the live database lacks a foreign key (names an orphan planted|refuses a muted channel)/;
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/**
 * The tests that plant a check's violations, and those that find nothing in the seeded
 * database (a mutant that names rows it should not fails there).
 */
function plantingTests(kind: string, id: string): RegExp {
  const seeded = "each application rule's SQL check finds nothing in the seeded database";
  if (kind === "rule")
    return new RegExp(`each application rule's SQL check (${escape(id)} names|finds nothing|counts each)`);
  if (kind === "validator")
    return new RegExp(`each app validator's SQL check (${escape(id)} names|names nothing in the seeded)|${seeded}`);
  const column = id.slice("no-orphans:".length);
  return column === "user_settings.muted_channels"
    ? new RegExp(`refuses a muted channel that does not exist|${seeded}`)
    : new RegExp(`names an orphan planted in ${escape(column)},|${seeded}`);
}

const checks = [
  ...RULES.map((r) => ({ kind: "rule", id: r.id, sql: r.sql })),
  ...APP_VALIDATORS.map((v) => ({ kind: "validator", id: v.id, sql: v.sql })),
  ...INTEGRITY_CHECKS.filter((c) => c.id.startsWith("no-orphans:")).map((c) => ({
    kind: "orphan check",
    id: c.id,
    sql: c.sql,
  })),
];
const only = process.argv[2];

const vitest = await createVitest(
  "test",
  { watch: false, reporters: [{}] },
  { test: { setupFiles: ["scripts/sql-mutation-setup.ts"] } },
);
mkdirSync(dirname(MUTANT_FILE), { recursive: true });
const started = Date.now();
const results: { check: string; description: string; killed: boolean; equivalent?: string }[] = [];
try {
  const [spec] = await vitest.globTestSpecifications([TEST_FILE]);
  if (!spec) throw new Error(`sql-mutation: ${TEST_FILE} not found`);
  // The unmutated checks must pass, or every mutant would look killed.
  rmSync(MUTANT_FILE, { force: true });
  vitest.setGlobalTestNamePattern(PLANTING_TESTS);
  const baseline = await vitest.runTestSpecifications([spec]);
  /** Did a test fail? Throws when none ran: a pattern that matches nothing would kill every mutant. */
  const failed = (run: typeof baseline) => {
    const tests = run.testModules.flatMap((m) => [...m.children.allTests()]);
    if (!tests.some((t) => t.result().state === "passed" || t.result().state === "failed"))
      throw new Error(
        `sql-mutation: no test ran (${run.testModules
          .map((m) => m.errors().map(String))
          .flat()
          .join("; ")})`,
      );
    return run.unhandledErrors.length > 0 || run.testModules.some((m) => !m.ok());
  };
  if (failed(baseline)) throw new Error("sql-mutation: the planting tests fail without any mutant; fix them first");
  for (const check of checks) {
    if (only && check.id !== only) continue;
    vitest.setGlobalTestNamePattern(plantingTests(check.kind, check.id));
    for (const mutant of sqlMutants(check.sql)) {
      writeFileSync(MUTANT_FILE, JSON.stringify({ id: check.id, sql: mutant.sql }));
      const killed = failed(await vitest.runTestSpecifications([spec]));
      const key = `${check.id}: ${mutant.description}`;
      results.push({ check: check.id, description: mutant.description, killed, equivalent: EQUIVALENT[key] });
      const verdict = killed ? "killed  " : EQUIVALENT[key] ? "equivalent" : "SURVIVED";
      console.log(`${verdict}  ${check.kind} ${key}`);
    }
  }
} finally {
  rmSync(MUTANT_FILE, { force: true });
  await vitest.close();
}

const survivors = results.filter((r) => !r.killed && !r.equivalent);
const staleEquivalents = results.filter((r) => r.killed && r.equivalent);
const killed = results.filter((r) => r.killed).length;
console.log(
  `\nSQL mutants: ${results.length}, killed ${killed}, equivalent ${results.filter((r) => !r.killed && r.equivalent).length}, survived ${survivors.length} (${Math.round((Date.now() - started) / 1000)} s)`,
);
for (const r of staleEquivalents) console.log(`listed as equivalent but killed: ${r.check}: ${r.description}`);
process.exitCode = survivors.length > 0 || staleEquivalents.length > 0 ? 1 : 0;
