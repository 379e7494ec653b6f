import { mkdtempSync, openSync, readdirSync, readSync, statSync, writeSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { seedDatabase, type SeedOptions } from "../../src/api/seed.ts";
import type { SeedLogEvent } from "../../src/core/log.ts";
import { isSeedError } from "../../src/core/errors.ts";
import { verifyDatabase } from "../../src/monitoring/verify.ts";
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
  const summary = await seedDatabase({ env: { SEED_CACHE_DIR: dir }, databaseUrl: db.url, profile: "dev", scale: SCALE, cache: true, sink: (e) => events.push(e), ...options });
  const cache = events.filter((e) => e.details.step === "cache").map((e) => String(e.details.action));
  return { summary, cache };
}

const plans = (dir: string) => readdirSync(dir).filter((name) => name.endsWith(".plan"));
const lastFingerprints = async () =>
  (await query<{ fingerprints: Record<string, string> }>(db, `SELECT fingerprints FROM seed_runs WHERE status = 'success' ORDER BY started_at DESC LIMIT 1`))[0]!.fingerprints;

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

  it("keeps a plan per seed and scale: other options are generated, not read", async () => {
    const dir = cacheDir();
    expect((await seed(dir, { seed: 1 })).cache).toEqual(["saved"]);
    expect((await seed(dir, { seed: 2 })).cache).toEqual(["saved"]);
    expect((await seed(dir, { seed: 1, scale: SCALE + 1 })).cache).toEqual(["saved"]);
    expect(plans(dir)).toHaveLength(3);
    expect((await seed(dir, { seed: 2 })).cache).toEqual(["hit"]);
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
    expect((await seed(dir)).cache).toEqual(["hit"]);
    expect(await snapshot(db)).toEqual(generated);
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
    await seed(dir);
    const withLocal = await seed(dir, { dataFile: LOCAL_FILE });
    expect(withLocal.cache).toEqual(["hit"]);
    expect(withLocal.summary.localAccounts?.users.length).toBeGreaterThan(0);
    const viaCache = await snapshot(db);
    expect(await verifyDatabase({ env: {}, databaseUrl: db.url, profile: "dev", scale: SCALE, dataFile: LOCAL_FILE })).toMatchObject({ identical: true, basis: "recorded run" });

    // The same options generated from scratch give the same rows.
    const fresh = await seed(cacheDir(), { dataFile: LOCAL_FILE });
    expect(fresh.cache).toEqual(["saved"]);
    expect(await snapshot(db)).toEqual(viaCache);
    // And a plan first cached with the local accounts holds only the generated rows.
    const without = await seed(dir);
    expect(without.cache).toEqual(["hit"]);
    expect(await verifyDatabase({ env: {}, databaseUrl: db.url, profile: "dev", scale: SCALE })).toMatchObject({ identical: true, basis: "recorded run" });
  });

  it("is off for library calls unless asked, and off everywhere with SEED_CACHE=0", async () => {
    const dir = cacheDir();
    expect((await seed(dir, { cache: undefined })).cache).toEqual([]);
    expect((await seed(dir, { env: { SEED_CACHE_DIR: dir, SEED_CACHE: "0" } })).cache).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
    expect((await seed(dir, { cache: undefined, env: { SEED_CACHE_DIR: dir, SEED_CACHE: "1" } })).cache).toEqual(["saved"]);
  });

  it("stays under SEED_CACHE_MB by removing the least recently used plans first", async () => {
    const dir = cacheDir();
    const env = { SEED_CACHE_DIR: dir, SEED_CACHE_MB: "1" };
    await seed(dir, { env, seed: 1 });
    const [first] = plans(dir);
    await seed(dir, { env, seed: 2 });
    // Each plan is larger than the limit: only the newest is kept.
    expect(plans(dir)).toHaveLength(1);
    expect(plans(dir)[0]).not.toBe(first);
  });
});
