// Mutation testing of the pure, central logic (`npm run test:mutation`; not part of `npm test`):
// Stryker changes the code below one small edit at a time and runs the tests of
// vitest.stryker.config.ts against each change; a change no test notices is a survivor.
// Scope: the application rules' and validators' row checks (their SQL: npm run
// test:mutation:sql), the planner's validation, the integrity checks, the guards, configuration
// and argument parsing, error wording, the kit's staleness rules, the scenario's rule filter, and
// the plan cache's framing and crc checks. docs/safety.md lists the score and survivors.
// What is mutated in a file is named by function (scripts/mutation-ranges.mjs turns the names
// into line ranges when Stryker starts), so editing a file does not move the scope.
import { mutationRanges } from "./scripts/mutation-ranges.mjs";

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.stryker.config.ts" },
  mutate: [
    // The rules' row checks, not their SQL text (nor their ids, texts and tables).
    ...mutationRanges("src/plan/rules.ts", ["canSee", "check", "indexRows", "checkRules", "time"]),
    // The guards that need no connection (the database's own marker is tested in test/db/safety.test.ts).
    ...mutationRanges("src/db/guard.ts", [
      "assertNotProduction",
      "environmentName",
      "isLocalHost",
      "guardTarget",
      "guardRun",
    ]),
    "src/db/config.ts",
    // The plan cache's settings (resolved with the run).
    ...mutationRanges("src/api/run.ts", ["resolvePlanCache"]),
    // Framing and crc: the format constants, openCachedPlan, readTrailer, framesIntact, readChunks,
    // and the recorder's frames (`record`) and trailer (`commit`).
    // The app's validators' row checks (their SQL: scripts/sql-mutation.ts), the planner's row
    // validation, the integrity checks and the commit gate's runner (test/write/checks.test.ts,
    // on PostgreSQL), the kit's staleness rules, the error wording, the CLI's argument parsing and
    // the scenario's rule filter (src/scenario/check.ts).
    ...mutationRanges("src/plan/validators.ts", [
      "CHANNEL_NAME",
      "GOOGLE_ID",
      "dmChannelName",
      "check",
      "checkAppValidators",
    ]),
    "src/plan/validate.ts",
    // Its runner (grouping, counting, what live keys prove); the checks' SQL text: npm run test:mutation:sql.
    ...mutationRanges("src/write/integrity.ts", ["runIntegrityChecks", "SHAPE", "sameRows", "provenOrphanChecks"]),
    "src/testing/comments.ts",
    "src/db/asSeedError.ts",
    ...mutationRanges("src/cli/command.ts", ["flagUsage", "badValue", "convert", "parseArgv", "allFlags", "usageLine"]),
    "src/scenario/check.ts",
    ...mutationRanges("src/generation/planCache.ts", [
      "FORMAT_VERSION",
      "MAGIC",
      "FRAME_HEADER",
      "LAST_PART",
      "openCachedPlan",
      "readTrailer",
      "framesIntact",
      "readChunks",
      "record",
      "commit",
    ]),
  ],
  coverageAnalysis: "perTest",
  concurrency: 2,
  // A mutant's run may take this much longer than the tests took in the first, unmutated run
  // (Stryker's default is 5 s). A "static" mutant (code run when a module loads, such as a
  // regex constant) is run against every test; on a busy shared machine that took longer than
  // the default allows, and three equivalent mutants were counted as killed by a timeout.
  timeoutMS: 20_000,
  reporters: ["clear-text", "progress", "json"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  thresholds: { high: 90, low: 80, break: 90 },
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
};
