// The embedded default's figures (issue 20), each command as a user runs it (`node
// bin/chatgenius-seed.mjs …`, start-up included, peak RSS of the process), in alternation, medians:
//   - `db:seed` (dev) of an existing embedded folder against the same seed on the server (target ≤ 2×, ≤ 250 MB);
//   - `db:reset` into a new folder of a project the machine has used (target ≤ 3 s);
//   - a new machine's first `db:reset`: nothing in the user's cache, the cluster files shipped in
//     assets/ (no initdb; it runs only for another PGlite version) (target ≤ 6 s, ≤ 600 MB);
//   - where an embedded `db:seed` goes: PGlite's start, the socket server, the first query;
//   - the bulk write into PGlite: COPY from a blob against the JSON path (INSERT … SELECT FROM
//     jsonb_populate_recordset), the same chunks, dev and --scale 10.
//   BENCH_RUNS (default 5); BENCH_CLI_ROOT runs the commands of another checkout (the before figures). Needs a server for the server row (DATABASE_URL/PG*; database `<PGDATABASE>_embbench`).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { loadEnv, resolveDatabaseConfig, withDatabase } from "../src/db/config.ts";
import { SERVER_VARIABLES, startEmbedded } from "../src/db/embedded.ts";
import { migrateDatabase } from "../src/api/reset.ts";
import { planChunks } from "../src/plan/plan.ts";
import { validatedChunks } from "../src/plan/validate.ts";
import { encodedChunks } from "../src/generation/generators.ts";
import { writeWithCopy } from "../src/write/writer.ts";
import { createEventLog } from "../src/core/log.ts";
import type { EncodedChunk } from "../src/write/copy.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CLI_ROOT = process.env.BENCH_CLI_ROOT || ROOT;
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

/** One CLI command as a user runs it: wall seconds and the process's peak RSS (MB). */
function command(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): { s: number; mb: number } {
  const rss = join(tmpdir(), `embbench-rss-${process.pid}-${Math.random()}`);
  const t = performance.now();
  const run = spawnSync(
    process.execPath,
    ["--import", join(ROOT, "scripts/peak-rss.mjs"), join(CLI_ROOT, "bin/chatgenius-seed.mjs"), ...args],
    { cwd: options.cwd, env: { ...options.env, PEAK_RSS_FILE: rss }, encoding: "utf8" },
  );
  const s = (performance.now() - t) / 1000;
  if (run.status !== 0) throw new Error(`${args.join(" ")} failed: ${run.stderr}`);
  const mb = Number(readFileSync(rss, "utf8").trim()) / 1024;
  rmSync(rss, { force: true });
  return { s, mb };
}

// ---- The commands, in alternation ----
const project = mkdtempSync(join(tmpdir(), "embbench-"));
const cache = mkdtempSync(join(tmpdir(), "embbench-cache-"));
await migrateDatabase({ env: {}, databaseUrl: target.url });
const embeddedEnv = { ...noServer, XDG_CACHE_HOME: cache };
command(["reset"], { cwd: project, env: embeddedEnv });
const rows: Record<string, { s: number; mb: number }[]> = { server: [], seed: [], reset: [], first: [] };
for (let i = 0; i < runs; i++) {
  rows.server!.push(command(["seed"], { cwd: project, env: { ...process.env, DATABASE_URL: target.url } }));
  rows.seed!.push(command(["seed"], { cwd: project, env: embeddedEnv }));
  const fresh = mkdtempSync(join(tmpdir(), "embbench-new-"));
  rows.reset!.push(command(["reset"], { cwd: fresh, env: embeddedEnv }));
  rmSync(fresh, { recursive: true, force: true });
  const machine = mkdtempSync(join(tmpdir(), "embbench-machine-"));
  rows.first!.push(command(["reset"], { cwd: machine, env: { ...noServer, XDG_CACHE_HOME: join(machine, "cache") } }));
  rmSync(machine, { recursive: true, force: true });
}

// ---- Where an embedded command's start goes (in this process) ----
const starts: { pglite: number; socket: number; query: number; rss: number }[] = [];
for (let i = 0; i < runs; i++) {
  const child = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `
    const t0 = performance.now();
    const { PGlite } = await import("@electric-sql/pglite");
    const db = await PGlite.create(${JSON.stringify(join(project, ".chatgenius/pglite"))}, { startParams: [...PGlite.defaultStartParams, "-c", "shared_buffers=16MB"] });
    const t1 = performance.now();
    const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
    const server = new PGLiteSocketServer({ db, port: 0, host: "127.0.0.1" });
    await server.start();
    const t2 = performance.now();
    const pg = (await import("pg")).default;
    const c = new pg.Client({ connectionString: "postgresql://postgres@127.0.0.1:" + server.port + "/postgres" });
    await c.connect();
    await c.query("SELECT count(*) FROM users");
    const t3 = performance.now();
    await c.end(); await server.stop(); await db.close();
    console.log(JSON.stringify({ pglite: t1 - t0, socket: t2 - t1, query: t3 - t2, rss: process.resourceUsage().maxRSS / 1024 }));
  `,
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  if (child.status !== 0) throw new Error(child.stderr);
  starts.push(JSON.parse(child.stdout.trim()));
}

// ---- The bulk write into PGlite: COPY from a blob against JSON ----
const bulk: Record<string, number[]> = {};
const db = await startEmbedded({ dir: join(project, ".chatgenius/pglite"), env: embeddedEnv });
try {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  for (const scale of [1, 10]) {
    const plan = { profile: "dev" as const, scale, seed: 7 };
    const encoded: Record<"copy" | "json", EncodedChunk[]> = { copy: [], json: [] };
    for (const format of ["copy", "json"] as const)
      for await (const chunk of encodedChunks(validatedChunks(planChunks(plan)), undefined, format))
        encoded[format].push(chunk);
    for (let i = 0; i < runs; i++) {
      for (const format of ["copy", "json"] as const) {
        async function* source() {
          yield* encoded[format];
        }
        const t = performance.now();
        await writeWithCopy(
          client,
          source(),
          createEventLog(() => {}),
        );
        (bulk[`${format} ${scale}`] ??= []).push(performance.now() - t);
      }
    }
  }
  await client.end();
} finally {
  await db.stop();
}

const med = (k: string, f: "s" | "mb") => median(rows[k]!.map((r) => r[f]));
const ratio = med("seed", "s") / med("server", "s");
console.log(`\nThe embedded database (PGlite), ${runs} runs each in alternation, medians (range):\n`);
console.log("| command | wall s | peak RSS MB | target |");
console.log("|---|---:|---:|---|");
console.log(
  `| \`db:seed\` (dev, 2,070 rows) on the server | ${med("server", "s").toFixed(2)} (${range(rows.server!.map((r) => r.s))}) | ${med("server", "mb").toFixed(0)} | |`,
);
console.log(
  `| \`db:seed\` (dev) of an existing embedded folder | ${med("seed", "s").toFixed(2)} (${range(rows.seed!.map((r) => r.s))}) | ${med("seed", "mb").toFixed(0)} | ≤ 2× the server (${ratio.toFixed(2)}×), ≤ 250 MB: ${ratio <= 2 && med("seed", "mb") <= 250 ? "met" : "NOT MET"} |`,
);
console.log(
  `| \`db:reset\` into a new folder | ${med("reset", "s").toFixed(2)} (${range(rows.reset!.map((r) => r.s))}) | ${med("reset", "mb").toFixed(0)} | ≤ 3 s: ${med("reset", "s") <= 3 ? "met" : "NOT MET"} |`,
);
console.log(
  `| a new machine's first \`db:reset\` (the shipped cluster files, no initdb) | ${med("first", "s").toFixed(2)} (${range(rows.first!.map((r) => r.s))}) | ${med("first", "mb").toFixed(0)} | ≤ 6 s, ≤ 600 MB: ${med("first", "s") <= 6 && med("first", "mb") <= 600 ? "met" : "NOT MET"} |`,
);
console.log(
  `\nAn embedded command's start, ms (median): PGlite (load + open the folder) ${median(starts.map((x) => x.pglite)).toFixed(0)}, socket server ${median(starts.map((x) => x.socket)).toFixed(0)}, pg connect + first query ${median(starts.map((x) => x.query)).toFixed(0)}; peak ${median(starts.map((x) => x.rss)).toFixed(0)} MB`,
);
console.log(`\nBulk write into PGlite (writeWithCopy, same chunks), ms (median):\n`);
console.log("| plan | COPY from a blob | JSON (jsonb_populate_recordset) |");
console.log("|---|---:|---:|");
for (const scale of [1, 10])
  console.log(
    `| dev${scale > 1 ? ` --scale ${scale}` : ""} | ${median(bulk[`copy ${scale}`]!).toFixed(0)} | ${median(bulk[`json ${scale}`]!).toFixed(0)} |`,
  );

rmSync(project, { recursive: true, force: true });
rmSync(cache, { recursive: true, force: true });
const admin = new pg.Client({ connectionString: withDatabase(server, "postgres").url });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS "${target.database}" WITH (FORCE)`);
await admin.end();
