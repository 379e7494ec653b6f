// `npm run test:mutation:sql`: mutation testing of the checks' SQL, which Stryker cannot reach
// (it is text that PostgreSQL runs). Every application rule's, app validator's and orphan
// check's SQL is changed one predicate at a time (removed, or negated: scripts/sql-mutants.ts);
// test/write/checks.test.ts, which plants each check's violations (and rows just inside it) in
// a seeded database, then runs its tests of that check once per mutant, in one Vitest run. A
// mutant is killed when one of its tests fails. Prints killed/survived per mutant; exits 1 when
// a mutant survives that EQUIVALENT does not explain, or when a mutant listed there is killed
// (the list is out of date). Needs the PostgreSQL server the suite uses (TEST_DATABASE_URL).
// `npm run test:mutation:sql -- <check id>` mutates that check only.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TABLES } from "../src/core/datamodel.ts";
import { RULES } from "../src/plan/rules.ts";
import { APP_VALIDATORS } from "../src/plan/validators.ts";
import { INTEGRITY_CHECKS } from "../src/write/integrity.ts";
import { sqlMutants } from "./sql-mutants.ts";

/**
 * Mutants no test can kill, because they select the same rows as the check on every database
 * the schema allows (`<check id>: <mutant>` → why). docs/safety.md lists them.
 */
export const EQUIVALENT: Record<string, string> = Object.fromEntries(
  // An orphan check's `IS NOT NULL` on a column the schema declares NOT NULL: no row can hold the
  // NULL that would tell the check without it apart (the nullable columns' mutants are killed).
  TABLES.flatMap((table) =>
    table.foreignKeys
      .map((fk) => fk.columns[0]!)
      .filter((column) => table.columns.find((c) => c.name === column)?.isRequired)
      .map((column) => [
        `no-orphans:${table.name}.${column}: remove c."${column}" IS NOT NULL`,
        `${table.name}.${column} is NOT NULL: no row holds the NULL that would tell the mutant apart`,
      ]),
  ),
);

const checks = [
  ...RULES.map((r) => ({ kind: "rule", id: r.id, sql: r.sql })),
  ...APP_VALIDATORS.map((v) => ({ kind: "validator", id: v.id, sql: v.sql })),
  ...INTEGRITY_CHECKS.filter((c) => c.id.startsWith("no-orphans:")).map((c) => ({
    kind: "orphan check",
    id: c.id,
    sql: c.sql,
  })),
].filter((c) => process.argv[2] === undefined || c.id === process.argv[2]);
const mutants = checks.flatMap((check) =>
  sqlMutants(check.sql).map((m) => ({ kind: check.kind, id: check.id, description: m.description, sql: m.sql })),
);
if (mutants.length === 0) throw new Error(`sql-mutation: no check '${process.argv[2]}'`);

const dir = mkdtempSync(join(tmpdir(), "sql-mutation-"));
const started = Date.now();
try {
  writeFileSync(join(dir, "mutants.json"), JSON.stringify(mutants));
  const run = spawnSync(
    process.execPath,
    [
      "node_modules/vitest/vitest.mjs",
      "run",
      "test/write/checks.test.ts",
      "--reporter=dot",
      "--reporter=json",
      `--outputFile.json=${join(dir, "report.json")}`,
    ],
    { env: { ...process.env, SQL_MUTANTS: join(dir, "mutants.json") }, encoding: "utf8", stdio: "inherit" },
  );
  const report = JSON.parse(readFileSync(join(dir, "report.json"), "utf8")) as {
    testResults: { assertionResults: { ancestorTitles: string[]; status: string }[] }[];
  };
  const results = report.testResults.flatMap((file) => file.assertionResults);
  const of = (describe: string) => results.filter((r) => r.ancestorTitles[0] === describe);
  const baseline = of("no mutant");
  if (baseline.length === 0 || baseline.some((r) => r.status !== "passed"))
    throw new Error(`sql-mutation: the tests fail without any mutant (vitest exit ${run.status}); fix them first`);
  let killed = 0;
  const survivors: string[] = [];
  const stale: string[] = [];
  for (const [i, mutant] of mutants.entries()) {
    const key = `${mutant.id}: ${mutant.description}`;
    const tests = of(`mutant ${i}: ${key}`);
    if (!tests.some((t) => t.status === "passed" || t.status === "failed"))
      throw new Error(`sql-mutation: no test ran for mutant ${i} (${key})`);
    const dead = tests.some((t) => t.status === "failed");
    if (dead) killed += 1;
    if (dead && EQUIVALENT[key]) stale.push(key);
    if (!dead && !EQUIVALENT[key]) survivors.push(key);
    console.log(`${dead ? "killed    " : EQUIVALENT[key] ? "equivalent" : "SURVIVED  "}  ${mutant.kind} ${key}`);
  }
  const equivalent = mutants.length - killed - survivors.length;
  console.log(
    `\nSQL mutants: ${mutants.length} of ${checks.length} checks; killed ${killed}, equivalent ${equivalent}, survived ${survivors.length} (${Math.round((Date.now() - started) / 1000)} s)`,
  );
  for (const key of stale) console.log(`listed as equivalent but killed: ${key}`);
  process.exitCode = survivors.length > 0 || stale.length > 0 ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
