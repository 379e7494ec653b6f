import { connect } from "node:net";
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";
import { loadEnv, resolveDatabaseConfig } from "./src/db/config.ts";

/** Test files of pure functions (no database, no process): what `npm run test:mutation` runs (vitest.stryker.config.ts). */
export const PURE = [
  "test/plan/rules.test.ts",
  "test/db/config.test.ts",
  "test/db/guard.test.ts",
  "test/generation/planFraming.test.ts",
  "test/plan/validators.test.ts",
  "test/plan/validate.test.ts",
  "test/plan/scenarioRules.test.ts",
  "test/testing/comments.test.ts",
  "test/db/asSeedError.test.ts",
  "test/cli/argv.test.ts",
];

/** Does the configured PostgreSQL server (DATABASE_URL / PG* / .env, as the seed reads them) answer? */
async function serverAnswers(): Promise<boolean> {
  let host: string;
  let port: number;
  try {
    const env = loadEnv();
    const config = resolveDatabaseConfig(env.TEST_DATABASE_URL ? { DATABASE_URL: env.TEST_DATABASE_URL } : env);
    host = config.host.startsWith("/") ? "127.0.0.1" : config.host;
    port = config.port;
  } catch {
    return false;
  }
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 3000 });
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => (socket.destroy(), resolve(false)));
  });
}

/**
 * CI runs files and the tests in each file in a shuffled order, so a test that relies on another
 * having run first fails there. The order comes from a seed: TEST_SEED when set (to replay a
 * failed run's order), else the day's number, so CI tries a new order each day and every run of
 * one day repeats it. It is printed at the start of the run. TEST_SEED also shuffles a local run.
 */
function shuffleSeed(): number | null {
  const given = process.env.TEST_SEED;
  if (given !== undefined && given !== "") {
    if (!/^\d+$/.test(given))
      throw new Error(`TEST_SEED is '${given}' but must be a whole number (the seed a shuffled run printed)`);
    return Number(given);
  }
  return process.env.CI ? Math.floor(Date.now() / 86_400_000) : null;
}

export default defineConfig(async () => {
  // The run's own database names (test/helpers/db.ts): two suites on one server never share one.
  process.env.TEST_RUN_DATABASE ??= `chatgenius_test_${process.pid}`;
  const seed = shuffleSeed();
  if (seed !== null) console.log(`Tests run in a shuffled order, seed ${seed}: TEST_SEED=${seed} npm test replays it.`);
  // TEST_EMBEDDED=1: the embedded PostgreSQL even where a server answers (CI runs part of the suite so).
  const embedded = process.env.TEST_EMBEDDED === "1";
  const serverAvailable = !embedded && (await serverAnswers());
  if (!serverAvailable && !embedded && process.env.CI) {
    throw new Error("CI: no PostgreSQL server answers at the configured address; .ci/run starts one (see README)");
  }
  if (!serverAvailable) {
    console.warn(
      `${embedded ? "TEST_EMBEDDED=1" : "No PostgreSQL server answers"}: running the suite on the embedded PostgreSQL in .chatgenius/postgres.`,
    );
  }
  return {
    test: {
      include: ["test/**/*.test.ts"],
      // The suite prepares a seeded template database; each file that writes clones it. With no
      // server answering, it does so on the embedded one, started first (test/embeddedServer.ts).
      globalSetup: serverAvailable ? ["test/globalSetup.ts"] : ["test/embeddedServer.ts", "test/globalSetup.ts"],
      pool: "forks",
      // Most files wait on PostgreSQL and on the commands they start, not on this CPU: three at
      // once on two cores ran the suite in 3 min 17 s, one at a time (Vitest's default here) in
      // about 6 min. Each file has databases of its own, so files never share rows.
      maxWorkers: Math.max(3, availableParallelism() - 1),
      testTimeout: 120_000,
      hookTimeout: 120_000,
      reporters: ["default"],
      ...(seed !== null ? { sequence: { shuffle: true, seed } } : {}),
    },
  };
});
