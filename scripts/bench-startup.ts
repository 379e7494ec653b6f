// Start-up of the commands a developer runs dozens of times a day, against a bare `node -e 0`
// run on the same machine in the same moment: each round runs the baseline, then the command,
// and the ratio is taken round by round (so drift in the machine's speed cancels out); the
// table shows medians and the range. Targets (issue 11): --help ≤ 2.5×; a minimal seed ≤ 5×
// with peak RSS ≤ 160 MB.
//   BENCH_STARTUP_ROUNDS (default 15). The scratch database is `<PGDATABASE>_bench_startup`.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { loadEnv, resolveDatabaseConfig, withDatabase } from "../src/db/config.ts";

const base = resolveDatabaseConfig(loadEnv());
const scratch = withDatabase(base, `${base.database}_bench_startup`);
const rounds = Number(process.env.BENCH_STARTUP_ROUNDS ?? 15);
const rssDir = mkdtempSync(join(tmpdir(), "bench-startup-"));
const cli = ["bin/chatgenius-seed.mjs"];

interface Case {
  name: string;
  argv: string[];
  target?: { ratio: number; rssMb?: number };
}

const CASES: Case[] = [
  { name: "--help", argv: [...cli, "--help"], target: { ratio: 2.5 } },
  {
    name: "db:seed --profile minimal (15 rows)",
    argv: [...cli, "seed", "--profile", "minimal"],
    target: { ratio: 5, rssMb: 160 },
  },
  { name: "db:seed (dev, 2,072 rows)", argv: [...cli, "seed"] },
];

/** One run: wall ms and peak RSS (KiB) of the process. */
function once(argv: string[], tag: string): { ms: number; rssKb: number } {
  const file = join(rssDir, `${tag}-${Math.random()}`);
  const started = performance.now();
  const child = spawnSync(process.execPath, ["--import", "./scripts/peak-rss.mjs", ...argv], {
    encoding: "utf8",
    env: { ...process.env, DATABASE_URL: scratch.url, PEAK_RSS_FILE: file },
  });
  const ms = performance.now() - started;
  if (child.status !== 0) throw new Error(`${argv.join(" ")} exited ${child.status}: ${child.stderr}`);
  return { ms, rssKb: Number(readFileSync(file, "utf8").trim()) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number, digits = 2) => n.toFixed(digits);

// The scratch database, migrated and seeded once (and dist/ current) before anything is timed.
for (const argv of [[...cli, "reset", "--profile", "minimal"]]) once(argv, "setup");

console.log(`\nStart-up against \`node -e 0\`, ${rounds} rounds, ratio per round (median, min–max):\n`);
console.log("| command | wall ms | node -e 0 ms | ratio | peak RSS MB | target |");
console.log("|---|---:|---:|---:|---:|---|");
for (const c of CASES) {
  once(c.argv, "warmup");
  const ratios: number[] = [];
  const walls: number[] = [];
  const bases: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const b = once(["-e", "0"], "base");
    const a = once(c.argv, "case");
    ratios.push(a.ms / b.ms);
    walls.push(a.ms);
    bases.push(b.ms);
    rss.push(a.rssKb / 1024);
  }
  const ratio = median(ratios);
  const peak = Math.max(...rss);
  const target = c.target
    ? `≤ ${c.target.ratio}×${c.target.rssMb ? `, ≤ ${c.target.rssMb} MB` : ""}: ${ratio <= c.target.ratio && (!c.target.rssMb || peak <= c.target.rssMb) ? "met" : "MISSED"}`
    : "";
  console.log(
    `| ${c.name} | ${Math.round(median(walls))} | ${Math.round(median(bases))} | ${fmt(ratio)} (${fmt(Math.min(...ratios))}–${fmt(Math.max(...ratios))}) | ${Math.round(peak)} | ${target} |`,
  );
}
console.log(`\nThrough npm (\`npm run db:seed\`), npm's own start-up adds about 0.2 s to each.`);
const admin = new pg.Client({ connectionString: withDatabase(base, "postgres").url });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS "${scratch.database}" WITH (FORCE)`);
await admin.end();
rmSync(rssDir, { recursive: true, force: true });
