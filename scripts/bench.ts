// npm run bench: measures the seed on a scratch database and prints one table, with targets.
//   our seed at scales 1, 100, 1000, as the command runs (wall time, rows/s, peak RSS, time per
//   phase): a first run, which generates the plan (and keeps it in a new plan cache), and a
//   repeat run, which streams the plan from that cache;
//   Prisma createMany of the same rows (scales 1 and 100);
//   the limit: a raw COPY FROM STDIN of the identical rows (exported from the seeded
//   database) into the same empty schema with its constraints, and our ratio to it;
//   the embedded database (PGlite): `db:reset --scale 10` into a new one, then `db:seed --scale 10`;
//   a second seedDatabase() of the dev profile in the same process (warm connection).
// BENCH_SCALES=1,100 shortens it; BENCH_RUNS=3 repeats each (ours, raw COPY) pair and adds the
// medians; BENCH_PRISMA=0 skips Prisma; BENCH_PGLITE=0 skips the embedded database. The scratch
// database is `<PGDATABASE>_bench`, dropped at the end.
import { spawnSync } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { loadEnv, resolveDatabaseConfig, withDatabase } from "../src/db/config.ts";
import { insertOrder } from "../src/core/datamodel.ts";
import { ident } from "../src/db/connection.ts";
import { migrateDatabase } from "../src/api/reset.ts";
import { seedDatabase } from "../src/api/seed.ts";

const base = resolveDatabaseConfig(loadEnv());
const scratch = withDatabase(base, `${base.database}_bench`);
const scales = (process.env.BENCH_SCALES ?? "1,100,1000").split(",").map(Number);
const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 1) || 1);
const prismaScales = new Set(process.env.BENCH_PRISMA === "0" ? [] : [1, 100]);
const withPglite = process.env.BENCH_PGLITE !== "0";

/** What issue 13 asks of the bulk path (README, "Performance"). */
const TARGETS = {
  ratio: new Map([
    [100, 1.0],
    [1000, 1.6],
  ]),
  rssMb: 256,
  pgliteScale: 10,
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
  const dir = mkdtempSync(join(tmpdir(), "bench-pglite-"));
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

/** Exports every seeded table, then times loading it back with plain COPY in one transaction. */
async function rawCopyLimit(rows: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "bench-copy-"));
  try {
    await withClient(async (client) => {
      for (const t of order)
        await pipeline(client.query(copyTo(`COPY ${ident(t.name)} TO STDOUT`)), createWriteStream(join(dir, t.name)));
    });
    return await withClient(async (client) => {
      await client.query("BEGIN");
      await client.query(
        `TRUNCATE TABLE ${[...order]
          .reverse()
          .map((t) => ident(t.name))
          .join(", ")}`,
      );
      await client.query("COMMIT");
      const started = performance.now();
      await client.query("BEGIN");
      for (const t of order)
        await pipeline(createReadStream(join(dir, t.name)), client.query(copyFrom(`COPY ${ident(t.name)} FROM STDIN`)));
      await client.query("COMMIT");
      const ms = performance.now() - started;
      const [{ n }] = (
        await client.query(`SELECT ${order.map((t) => `(SELECT count(*) FROM ${ident(t.name)})`).join(" + ")} AS n`)
      ).rows;
      if (Number(n) !== rows) throw new Error(`raw COPY loaded ${n} rows, expected ${rows}`);
      return ms;
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
    "| scale | writer | rows | wall s | rows/s | peak RSS MB | generate s | validate s | cleanup s | write s | verify s | raw COPY s | raw COPY rows/s | ours / limit |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const verdicts: string[] = [];
  const ok = (pass: boolean) => (pass ? "met" : "NOT MET");
  for (const scale of scales) {
    // Pair by pair: a first run (plan generated), the raw COPY of its rows, a repeat run (plan cached).
    const kinds = [
      {
        label: "first run, plan generated",
        ratios: [] as number[],
        rss: [] as number[],
        walls: [] as number[],
        cached: 0,
      },
      {
        label: "repeat run, plan cached",
        ratios: [] as number[],
        rss: [] as number[],
        walls: [] as number[],
        cached: 0,
      },
    ];
    let limitMs = 0;
    for (let r = 0; r < runs; r++) {
      const cache = mkdtempSync(join(tmpdir(), "bench-cache-"));
      try {
        const first = ours(scale, cache);
        limitMs = await rawCopyLimit(first.totalRows);
        const repeat = ours(scale, cache);
        if (first.fromCache || (repeat.totalRows > 50_000 && !repeat.fromCache))
          throw new Error(`scale ${scale}: the plan cache was not used as expected`);
        for (const [k, result] of [first, repeat].entries()) {
          const kind = kinds[k]!;
          const oursRate = result.totalRows / (result.wallMs / 1000);
          const limitRate = result.totalRows / (limitMs / 1000);
          kind.ratios.push(oursRate / limitRate);
          kind.rss.push(result.maxRssKb / 1024);
          kind.walls.push(result.wallMs);
          if (result.fromCache) kind.cached += 1;
          const p = result.phases;
          const label = k === 1 && !result.fromCache ? "repeat run, plan generated (too small to cache)" : kind.label;
          lines.push(
            `| ${scale} | ours (${result.method}), ${label}${runs > 1 ? `, run ${r + 1}` : ""} | ${fmt(result.totalRows)} | ${s(result.wallMs)} | ${fmt(oursRate)} | ${fmt(result.maxRssKb / 1024)} | ${s(p.generate!)} | ${s(p.validate!)} | ${s(p.cleanup!)} | ${s(p.write!)} | ${s(p.verify!)} | ${s(limitMs)} | ${fmt(limitRate)} | ${(oursRate / limitRate).toFixed(2)} |`,
          );
          console.log(lines.at(-1));
        }
      } finally {
        rmSync(cache, { recursive: true, force: true });
      }
    }
    const target = TARGETS.ratio.get(scale);
    for (const kind of kinds) {
      const label =
        kind === kinds[1] && kind.cached === 0 ? "repeat run, plan generated (too small to cache)" : kind.label;
      if (runs > 1) {
        lines.push(
          `| ${scale} | ours, ${label}, median of ${runs} | | ${s(median(kind.walls))} | | ${fmt(median(kind.rss))} | | | | | | | | ${median(kind.ratios).toFixed(2)} |`,
        );
        console.log(lines.at(-1));
      }
      const ratio = median(kind.ratios);
      const peak = Math.max(...kind.rss);
      verdicts.push(
        `scale ${scale}, ${label}: ours / raw COPY ${ratio.toFixed(2)}${runs > 1 ? ` (median of ${runs})` : ""}${target ? ` (target ≥ ${target.toFixed(1)}: ${ok(ratio >= target)})` : ""}; peak RSS ${fmt(peak)} MB (target < ${TARGETS.rssMb}: ${ok(peak < TARGETS.rssMb)})`,
      );
    }
    if (prismaScales.has(scale)) {
      const prisma = run(scale, "prisma");
      const q = prisma.phases;
      lines.push(
        `| ${scale} | Prisma createMany | ${fmt(prisma.totalRows)} | ${s(prisma.wallMs)} | ${fmt(prisma.totalRows / (prisma.wallMs / 1000))} | ${fmt(prisma.maxRssKb / 1024)} | ${s(q.generate!)} | ${s(q.validate!)} | ${s(q.cleanup!)} | ${s(q.write!)} | ${s(q.verify!)} | | | ${(limitMs / prisma.wallMs).toFixed(2)} |`,
      );
      console.log(lines.at(-1));
    }
  }
  const pglite: string[] = [];
  if (withPglite) {
    pglite.push("| embedded (PGlite) command | wall s | peak RSS MB |", "|---|---:|---:|");
    for (const r of embedded(TARGETS.pgliteScale)) {
      pglite.push(
        `| \`db:${r.command} --scale ${TARGETS.pgliteScale}\`${r.command === "reset" ? " (new database)" : " (existing database)"} | ${s(r.wallMs)} | ${fmt(r.maxRssKb / 1024)} |`,
      );
      console.log(pglite.at(-1));
    }
  }
  const warm = await warmSecondCall();
  console.log(`\n${lines.join("\n")}\n`);
  if (pglite.length > 0) console.log(`${pglite.join("\n")}\n`);
  console.log(
    `wall s: the whole seed process (start-up included); rows/s = rows / wall s; ours / limit = our rows/s over raw COPY rows/s, measured pair by pair in this run.`,
  );
  console.log(`warm second seedDatabase() call, dev profile, same process and pool: ${fmt(warm)} ms\n`);
  console.log(`targets:\n${verdicts.map((v) => `  ${v}`).join("\n")}`);
  const admin2 = new pg.Client({ connectionString: withDatabase(base, "postgres").url });
  await admin2.connect();
  await admin2.query(`DROP DATABASE IF EXISTS ${ident(scratch.database)} WITH (FORCE)`);
  await admin2.end();
}

await main();
