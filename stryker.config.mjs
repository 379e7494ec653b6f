// Mutation testing of the pure, central logic (`npm run test:mutation`; not part of `npm test`):
// Stryker changes the code below one small edit at a time and runs the tests of
// vitest.stryker.config.ts against each change; a change no test notices is a survivor.
// Scope: the application rules' row checks (their SQL is proven against PostgreSQL by
// test/write/integrity.test.ts instead), the guards and configuration parsing, and the plan
// cache's framing and crc checks. README › "Mutation testing" lists the score and survivors.

/** src/plan/rules.ts: canSee, each rule's `check`, indexRows, checkRules, time (not the SQL text). */
const RULE_CHECKS = [
  "38-40",
  "49-55",
  "64-66",
  "73-78",
  "85-87",
  "94-96",
  "103-105",
  "112-117",
  "124-126",
  "134-139",
  "147-152",
  "157-183",
];

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.stryker.config.ts" },
  mutate: [
    ...RULE_CHECKS.map((lines) => `src/plan/rules.ts:${lines}`),
    // The guards that need no connection (the database's own marker is tested in test/db/safety.test.ts).
    "src/db/guard.ts:13-80",
    "src/db/config.ts",
    // The plan cache's settings (resolved with the run).
    "src/api/run.ts:133-145",
    // Framing and crc: the format constants, openCachedPlan, readTrailer, framesIntact, readChunks, and the recorder's frames and trailer.
    "src/generation/planCache.ts:47-174",
    "src/generation/planCache.ts:234-277",
  ],
  coverageAnalysis: "perTest",
  concurrency: 2,
  reporters: ["clear-text", "progress", "json"],
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  thresholds: { high: 90, low: 80, break: 80 },
  tempDirName: ".stryker-tmp",
  cleanTempDir: true,
};
