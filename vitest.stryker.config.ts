import { defineConfig } from "vitest/config";
import { PURE } from "./vitest.config.ts";

// What Stryker runs against each mutant (stryker.config.mjs): the tests of the pure modules it
// mutates, no database and no global setup, so that a mutant costs a second, not a suite.
export default defineConfig({
  test: {
    include: PURE,
    pool: "threads",
    testTimeout: 30_000,
  },
});
