// Vitest setup file of `npm run test:mutation:sql`: puts the mutant that scripts/sql-mutation.ts
// wrote into the check it belongs to (a rule, a validator or an orphan check), before the test
// file imports anything else, so that the file's tests run against the mutated SQL.
import { existsSync, readFileSync } from "node:fs";
import { RULES } from "../src/plan/rules.ts";
import { APP_VALIDATORS } from "../src/plan/validators.ts";
import { INTEGRITY_CHECKS } from "../src/write/integrity.ts";
import { MUTANT_FILE } from "./sql-mutation-file.ts";

if (existsSync(MUTANT_FILE)) {
  const mutant = JSON.parse(readFileSync(MUTANT_FILE, "utf8")) as { id: string; sql: string };
  const targets = [...RULES, ...APP_VALIDATORS, ...INTEGRITY_CHECKS].filter((c) => c.id === mutant.id);
  if (targets.length === 0) throw new Error(`sql-mutation: no check ${mutant.id}`);
  for (const target of targets) (target as { sql: string }).sql = mutant.sql;
}
