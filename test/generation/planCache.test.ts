import { spawnSync } from "node:child_process";
import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readSync,
  statSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { seedDatabase, type SeedOptions } from "../../src/api/seed.ts";
import type { SeedLogEvent } from "../../src/core/log.ts";
import { isSeedError } from "../../src/core/errors.ts";
import { verifyDatabase } from "../../src/api/verify.ts";
import { resolvePlanCache } from "../../src/api/run.ts";
import { openCachedPlan, planKey, trimPlanCache } from "../../src/generation/planCache.ts";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

const db = useTestDatabase("plancache");
/** Over 50,000 rows: the smallest plans that stream from the generator and are cached. */
const SCALE = 26;
const LOCAL_FILE = join(import.meta.dirname, "../../prisma/seed.local.example.json");

function cacheDir(): string {
  return mkdtempSync(join(tmpdir(), "plan-cache-"));
}

async function seed(dir: string, options: SeedOptions = {}) {
  const events: SeedLogEvent[] = [];
  const summary = await seedDatabase({
    env: { SEED_CACHE_DIR: dir },
    databaseUrl: db.url,
    profile: "dev",
    scale: SCALE,
    cache: true,
    sink: (e) => events.push(e),
    ...options,
  });
  const cache = events.filter((e) => e.details.step === "cache").map((e) => String(e.details.action));
  return { summary, cache };
}

const plans = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".plan"));
const lastFingerprints = async () =>
  (
    await query<{ fingerprints: Record<string, string> }>(
      db,
      `SELECT fingerprints FROM seed_runs WHERE status = 'success' ORDER BY started_at DESC LIMIT 1`,
    )
  )[0]!.fingerprints;

describe("the plan cache", () => {
  it("streams a plan it has built before and writes the identical database, fingerprints included", async () => {
    const dir = cacheDir();
    const cold = await seed(dir);
    expect(cold.cache).toEqual(["saved"]);
    const generated = await snapshot(db);
    const recorded = await lastFingerprints();

    const warm = await seed(dir);
    expect(warm.cache).toEqual(["hit"]);
    expect(warm.summary.totalRows).toBe(cold.summary.totalRows);
    expect(warm.summary.integrity.every((r) => r.violations === 0)).toBe(true);
    expect(await snapshot(db)).toEqual(generated);
    expect(await lastFingerprints()).toEqual(recorded);
    // The fingerprints the cached run recorded are the live rows' own, as db:verify computes them.
    const verified = await verifyDatabase({ env: {}, databaseUrl: db.url, profile: "dev", scale: SCALE });
    expect(verified).toMatchObject({ identical: true, basis: "recorded run" });
    expect(plans(dir)).toHaveLength(1);
  });

  it("keys a plan by everything that decides its bytes: profile, seed and scale", () => {
    const base = { profile: "dev", seed: 1, scale: SCALE } as const;
    const key = planKey(base);
    expect(planKey({ ...base })).toBe(key);
    const others = [
      planKey({ ...base, seed: 2 }),
      planKey({ ...base, scale: SCALE + 1 }),
      planKey({ ...base, profile: "edge", scale: 1 }),
    ];
    expect(new Set([key, ...others]).size).toBe(4);
  });

  it("notices a damaged plan file, removes it and generates the same rows again", async () => {
    const dir = cacheDir();
    await seed(dir);
    const generated = await snapshot(db);
    const [file] = plans(dir);
    const path = join(dir, file!);
    // Flip one byte in the middle of the rows.
    const fd = openSync(path, "r+");
    const byte = Buffer.alloc(1);
    const at = Math.floor(statSync(path).size / 2);
    readSync(fd, byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0x20;
    writeSync(fd, byte, 0, 1, at);
    closeSync(fd);

    const again = await seed(dir);
    expect(again.cache).toEqual(["saved"]);
    expect(await snapshot(db)).toEqual(generated);
    // Written anew, whole: the next run can use it.
    const plan = openCachedPlan(
      { dir, maxBytes: 2 ** 40 },
      planKey({ profile: "dev", seed: again.summary.seed, scale: SCALE }),
    );
    expect(plan?.rows).toBe(again.summary.totalRows);
    plan?.close();
  });

  it("keeps nothing from a run that was interrupted, and leaves no temporary file", async () => {
    const dir = cacheDir();
    const before = await snapshot(db);
    const controller = new AbortController();
    const run = seedDatabase({
      env: { SEED_CACHE_DIR: dir },
      databaseUrl: db.url,
      profile: "dev",
      scale: SCALE,
      seed: 99,
      cache: true,
      signal: controller.signal,
      // Abort as the transaction begins, with the generator and the recording under way.
      sink: (e) => e.details.step === "transaction" && e.details.action === "begin" && controller.abort("SIGINT"),
    });
    const error = await run.catch((e: unknown) => e);
    expect(isSeedError(error, "INTERRUPTED_SIGINT")).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
    expect(await snapshot(db)).toEqual(before);
  });

  it("adds the local accounts on top of a cached plan, and records fingerprints db:verify agrees with", async () => {
    const dir = cacheDir();
    // Cached by a run with local accounts: the plan holds only the generated rows.
    const fresh = await seed(dir, { dataFile: LOCAL_FILE });
    expect(fresh.cache).toEqual(["saved"]);
    expect(fresh.summary.localAccounts?.users.length).toBeGreaterThan(0);
    const generatedWithLocal = await snapshot(db);
    const without = await seed(dir);
    expect(without.cache).toEqual(["hit"]);
    expect(without.summary.totalRows).toBeLessThan(fresh.summary.totalRows);
    expect(await verifyDatabase({ env: {}, databaseUrl: db.url, profile: "dev", scale: SCALE })).toMatchObject({
      identical: true,
      basis: "recorded run",
    });
    // And the local accounts go on top of the cached plan: the same rows as generating them all.
    const withLocal = await seed(dir, { dataFile: LOCAL_FILE });
    expect(withLocal.cache).toEqual(["hit"]);
    expect(await snapshot(db)).toEqual(generatedWithLocal);
    expect(
      await verifyDatabase({ env: {}, databaseUrl: db.url, profile: "dev", scale: SCALE, dataFile: LOCAL_FILE }),
    ).toMatchObject({ identical: true, basis: "recorded run" });
  });

  it("is off for library calls unless asked, and off everywhere with SEED_CACHE=0", async () => {
    const cwd = cacheDir();
    expect(resolvePlanCache({}, cwd, false)).toBeNull();
    expect(resolvePlanCache({ SEED_CACHE: "0" }, cwd, true)).toBeNull();
    expect(resolvePlanCache({ SEED_CACHE: "1" }, cwd, false)).toEqual({
      dir: join(cwd, ".chatgenius", "cache"),
      maxBytes: 2048 * 1024 * 1024,
    });
    expect(resolvePlanCache({ SEED_CACHE_DIR: "plans", SEED_CACHE_MB: "5" }, cwd, true)).toEqual({
      dir: join(cwd, "plans"),
      maxBytes: 5 * 1024 * 1024,
    });
    // A library call as the ChatGenius app makes it: nothing kept.
    const dir = cacheDir();
    expect((await seed(dir, { cache: undefined, seed: 5 })).cache).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("stays under SEED_CACHE_MB by removing the least recently used plans first, never the newest", () => {
    const dir = cacheDir();
    const plan = (name: string, mb: number, minutesAgo: number) => {
      const path = join(dir, `${name}.plan`);
      writeFileSync(path, Buffer.alloc(mb * 1024 * 1024));
      const when = new Date(Date.now() - minutesAgo * 60_000);
      utimesSync(path, when, when);
      return path;
    };
    plan("old", 2, 30);
    plan("used-recently", 2, 1);
    plan("middle", 2, 10);
    const newest = plan("newest-but-large", 5, 60);
    trimPlanCache({ dir, maxBytes: 4 * 1024 * 1024 }, newest);
    expect(readdirSync(dir).sort()).toEqual(["newest-but-large.plan"]);
    plan("a", 1, 3);
    plan("b", 1, 2);
    trimPlanCache({ dir, maxBytes: 6.5 * 1024 * 1024 }, newest);
    expect(readdirSync(dir).sort()).toEqual(["b.plan", "newest-but-large.plan"]);
  });

  it("removes a killed run's temporary file once it is an hour old, and keeps a younger one (another run's, still writing)", async () => {
    const dir = cacheDir();
    const temp = (name: string, minutesAgo: number) => {
      writeFileSync(join(dir, name), Buffer.alloc(1024));
      const when = new Date(Date.now() - minutesAgo * 60_000);
      utimesSync(join(dir, name), when, when);
    };
    temp("killed.plan.tmp-4242-1", 61);
    temp("running.plan.tmp-4343-2", 5);
    expect((await seed(dir)).cache).toEqual(["saved"]);
    const left = readdirSync(dir);
    expect(left.filter((name) => name.includes(".tmp-"))).toEqual(["running.plan.tmp-4343-2"]);
    expect(plans(dir)).toHaveLength(1);
  });

  it("says once that the plan is not kept when the file cannot be written, and the seed goes on", async () => {
    // The process may write files of at most 1 MB (ulimit -f): the plan's file (about 10 MB)
    // fails part-way with a real write error, as on a full disk.
    const dir = cacheDir();
    const run = spawnSync(
      "bash",
      ["-c", `ulimit -f 1024; exec "${process.execPath}" bin/chatgenius-seed.mjs seed --scale ${SCALE}`],
      {
        encoding: "utf8",
        timeout: 120_000,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: db.url, SEED_CACHE_DIR: dir },
      },
    );
    expect(run.status).toBe(0);
    const output = `${run.stdout}${run.stderr}`.split("\n");
    expect(output.filter((line) => line.includes("plan not cached"))).toEqual([
      expect.stringMatching(/^⚠ plan not cached: EFBIG: file too large/),
    ]);
    expect(readdirSync(dir)).toEqual([]);
    const [last] = await query<{ status: string; total: number }>(
      db,
      `SELECT status, (SELECT sum(value::int) FROM jsonb_each_text(rows_per_table))::int AS total FROM seed_runs ORDER BY started_at DESC LIMIT 1`,
    );
    expect(last!.status).toBe("success");
    const live = await snapshot(db);
    expect(Object.values(live).reduce((sum, t) => sum + t.rows, 0)).toBe(last!.total);
  });
});
