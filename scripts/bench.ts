// npm run bench: measures the seed on a scratch database and prints one table, with targets.
//   our seed at scales 1, 100, 1000, as the command runs (wall time, rows/s, peak RSS, time per
//   phase): a first run, which generates the plan (and keeps it in a new plan cache), and a
//   repeat run, which streams the plan from that cache;
//   Prisma createMany of the same rows (scales 1 and 100);
//   raw COPY: a plain COPY FROM STDIN of the identical rows (exported from the seeded database)
//   into the same empty schema with its constraints, and how many times faster we are;
//   the server-alone limit: the same rows COPYed FREEZE into tables truncated in the same
//   transaction with no keys or indexes, which are then rebuilt (the practical best here), and
//   our time over it;
//   the embedded PostgreSQL: `db:reset --scale 10` into a new one, then `db:seed --scale 10`;
//   a second seedDatabase() of the dev profile in the same process (warm connection).
// BENCH_SCALES=1,100 shortens it; BENCH_RUNS=3 repeats each (ours, raw COPY) pair and adds the
// medians; BENCH_PRISMA=0 skips Prisma; BENCH_EMBEDDED=0 skips the embedded database. The scratch
// database is `<PGDATABASE>_bench`, dropped at the end.
import { spawnSync } from "node:child_process";
import { chmodSync, createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { loadEnv, resolveDatabaseConfig, withDatabase } from "../src/db/config.ts";
import { insertOrder } from "../src/core/datamodel.ts";
import { ident } from "../src/db/connection.ts";
import { migrateDatabase } from "../src/api/reset.ts";
import { dropConstraints, restoreConstraints } from "../src/write/constraints.ts";
import { createEventLog, silentSink } from "../src/core/log.ts";
import { seedDatabase } from "../src/api/seed.ts";

const base = resolveDatabaseConfig(loadEnv());
const scratch = withDatabase(base, `${base.database}_bench`);
const scales = (process.env.BENCH_SCALES ?? "1,100,1000").split(",").map(Number);
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 1) || 1);
const prismaScales = new Set(process.env.BENCH_PRISMA === "0" ? [] : [1, 100]);
const withEmbedded = process.env.BENCH_EMBEDDED !== "0";

/** What issue 20 asks of the bulk path (docs/performance.md, "Bulk load"): times faster than raw COPY. */
const TARGETS = {
  first: new Map([
    [100, 2.0],
    [1000, 2.5],
  ]),
  repeat: new Map([[1000, 3.5]]),
  /** A repeat run's time over the server-alone limit's. */
  repeatOverLimit: new Map([[1000, 1.2]]),
  rssMb: 200,
  embeddedScale: 10,
};
const order = insertOrder();

interface Child {
  method: string;
  totalRows: number;
  phases: Record<string, number>;
  failed: number;
  maxRssKb: number;
}

function child(args: string[], what: string): { json: Record<string, unknown>; wallMs: number } {
  const started = performance.now();
  const result = spawnSync(process.execPath, [...process.execArgv, "scripts/bench-child.ts", ...args], {
    encoding: "utf8",
    maxBuffer: 1 << 24,
  });
  const wallMs = performance.now() - started;
  if (result.status !== 0) throw new Error(`bench run failed (${what}): ${result.stderr}`);
  return { json: JSON.parse(result.stdout.trim().split("\n").pop()!), wallMs };
}

function run(scale: number, method: string): Child & { wallMs: number } {
  const { json, wallMs } = child([scratch.url, String(scale), method], `scale ${scale}, ${method}`);
  return { ...(json as unknown as Child), wallMs };
}

/**
 * Our seed as a user runs it: the command itself (`bin/chatgenius-seed.mjs seed`, start-up
 * included), with its plan cache in `cache`: a new folder gives a first run (the plan is
 * generated and kept), the same folder again a repeat run (the plan streams from the cache).
 */
function ours(scale: number, cache: string): Child & { wallMs: number; fromCache: boolean } {
  const rssFile = join(cache, `rss-${Math.random()}`);
  const started = performance.now();
  const result = spawnSync(
    process.execPath,
    ["--import", "./scripts/peak-rss.mjs", "bin/chatgenius-seed.mjs", "seed", "--scale", String(scale), "--json"],
    {
      encoding: "utf8",
      maxBuffer: 1 << 26,
      env: { ...process.env, DATABASE_URL: scratch.url, SEED_CACHE_DIR: cache, PEAK_RSS_FILE: rssFile },
    },
  );
  const wallMs = performance.now() - started;
  if (result.status !== 0) throw new Error(`bench run failed (scale ${scale}): ${result.stderr}`);
  const events = result.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { operation: string; details: Record<string, unknown> });
  const summary = events.find((e) => e.operation === "complete" && e.details.step === "run")!.details.summary as {
    method: string;
    totalRows: number;
    phases: Record<string, number>;
    integrity: { violations: number }[];
  };
  const fromCache = events.some((e) => e.details.step === "cache" && e.details.action === "hit");
  const maxRssKb = Number(readFileSync(rssFile, "utf8").trim());
  return {
    method: summary.method,
    totalRows: summary.totalRows,
    phases: summary.phases,
    failed: summary.integrity.filter((r) => r.violations > 0).length,
    maxRssKb,
    wallMs,
    fromCache,
  };
}

/** The CLI on a new embedded database: reset (creates, migrates, seeds), then a seed of the existing one. */
function embedded(scale: number): { command: string; wallMs: number; maxRssKb: number }[] {
  const dir = mkdtempSync(join(tmpdir(), "bench-embedded-"));
  // As root, the embedded server runs as `postgres`, who must be able to enter the folder.
  chmodSync(dir, 0o755);
  try {
    return ["reset", "seed"].map((command) => {
      const { json, wallMs } = child(["--embedded", dir, command, String(scale)], `embedded ${command}`);
      return { command, wallMs, maxRssKb: Number(json.maxRssKb) };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: scratch.url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

interface Limits {
  /** A plain COPY into the constrained schema, in one transaction. */
  rawCopyMs: number;
  /** The server alone: COPY FREEZE with no keys or indexes, then their rebuild. */
  limitLoadMs: number;
  limitRebuildMs: number;
}

/**
 * Exports every seeded table, then times loading it back twice: with plain COPY into the
 * constrained tables, and as the server loads fastest (the server-alone limit).
 */
async function copyLimits(rows: number): Promise<Limits> {
  const dir = mkdtempSync(join(tmpdir(), "bench-copy-"));
  const truncate = `TRUNCATE TABLE ${[...order]
    .reverse()
    .map((t) => ident(t.name))
    .join(", ")}`;
  const load = (client: pg.Client, freeze: boolean) =>
    (async () => {
      for (const t of order)
        await pipeline(
          createReadStream(join(dir, t.name)),
          client.query(copyFrom(`COPY ${ident(t.name)} FROM STDIN${freeze ? " WITH (FREEZE)" : ""}`)),
        );
    })();
  const count = async (client: pg.Client, what: string) => {
    const [{ n }] = (
      await client.query(`SELECT ${order.map((t) => `(SELECT count(*) FROM ${ident(t.name)})`).join(" + ")} AS n`)
    ).rows;
    if (Number(n) !== rows) throw new Error(`${what} loaded ${n} rows, expected ${rows}`);
  };
  try {
    await withClient(async (client) => {
      for (const t of order)
        await pipeline(client.query(copyTo(`COPY ${ident(t.name)} TO STDOUT`)), createWriteStream(join(dir, t.name)));
    });
    return await withClient(async (client) => {
      await client.query(truncate);
      let started = performance.now();
      await client.query("BEGIN");
      await load(client, false);
      await client.query("COMMIT");
      const rawCopyMs = performance.now() - started;
      await count(client, "raw COPY");

      const log = createEventLog(silentSink);
      await client.query("BEGIN");
      await client.query(truncate);
      const deferred = await dropConstraints(client, order, log);
      started = performance.now();
      await load(client, true);
      const limitLoadMs = performance.now() - started;
      started = performance.now();
      await restoreConstraints(client, deferred, log);
      await client.query("COMMIT");
      const limitRebuildMs = performance.now() - started;
      await count(client, "the server-alone load");
      return { rawCopyMs, limitLoadMs, limitRebuildMs };
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function warmSecondCall(): Promise<number> {
  const pool = new pg.Pool({ connectionString: scratch.url });
  try {
    await seedDatabase({ env: {}, databaseUrl: scratch.url, profile: "dev", pool });
    const started = performance.now();
    await seedDatabase({ env: {}, databaseUrl: scratch.url, profile: "dev", pool });
    return performance.now() - started;
  } finally {
    await pool.end();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
const s = (ms: number) => (ms / 1000).toFixed(1);

async function main() {
  const admin = new pg.Client({ connectionString: withDatabase(base, "postgres").url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${ident(scratch.database)} WITH (FORCE)`);
  await admin.end();
  await migrateDatabase({ env: {}, databaseUrl: scratch.url });
  console.log(
    `bench on ${scratch.target}, node ${process.version}, ${(await import("node:os")).cpus().length} cores\n`,
  );

  const lines = [
    "| scale | writer | rows | wall s | rows/s | peak RSS MB | generate s | validate s | cleanup s | write s | verify s | raw COPY s | limit s (load + rebuild) | × raw COPY | ÷ limit |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const verdicts: string[] = [];
  const ok = (pass: boolean) => (pass ? "met" : "NOT MET");
  for (const scale of scales) {
    // Pair by pair: a first run (plan generated), raw COPY and the limit of its rows, a repeat run (plan cached).
    const kinds = [
      { label: "first run, plan generated", targets: TARGETS.first },
      { label: "repeat run, plan cached", targets: TARGETS.repeat },
    ].map((k) => ({
      ...k,
      speedups: [] as number[],
      overLimit: [] as number[],
      rss: [] as number[],
      walls: [] as number[],
      cached: 0,
    }));
    let limits: Limits = { rawCopyMs: 0, limitLoadMs: 0, limitRebuildMs: 0 };
    for (let r = 0; r < runs; r++) {
      const cache = mkdtempSync(join(tmpdir(), "bench-cache-"));
      try {
        const first = ours(scale, cache);
        limits = await copyLimits(first.totalRows);
        const repeat = ours(scale, cache);
        if (first.fromCache || (repeat.totalRows > 50_000 && !repeat.fromCache))
          throw new Error(`scale ${scale}: the plan cache was not used as expected`);
        const limitMs = limits.limitLoadMs + limits.limitRebuildMs;
        for (const [k, result] of [first, repeat].entries()) {
          const kind = kinds[k]!;
          kind.speedups.push(limits.rawCopyMs / result.wallMs);
          kind.overLimit.push(result.wallMs / limitMs);
          kind.rss.push(result.maxRssKb / 1024);
          kind.walls.push(result.wallMs);
          if (result.fromCache) kind.cached += 1;
          const p = result.phases;
          const label = k === 1 && !result.fromCache ? "repeat run, plan generated (too small to cache)" : kind.label;
          lines.push(
            `| ${scale} | ours (${result.method}), ${label}${runs > 1 ? `, run ${r + 1}` : ""} | ${fmt(result.totalRows)} | ${s(result.wallMs)} | ${fmt(result.totalRows / (result.wallMs / 1000))} | ${fmt(result.maxRssKb / 1024)} | ${s(p.generate!)} | ${s(p.validate!)} | ${s(p.cleanup!)} | ${s(p.write!)} | ${s(p.verify!)} | ${s(limits.rawCopyMs)} | ${s(limitMs)} (${s(limits.limitLoadMs)} + ${s(limits.limitRebuildMs)}) | ${kind.speedups.at(-1)!.toFixed(2)} | ${kind.overLimit.at(-1)!.toFixed(2)} |`,
          );
          console.log(lines.at(-1));
        }
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    }
    for (const kind of kinds) {
      const label =
        kind === kinds[1] && kind.cached === 0 ? "repeat run, plan generated (too small to cache)" : kind.label;
      const speedup = median(kind.speedups);
      const overLimit = median(kind.overLimit);
      if (runs > 1) {
        lines.push(
          `| ${scale} | ours, ${label}, median of ${runs} | | ${s(median(kind.walls))} | | ${fmt(median(kind.rss))} | | | | | | | | ${speedup.toFixed(2)} | ${overLimit.toFixed(2)} |`,
        );
        console.log(lines.at(-1));
      }
      const peak = Math.max(...kind.rss);
      const target = kind.targets.get(scale);
      const limitTarget = kind === kinds[1] ? TARGETS.repeatOverLimit.get(scale) : undefined;
      verdicts.push(
        [
          `scale ${scale}, ${label}: ${speedup.toFixed(2)}× raw COPY${runs > 1 ? ` (median of ${runs})` : ""}`,
          target ? ` (target ≥ ${target.toFixed(1)}: ${ok(speedup >= target)})` : "",
          `, ${overLimit.toFixed(2)}× the server-alone limit's time`,
          limitTarget ? ` (target ≤ ${limitTarget.toFixed(1)}: ${ok(overLimit <= limitTarget)})` : "",
          `; peak RSS ${fmt(peak)} MB (target < ${TARGETS.rssMb}: ${ok(peak < TARGETS.rssMb)})`,
        ].join(""),
      );
    }
    if (prismaScales.has(scale)) {
      const prisma = run(scale, "prisma");
      const q = prisma.phases;
      lines.push(
        `| ${scale} | Prisma createMany | ${fmt(prisma.totalRows)} | ${s(prisma.wallMs)} | ${fmt(prisma.totalRows / (prisma.wallMs / 1000))} | ${fmt(prisma.maxRssKb / 1024)} | ${s(q.generate!)} | ${s(q.validate!)} | ${s(q.cleanup!)} | ${s(q.write!)} | ${s(q.verify!)} | | | ${(limits.rawCopyMs / prisma.wallMs).toFixed(2)} | |`,
      );
      console.log(lines.at(-1));
    }
  }
  const embeddedRows: string[] = [];
  if (withEmbedded) {
    embeddedRows.push("| embedded PostgreSQL command | wall s | peak RSS MB |", "|---|---:|---:|");
    for (const r of embedded(TARGETS.embeddedScale)) {
      embeddedRows.push(
        `| \`db:${r.command} --scale ${TARGETS.embeddedScale}\`${r.command === "reset" ? " (new database)" : " (existing database)"} | ${s(r.wallMs)} | ${fmt(r.maxRssKb / 1024)} |`,
      );
      console.log(embeddedRows.at(-1));
    }
  }
  const warm = await warmSecondCall();
  console.log(`\n${lines.join("\n")}\n`);
  if (embeddedRows.length > 0) console.log(`${embeddedRows.join("\n")}\n`);
  console.log(
    `wall s: the whole seed process (start-up included); rows/s = rows / wall s; × raw COPY = raw COPY s / our wall s; ÷ limit = our wall s / the server-alone limit's s (load + rebuild); each measured pair by pair in this run.`,
  );
  console.log(`warm second seedDatabase() call, dev profile, same process and pool: ${fmt(warm)} ms\n`);
  console.log(`targets:\n${verdicts.map((v) => `  ${v}`).join("\n")}`);
  const admin2 = new pg.Client({ connectionString: withDatabase(base, "postgres").url });
  await admin2.connect();
  await admin2.query(`DROP DATABASE IF EXISTS ${ident(scratch.database)} WITH (FORCE)`);
  await admin2.end();
}

await main();
