import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { APPLICATION_NAME } from "../../src/db/connection.ts";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

// A failed or aborted seedDatabase() must leave nothing alive behind it (worker threads, pools,
// sockets, timers): a Vitest run or a script that hits a failure must still end by itself.
const db = useTestDatabase("handles");

/** A script calling seedDatabase() as an app would; it never calls process.exit. */
const script = (how: string) => `
  import { seedDatabase } from ${JSON.stringify(resolve("src/api/seed.ts"))};
  const controller = new AbortController();
  ${how === "abort" ? `setTimeout(() => controller.abort("SIGINT"), Number(process.env.ABORT_AFTER_MS));` : ""}
  try {
    await seedDatabase({ databaseUrl: process.env.DATABASE_URL, scale: 55, signal: controller.signal });
    console.log("committed");
  } catch (error) {
    console.log("settled", error.code);
  }
`;

function run(how: "abort" | "terminate") {
  const file = join(mkdtempSync(join(tmpdir(), "handles-")), "app.mts");
  writeFileSync(file, script(how));
  const child = spawn(process.execPath, ["--import", "tsx", file], {
    env: { PATH: process.env.PATH, DATABASE_URL: db.url, ABORT_AFTER_MS: "1500" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let settledAt = 0;
  child.stdout.on("data", (d) => {
    stdout += d;
    if (/settled|committed/.test(stdout) && !settledAt) {
      settledAt = Date.now();
      // A process that is still alive long after its seed settled would hang its caller.
      setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
    }
  });
  const exited = new Promise<{ code: number | null; afterSettledMs: number }>((resolve) =>
    child.on("exit", (code) => resolve({ code, afterSettledMs: Date.now() - settledAt })),
  );
  return { exited, stdout: () => stdout };
}

async function loading(): Promise<number> {
  for (let i = 0; i < 3000; i++) {
    const [row] = await query<{ pid: number }>(
      db,
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = $2 AND state = 'active' AND query LIKE 'COPY %'`,
      [db.database, APPLICATION_NAME],
    );
    if (row) return row.pid;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("the seed never started loading");
}

describe("seedDatabase() after a failure", () => {
  it("leaves no live handle when the server ends its connection mid-load: the process ends by itself", async () => {
    const before = await snapshot(db);
    const child = run("terminate");
    await query(db, `SELECT pg_terminate_backend($1)`, [await loading()]);
    const { code, afterSettledMs } = await child.exited;
    expect(child.stdout()).toMatch(/settled CONNECTION_LOST/);
    expect(code).toBe(0);
    expect(afterSettledMs).toBeLessThan(1_000);
    expect(await snapshot(db)).toEqual(before);
  });

  it("leaves no live handle when it is aborted mid-load: the process ends by itself", async () => {
    const before = await snapshot(db);
    const child = run("abort");
    const { code, afterSettledMs } = await child.exited;
    expect(child.stdout()).toMatch(/settled INTERRUPTED_SIGINT/);
    expect(code).toBe(0);
    expect(afterSettledMs).toBeLessThan(1_000);
    expect(await snapshot(db)).toEqual(before);
  });
});
