import { defineConfig } from "vitest/config";
import { PURE } from "./vitest.config.ts";

// What Stryker runs against each mutant (stryker.config.mjs): the tests of the pure modules it
// mutates, and test/write/checks.test.ts for the integrity checks, whose SQL runs on PostgreSQL.
// Each Stryker worker is a process of its own with a template of its own (named after its pid,
// on TEST_DATABASE_URL's server), seeded once when it starts and dropped when it ends, and a copy
// of it that checks.test.ts keeps from one mutant's run to the next (test/globalSetup.stryker.ts).
const base = new URL(process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/chatgenius_test");
base.pathname = `/${decodeURIComponent(base.pathname.slice(1)) || "chatgenius_test"}_stryker${process.pid}`;
process.env.TEST_DATABASE_URL = base.toString();

export default defineConfig({
  test: {
    include: [...PURE, "test/write/checks.test.ts"],
    globalSetup: ["test/globalSetup.stryker.ts"],
    pool: "threads",
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
