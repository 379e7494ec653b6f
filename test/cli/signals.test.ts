import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPEAT_WINDOW_MS, signalHandler } from "../../src/cli/cli.ts";
import { APPLICATION_NAME } from "../../src/db/connection.ts";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

// The world's ways to stop a seed, as a user meets them: `npm run db:seed` started in a process
// group of its own, as a terminal starts it, at a scale that loads from the worker thread with
// the constraints deferred (≥ 100,000 rows), struck in a given phase. Every strike must end the
// process within seconds with its line and code, and leave every table as it was.
const db = useTestDatabase("signals");

/** Phases of a large seed, told apart by the statement its connection runs. */
const PHASES = {
  load: /^COPY /,
  reactions: /^COPY "?reactions"? /,
  rebuild: /^(CREATE (UNIQUE )?INDEX|ALTER TABLE .* ADD CONSTRAINT)/,
} as const;

/** As a shell reports it: npm re-raises the signal its script ended with, the shell says 128 + its number. */
const shellCode = (code: number | null, signal: NodeJS.Signals | null) => code ?? 128 + constants.signals[signal!];

/**
 * `npm run db:seed` as a user runs it, or (`direct`) the command itself without npm. Its plan
 * cache is a new folder (the plan is generated) unless `cache` names one.
 */
function seed(extra: string[] = [], direct = false, cache = mkdtempSync(join(tmpdir(), "signals-cache-"))) {
  const [command, args] = direct
    ? [process.execPath, ["bin/chatgenius-seed.mjs", "seed"]]
    : ["npm", ["run", "-s", "db:seed", "--"]];
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: db.url, SEED_CACHE_DIR: cache };
  const child = spawn(command, [...args, "--scale", "55", ...extra], {
    detached: true,
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  // npm may end before the seed under it (it re-raises the signal at once): the run is over
  // when no process of its group is left.
  const exit = new Promise<{ code: number; at: number }>((resolve) =>
    child.on("exit", async (code, signal) => {
      while (groupAlive(child.pid!)) await new Promise((r) => setTimeout(r, 20));
      resolve({ code: shellCode(code, signal), at: Date.now() });
    }),
  );
  const lines = () => stderr.split("\n").filter((line) => line && !line.startsWith("npm warn"));
  return { group: child.pid!, exit, lines };
}

function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the seed's connection runs a statement of that phase; returns its backend pid. */
async function reach(phase: keyof typeof PHASES): Promise<number> {
  for (let i = 0; i < 3000; i++) {
    const rows = await query<{ pid: number; query: string }>(
      db,
      `SELECT pid, query FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND state = 'active'`,
      [db.database, APPLICATION_NAME],
    );
    const hit = rows.find((r) => PHASES[phase].test(r.query));
    if (hit) return hit.pid;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`the seed never reached its ${phase} phase`);
}

async function strike(how: NodeJS.Signals | "terminate", phase: keyof typeof PHASES, direct = false, cache?: string) {
  const run = seed([], direct, cache);
  const backend = await reach(phase);
  const struck = Date.now();
  if (how === "terminate") await query(db, `SELECT pg_terminate_backend($1)`, [backend]);
  else process.kill(-run.group, how);
  const { code, at } = await run.exit;
  return { code, seconds: (at - struck) / 1000, lines: run.lines() };
}

describe("a seed struck as the world strikes it", () => {
  it.each([
    [
      "SIGINT (Ctrl-C) to the group during the load",
      "SIGINT",
      "load",
      130,
      /^error: interrupted by SIGINT: the transaction was rolled back, the database is as it was$/,
    ],
    [
      "SIGTERM to the group during the constraint rebuild",
      "SIGTERM",
      "rebuild",
      143,
      /^error: interrupted by SIGTERM: the transaction was rolled back/,
    ],
    [
      "SIGHUP (terminal closed) to the group during the load",
      "SIGHUP",
      "load",
      129,
      /^error: interrupted by SIGHUP: the transaction was rolled back/,
    ],
    [
      "the server ending the connection during the load",
      "terminate",
      "load",
      1,
      /^error: the connection to PostgreSQL was lost mid-seed .*the database is as it was/,
    ],
    [
      "the server ending the connection during the constraint rebuild",
      "terminate",
      "rebuild",
      1,
      /^error: the connection to PostgreSQL was lost mid-seed/,
    ],
  ] as const)("%s: one line, its exit code, within seconds, nothing changed", async (_name, how, phase, code, line) => {
    const before = await snapshot(db);
    const result = await strike(how, phase);
    expect(result.code).toBe(code);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(line);
    expect(result.seconds).toBeLessThan(5);
    expect(await snapshot(db)).toEqual(before);
  });

  it("ends the command itself with 130, 143 and 129 for SIGINT, SIGTERM and SIGHUP", async () => {
    const before = await snapshot(db);
    for (const [signal, code] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
      ["SIGHUP", 129],
    ] as const) {
      const result = await strike(signal, "load", true);
      expect(result.code).toBe(code);
      expect(result.lines).toEqual([
        `error: interrupted by ${signal}: the transaction was rolled back, the database is as it was`,
      ]);
    }
    expect(await snapshot(db)).toEqual(before);
  });

  // It commits a seed first: the database it compares with is that seed's.
  it("SIGINT to the group during a load from the plan cache: one line, 130, nothing changed, the plan kept", async () => {
    const cache = mkdtempSync(join(tmpdir(), "signals-cache-"));
    expect((await seed([], false, cache).exit).code).toBe(0);
    const plan = readdirSync(cache);
    expect(plan.filter((name) => name.endsWith(".plan"))).toHaveLength(1);
    const seeded = await snapshot(db);
    const result = await strike("SIGINT", "load", false, cache);
    expect(result.code).toBe(130);
    expect(result.lines).toEqual([
      "error: interrupted by SIGINT: the transaction was rolled back, the database is as it was",
    ]);
    expect(result.seconds).toBeLessThan(5);
    expect(await snapshot(db)).toEqual(seeded);
    expect(readdirSync(cache)).toEqual(plan);
  });

  it("exits at once on a deliberate second Ctrl-C while the first one's rollback is still held up", async () => {
    const before = await snapshot(db);
    // A statement that survives every cancel the first Ctrl-C sends (it catches each one and
    // sleeps on): the run cannot end by itself for half a minute.
    await query(
      db,
      `CREATE FUNCTION stubborn() RETURNS trigger AS $$ DECLARE until timestamptz := clock_timestamp() + interval '30 s';
        BEGIN
        WHILE clock_timestamp() < until LOOP
          BEGIN PERFORM pg_sleep(1); EXCEPTION WHEN query_canceled THEN NULL; END;
        END LOOP;
        RETURN NULL; END $$ LANGUAGE plpgsql`,
    );
    await query(
      db,
      `CREATE TRIGGER stubborn BEFORE INSERT ON reactions FOR EACH STATEMENT EXECUTE FUNCTION stubborn()`,
    );
    const child = spawn(process.execPath, ["bin/chatgenius-seed.mjs", "seed"], {
      detached: true,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: db.url },
      stdio: ["ignore", "ignore", "ignore"],
    });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
      child.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
    );
    try {
      const backend = await reach("reactions");
      process.kill(-child.pid!, "SIGINT");
      await new Promise((r) => setTimeout(r, REPEAT_WINDOW_MS + 500));
      expect(groupAlive(child.pid!)).toBe(true);
      const second = Date.now();
      process.kill(-child.pid!, "SIGINT");
      const ended = await exit;
      expect(ended).toMatchObject({ code: 130, signal: null });
      expect(ended.at - second).toBeLessThan(5_000);
      // Its connection closed with the transaction open: PostgreSQL rolls it back once the
      // backend notices (here, at once: the sleep is ended for it).
      await query(db, `SELECT pg_terminate_backend($1)`, [backend]);
    } finally {
      if (groupAlive(child.pid!)) process.kill(-child.pid!, "SIGKILL");
      await query(db, `DROP TRIGGER IF EXISTS stubborn ON reactions; DROP FUNCTION IF EXISTS stubborn()`);
    }
    expect(await snapshot(db)).toEqual(before);
  });

  it("takes a signal delivered twice at once as one Ctrl-C, and a deliberate second one as exit now (the handler, on a clock of its own)", () => {
    let clock = 1_000;
    const exits: number[] = [];
    const controller = new AbortController();
    const onSignal = signalHandler(
      controller,
      (code) => exits.push(code),
      () => clock,
    );
    onSignal("SIGINT");
    expect(controller.signal.reason).toBe("SIGINT");
    clock += 5; // npm relays the terminal's SIGINT to its child: the same keypress
    onSignal("SIGINT");
    expect(exits).toEqual([]);
    clock += REPEAT_WINDOW_MS; // the user presses Ctrl-C again
    onSignal("SIGINT");
    expect(exits).toEqual([130]);
    onSignal("SIGTERM");
    expect(exits).toEqual([130, 143]);
  });
});
