// The embedded default's figures (issue 27), each command as a user runs it (`node
// bin/chatgenius-seed.mjs …`, start-up included, peak RSS of the process), pair by pair in one
// run, medians (range):
//   - `db:seed` (dev) with the embedded PostgreSQL (its start and stop included) against the same
//     seed on the server (target ≤ 1.3×; our process ≤ 120 MB; the server's memory beside it);
//   - a new machine's first `db:reset` (empty HOME, new project folder: initdb) (target ≤ 3 s);
//   - `db:reset` into an existing folder (target ≤ 1.5 s);
//   - `db:serve`: one connection holds a transaction open (BEGIN, UPDATE of every message), 20
//     clients connect at once, each one's time from its connect to the answer of SELECT count(*)
//     FROM messages (target ≤ 150 ms each), and when its session was ready.
//   BENCH_RUNS (default 5). Needs a server for the server row (DATABASE_URL/PG*; database `<PGDATABASE>_embbench`).
import { spawn } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { loadEnv, resolveDatabaseConfig, SERVER_VARIABLES, withDatabase } from "../src/db/config.ts";
import { EMBEDDED_DIR } from "../src/db/embedded.ts";
import { migrateDatabase } from "../src/api/reset.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const runs = Number(process.env.BENCH_RUNS ?? 5);
const server = resolveDatabaseConfig(loadEnv());
const target = withDatabase(server, `${server.database}_embbench`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const range = (xs: number[], digits = 2) => `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
const noServer = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) => !(SERVER_VARIABLES as readonly string[]).includes(name) && name !== "TEST_DATABASE_URL",
  ),
);
/** A folder the embedded server may use (as root it runs as `postgres`, who must enter it). */
const folder = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
};

/**
 * The embedded server's memory now: the proportional set size of the postmaster and its
 * children, MB (Linux). Its children from /proc/<pid>/task/<pid>/children, not a scan of every
 * process: sampled every 20 ms while a command runs, the scan took CPU from the command measured.
 */
function serverMb(project: string): number {
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(project, EMBEDDED_DIR, "data", "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return 0;
  }
  let kb = 0;
  try {
    const children = readFileSync(`/proc/${postmaster}/task/${postmaster}/children`, "utf8").trim().split(/\s+/);
    for (const pid of [String(postmaster), ...children.filter(Boolean)]) {
      try {
        kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
      } catch {
        // Gone meanwhile.
      }
    }
  } catch {
    return 0;
  }
  return kb / 1024;
}

/** One CLI command as a user runs it: wall seconds, our process's peak RSS and the server's peak (MB). */
async function command(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ s: number; mb: number; serverMb: number }> {
  const rss = join(tmpdir(), `embbench-rss-${process.pid}-${Math.random()}`);
  let serverPeak = 0;
  const sample = setInterval(() => {
    serverPeak = Math.max(serverPeak, serverMb(options.cwd));
  }, 20);
  const t = performance.now();
  const child = spawn(
    process.execPath,
    ["--import", join(ROOT, "scripts/peak-rss.mjs"), join(ROOT, "bin/chatgenius-seed.mjs"), ...args],
    { cwd: options.cwd, env: { ...options.env, PEAK_RSS_FILE: rss }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  const s = (performance.now() - t) / 1000;
  clearInterval(sample);
  if (code !== 0) throw new Error(`${args.join(" ")} failed: ${stderr}`);
  const mb = Number(readFileSync(rss, "utf8").trim()) / 1024;
  rmSync(rss, { force: true });
  return { s, mb, serverMb: serverPeak };
}

const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
const loadBefore = load();

// ---- The commands, pair by pair ----
const project = folder("embbench-");
await migrateDatabase({ env: {}, databaseUrl: target.url });
await command(["reset"], { cwd: project, env: noServer });
const rows: Record<string, { s: number; mb: number; serverMb: number }[]> = {
  server: [],
  seed: [],
  first: [],
  reset: [],
};
for (let i = 0; i < runs; i++) {
  rows.server!.push(await command(["seed"], { cwd: project, env: { ...process.env, DATABASE_URL: target.url } }));
  rows.seed!.push(await command(["seed"], { cwd: project, env: noServer }));
  const machine = folder("embbench-machine-");
  const home = join(machine, "home");
  rows.first!.push(await command(["reset"], { cwd: machine, env: { ...noServer, HOME: home, XDG_CACHE_HOME: "" } }));
  rows.reset!.push(await command(["reset"], { cwd: machine, env: { ...noServer, HOME: home, XDG_CACHE_HOME: "" } }));
  rmSync(machine, { recursive: true, force: true });
}

// ---- db:serve: a transaction held open, 20 clients at once; the same on the server ----
/**
 * One round: a transaction held open on `url` (BEGIN, then UPDATE of every message), 20 clients
 * connecting at once, each running SELECT count(*) FROM messages; per client, the ms from the
 * start of its connect to its answer, and to its session being ready (connect done), which is
 * the server's start of a backend (fork, authentication, catalog caches) and the TCP handshake.
 */
async function crowd(url: string): Promise<{ answer: number; connected: number }[]> {
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  await holder.query("BEGIN");
  await holder.query("UPDATE messages SET content = content");
  const answers = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const t = performance.now();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const connected = performance.now() - t;
      await client.query("SELECT count(*) FROM messages");
      const answer = performance.now() - t;
      await client.end();
      return { answer, connected };
    }),
  );
  await holder.query("ROLLBACK");
  await holder.end();
  return answers;
}
const serve = spawn(
  process.execPath,
  [join(ROOT, "bin/chatgenius-seed.mjs"), "serve", "--port", String(20000 + Math.floor(Math.random() * 12000))],
  { cwd: project, env: noServer, stdio: ["ignore", "pipe", "inherit"] },
);
let said = "";
serve.stdout.on("data", (d) => (said += d));
for (let i = 0; i < 600 && !/Ctrl-C to stop/.test(said); i++) await new Promise((r) => setTimeout(r, 50));
const url = /DATABASE_URL=(\S+)/.exec(said)?.[1];
if (!url) throw new Error(`db:serve did not start: ${said}`);
const answers: Record<"served" | "server", { answer: number; connected: number }[]> = { served: [], server: [] };
for (let round = 0; round < runs; round++) {
  answers.served.push(...(await crowd(url)));
  answers.server.push(...(await crowd(target.url)));
}
serve.kill("SIGINT");
await new Promise((resolve) => serve.on("exit", resolve));

const med = (k: string, f: "s" | "mb" | "serverMb") => median(rows[k]!.map((r) => r[f]));
const ratios = rows.seed!.map((r, i) => r.s / rows.server![i]!.s);
const ratio = median(ratios);
console.log(
  `\nThe embedded PostgreSQL, ${runs} runs each, pair by pair, medians (range); load average ${loadBefore} before, ${load()} after:\n`,
);
console.log("| command | wall s | peak RSS MB (ours) | server MB (PSS) | target |");
console.log("|---|---:|---:|---:|---|");
console.log(
  `| \`db:seed\` (dev) on the server | ${med("server", "s").toFixed(2)} (${range(rows.server!.map((r) => r.s))}) | ${med("server", "mb").toFixed(0)} | | |`,
);
console.log(
  `| \`db:seed\` (dev) embedded, start and stop included | ${med("seed", "s").toFixed(2)} (${range(rows.seed!.map((r) => r.s))}) | ${med("seed", "mb").toFixed(0)} | ${med("seed", "serverMb").toFixed(0)} | ≤ 1.3× the server (${ratio.toFixed(2)}×, median of the pairs), ≤ 120 MB: ${ratio <= 1.3 && med("seed", "mb") <= 120 ? "met" : "NOT MET"} |`,
);
console.log(
  `| a new machine's first \`db:reset\` (empty HOME, new folder: initdb) | ${med("first", "s").toFixed(2)} (${range(rows.first!.map((r) => r.s))}) | ${med("first", "mb").toFixed(0)} | ${med("first", "serverMb").toFixed(0)} | ≤ 3 s: ${med("first", "s") <= 3 ? "met" : "NOT MET"} |`,
);
console.log(
  `| \`db:reset\` into an existing folder | ${med("reset", "s").toFixed(2)} (${range(rows.reset!.map((r) => r.s))}) | ${med("reset", "mb").toFixed(0)} | ${med("reset", "serverMb").toFixed(0)} | ≤ 1.5 s: ${med("reset", "s") <= 1.5 ? "met" : "NOT MET"} |`,
);
console.log(`\n\`db:seed\` embedded / on the server, each pair: ${ratios.map((r) => `${r.toFixed(2)}×`).join(", ")}`);
const crowdLine = (xs: { answer: number; connected: number }[]) => {
  const answer = xs.map((x) => x.answer);
  const connected = xs.map((x) => x.connected);
  return `median ${median(answer).toFixed(0)} ms, max ${Math.max(...answer).toFixed(0)} ms (connected: median ${median(connected).toFixed(0)} ms, max ${Math.max(...connected).toFixed(0)} ms)`;
};
const servedMax = Math.max(...answers.served.map((x) => x.answer));
console.log(
  `\n\`db:serve\`, one transaction held open (UPDATE of every message), 20 clients connecting at once, connect + SELECT count(*) FROM messages (${answers.served.length} answers): ${crowdLine(answers.served)}; ≤ 150 ms each: ${servedMax <= 150 ? "met" : "NOT MET"}. The same on the server, in alternation: ${crowdLine(answers.server)}`,
);

rmSync(project, { recursive: true, force: true });
const admin = new pg.Client({ connectionString: withDatabase(server, "postgres").url });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS "${target.database}" WITH (FORCE)`);
await admin.end();
