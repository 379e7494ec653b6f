// npm run bench: measures the seed on a scratch database and prints one table.
//   our seed at scales 1, 100, 1000 (wall time, rows/s, peak RSS, time per phase);
//   Prisma createMany of the same rows (scales 1 and 100);
//   the limit: a raw COPY FROM STDIN of the identical rows (exported from the seeded
//   database) into the same empty schema with its constraints, and our ratio to it;
//   a second seedDatabase() of the dev profile in the same process (warm connection).
// BENCH_SCALES=1,100 shortens it. The scratch database is `<PGDATABASE>_bench`, dropped at the end.
import { spawnSync } from "node:child_process";
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from "node:fs";
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
const prismaScales = new Set([1, 100]);
const order = insertOrder();

interface Child {
  method: string;
  totalRows: number;
  phases: Record<string, number>;
  failed: number;
  maxRssKb: number;
}

function run(scale: number, method: string): Child & { wallMs: number } {
  const started = performance.now();
  const child = spawnSync(process.execPath, [...process.execArgv, "scripts/bench-child.ts", scratch.url, String(scale), method], { encoding: "utf8", maxBuffer: 1 << 24 });
  const wallMs = performance.now() - started;
  if (child.status !== 0) throw new Error(`bench run failed (scale ${scale}, ${method}): ${child.stderr}`);
  return { ...(JSON.parse(child.stdout.trim().split("\n").pop()!) as Child), wallMs };
}

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
      for (const t of order) await pipeline(client.query(copyTo(`COPY ${ident(t.name)} TO STDOUT`)), createWriteStream(join(dir, t.name)));
    });
    return await withClient(async (client) => {
      await client.query("BEGIN");
      await client.query(`TRUNCATE TABLE ${[...order].reverse().map((t) => ident(t.name)).join(", ")}`);
      await client.query("COMMIT");
      const started = performance.now();
      await client.query("BEGIN");
      for (const t of order) await pipeline(createReadStream(join(dir, t.name)), client.query(copyFrom(`COPY ${ident(t.name)} FROM STDIN`)));
      await client.query("COMMIT");
      const ms = performance.now() - started;
      const [{ n }] = (await client.query(`SELECT ${order.map((t) => `(SELECT count(*) FROM ${ident(t.name)})`).join(" + ")} AS n`)).rows;
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
  console.log(`bench on ${scratch.target}, node ${process.version}, ${(await import("node:os")).cpus().length} cores\n`);

  const lines = [
    "| scale | writer | rows | wall s | rows/s | peak RSS MB | generate s | validate s | cleanup s | write s | verify s | raw COPY s | raw COPY rows/s | ours / limit |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const scale of scales) {
    const ours = run(scale, "auto");
    const limitMs = await rawCopyLimit(ours.totalRows);
    const oursRate = ours.totalRows / (ours.wallMs / 1000);
    const limitRate = ours.totalRows / (limitMs / 1000);
    const p = ours.phases;
    lines.push(`| ${scale} | ours (${ours.method}) | ${fmt(ours.totalRows)} | ${s(ours.wallMs)} | ${fmt(oursRate)} | ${fmt(ours.maxRssKb / 1024)} | ${s(p.generate!)} | ${s(p.validate!)} | ${s(p.cleanup!)} | ${s(p.write!)} | ${s(p.verify!)} | ${s(limitMs)} | ${fmt(limitRate)} | ${(oursRate / limitRate).toFixed(2)} |`);
    console.log(lines.at(-1));
    if (prismaScales.has(scale)) {
      const prisma = run(scale, "prisma");
      const q = prisma.phases;
      lines.push(`| ${scale} | Prisma createMany | ${fmt(prisma.totalRows)} | ${s(prisma.wallMs)} | ${fmt(prisma.totalRows / (prisma.wallMs / 1000))} | ${fmt(prisma.maxRssKb / 1024)} | ${s(q.generate!)} | ${s(q.validate!)} | ${s(q.cleanup!)} | ${s(q.write!)} | ${s(q.verify!)} | | | ${(prisma.totalRows / (prisma.wallMs / 1000) / limitRate).toFixed(2)} |`);
      console.log(lines.at(-1));
    }
  }
  const warm = await warmSecondCall();
  console.log(`\n${lines.join("\n")}\n`);
  console.log(`wall s: the whole seed process (start-up included); rows/s = rows / wall s; ours / limit = our rows/s over raw COPY rows/s.`);
  console.log(`warm second seedDatabase() call, dev profile, same process and pool: ${fmt(warm)} ms`);
  const admin2 = new pg.Client({ connectionString: withDatabase(base, "postgres").url });
  await admin2.connect();
  await admin2.query(`DROP DATABASE IF EXISTS ${ident(scratch.database)} WITH (FORCE)`);
  await admin2.end();
}

await main();
