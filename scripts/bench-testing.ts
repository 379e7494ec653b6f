// The test kit's figures (issue 12): the first template build, its reuse, a clone per test file
// (median and p95, with and without a clone made ahead), per-test rollback overhead, and the
// same reset done by reseeding in a warm process. Target: clone median ≤ 0.5 × warm reseed.
// Then what a suite feels (issue 20): a scratch project of 20 test files of one small query
// each, run by Vitest with the kit's globalSetup + setupFiles and on one shared seeded database,
// in alternation; per-file overhead (target ≤ 50 ms), the hand-over across workers (median ≤ 5,
// p95 ≤ 20 ms), the same suite's first run (no clone ready) and the upkeep after a run.
//   BENCH_CLONES (default 30), BENCH_PROFILE (default dev), BENCH_SUITE_RUNS (default 5; 0 skips
//   the suite), BENCH_ONLY=suite (the suite alone), BENCH_KIT_ROOT (the suite on another build of
//   the package, an older checkout say: its kit may have no pool, so no upkeep is waited for and
//   no hand-over is recorded). Databases: `<PGDATABASE>_kitbench*`.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { loadEnv, resolveDatabaseConfig, withDatabase } from "../src/db/config.ts";
import { migrateDatabase } from "../src/api/reset.ts";
import { seedDatabase } from "../src/api/seed.ts";
import {
  createTestDatabase,
  prepareTemplate,
  READY_COMMENT,
  RollbackPool,
  settleReadyClones,
} from "../src/testing/index.ts";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
import type { Profile } from "../src/plan/plan.ts";

const server = resolveDatabaseConfig(loadEnv());
const base = withDatabase(server, `${server.database}_kitbench`);
const clones = Number(process.env.BENCH_CLONES ?? 30);
const profile = (process.env.BENCH_PROFILE ?? "dev") as Profile;
const options = { env: {}, databaseUrl: base.url, profile, seed: Date.now() % 1_000_000 };

const ms = async (work: () => Promise<unknown>) => {
  const t = performance.now();
  await work();
  return performance.now() - t;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;
const fmt = (n: number) => n.toFixed(1);

// BENCH_ONLY=suite runs only the suite below.
if (process.env.BENCH_ONLY !== "suite") await cloneBench();

async function cloneBench(): Promise<void> {
  // A fresh seed each run, so that the first build is a real build.
  const build = await ms(() => prepareTemplate(options));
  const template = await prepareTemplate(options);
  const reuse: number[] = [];
  for (let i = 0; i < 10; i++) reuse.push(await ms(() => prepareTemplate(options)));

  async function clonesOf(ready: number): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < clones; i++) {
      let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
      times.push(await ms(async () => (db = await createTestDatabase({ template, ready }))));
      // A test file's work happens here; the next clone is made meanwhile.
      await new Promise((r) => setTimeout(r, 100));
      await settleReadyClones();
      await db!.drop();
    }
    return times;
  }
  const cold = await clonesOf(0);
  const warm = await clonesOf(1);

  // Per-test rollback: a test that writes one row, with and without begin/rollback around it.
  const scratch = await createTestDatabase({ template, ready: 0 });
  const rollbackPool = new RollbackPool({ connectionString: scratch.url });
  const plain = new pg.Client({ connectionString: scratch.url });
  await plain.connect();
  const write = (run: (sql: string) => Promise<unknown>, i: number) =>
    run(`UPDATE users SET full_name = 'x${i}' WHERE username = 'testuser1'`);
  const withRollback: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < 200; i++) {
    withRollback.push(
      await ms(async () => {
        await rollbackPool.begin();
        await write((sql) => rollbackPool.query(sql), i);
        await rollbackPool.rollback();
      }),
    );
    without.push(await ms(() => write((sql) => plain.query(sql), i)));
  }
  await plain.end();
  await rollbackPool.end();
  await scratch.drop();

  // The same reset by reseeding, in a warm process (pool and plan kept), as a suite would between files.
  const reseedDb = withDatabase(server, `${server.database}_kitbench_reseed`);
  await migrateDatabase({ env: {}, databaseUrl: reseedDb.url });
  const pool = new pg.Pool({ connectionString: reseedDb.url, max: 2 });
  await seedDatabase({ env: {}, databaseUrl: reseedDb.url, profile, pool });
  const reseed: number[] = [];
  for (let i = 0; i < 10; i++)
    reseed.push(await ms(() => seedDatabase({ env: {}, databaseUrl: reseedDb.url, profile, pool })));
  await pool.end();

  console.log(`\nTest kit (${profile} profile, ${clones} clones per row), ms:\n`);
  console.log("| measure | median | p95 |");
  console.log("|---|---:|---:|");
  console.log(`| first template build (migrate + seed + mark) | ${fmt(build)} | |`);
  console.log(`| template reuse (nothing changed) | ${fmt(median(reuse))} | ${fmt(p95(reuse))} |`);
  console.log(`| clone per test file (CREATE DATABASE … TEMPLATE) | ${fmt(median(cold))} | ${fmt(p95(cold))} |`);
  console.log(`| clone per test file, one made ahead | ${fmt(median(warm))} | ${fmt(p95(warm))} |`);
  console.log(
    `| per-test rollback overhead (begin + rollback, vs the same write committed) | ${fmt(median(withRollback) - median(without))} | |`,
  );
  console.log(
    `| reset by warm in-process reseed (seedDatabase, pool reused) | ${fmt(median(reseed))} | ${fmt(p95(reseed))} |`,
  );
  // The kit hands over clones made ahead (its Vitest setup does): that is the figure the target is for.
  const ratio = median(warm) / median(reseed);
  console.log(
    `\nclone / warm reseed: ${ratio.toFixed(2)} (target ≤ 0.5: ${ratio <= 0.5 ? "met" : "NOT MET"}); cloned on demand: ${(median(cold) / median(reseed)).toFixed(2)}`,
  );

  const admin = new pg.Client({ connectionString: withDatabase(server, "postgres").url });
  await admin.connect();
  for (const { datname } of (
    await admin.query(`SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1`, [
      `${READY_COMMENT} template=${template.name}`,
    ])
  ).rows)
    await admin.query(`DROP DATABASE "${datname}"`);
  await admin.query(`ALTER DATABASE "${template.name}" WITH IS_TEMPLATE false`);
  for (const name of [template.name, reseedDb.database])
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();
}

// ---- What a suite feels: 20 files, kit against one shared database (issue 20) ----
const suiteRuns = Number(process.env.BENCH_SUITE_RUNS ?? 5);
if (suiteRuns > 0) await suiteBench(suiteRuns);

async function suiteBench(runs: number): Promise<void> {
  const FILES = 20;
  // A project of its own, with the package installed as the app would have it (in node_modules,
  // so Vitest loads it as Node does, untransformed), its dependencies linked from ours.
  const kitRoot = process.env.BENCH_KIT_ROOT || ROOT;
  const hasPool = kitRoot === ROOT;
  execFileSync(process.execPath, [join(kitRoot, "scripts/build.mjs")], { stdio: "ignore" });
  const app = mkdtempSync(join(tmpdir(), "kit-suite-"));
  const modules = join(app, "node_modules");
  mkdirSync(modules);
  for (const entry of readdirSync(join(ROOT, "node_modules")))
    if (!entry.startsWith(".")) symlinkSync(join(ROOT, "node_modules", entry), join(modules, entry));
  const installed = join(modules, "chatgenius-seed");
  for (const part of ["package.json", "dist", "prisma", "bin"])
    cpSync(join(kitRoot, part), join(installed, part), { recursive: true });
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "suite", private: true, type: "module" }));
  for (let i = 1; i <= FILES; i++) {
    writeFileSync(
      join(app, `q${String(i).padStart(2, "0")}.test.ts`),
      `import pg from "pg";
import { expect, it } from "vitest";
it("reads the seeded users", async () => {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT count(*)::int AS n FROM users");
    expect(rows[0].n).toBeGreaterThan(0);
  } finally {
    await client.end();
  }
});
`,
    );
  }
  // Runs after the kit's setup file: records its hand-over, as measured by the kit itself.
  writeFileSync(
    join(app, "record.ts"),
    `import { appendFileSync } from "node:fs";
for (const entry of performance.getEntriesByName("chatgenius-seed:hand-over")) appendFileSync(process.env.BENCH_HANDOVER_LOG!, JSON.stringify({ ms: entry.duration, pooled: (entry as PerformanceMeasure).detail?.pooled }) + "\\n");
`,
  );
  writeFileSync(
    join(app, "kit.config.ts"),
    `import { defineConfig } from "vitest/config";
export default defineConfig({ test: { include: ["q*.test.ts"], globalSetup: ["chatgenius-seed/testing/global-setup"], setupFiles: ["chatgenius-seed/testing/setup", "./record.ts"] } });
`,
  );
  writeFileSync(
    join(app, "shared.config.ts"),
    `import { defineConfig } from "vitest/config";
export default defineConfig({ test: { include: ["q*.test.ts"] } });
`,
  );

  const suiteBase = withDatabase(server, `${server.database}_kitbench_suite`);
  const kitOptions = { env: {}, databaseUrl: suiteBase.url, profile };
  // The template as the installed copy keys it (it hashes its build, not our sources).
  const kit = (await import(join(installed, "dist/testing.js"))) as typeof import("../src/testing/index.ts");
  const suiteTemplate = await kit.prepareTemplate(kitOptions);
  const shared = withDatabase(server, `${server.database}_kitbench_shared`);
  const admin = new pg.Client({ connectionString: withDatabase(server, "postgres").url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${shared.database}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${shared.database}" TEMPLATE "${suiteTemplate.name}"`);
  const handOverLog = join(app, "hand-over.jsonl");
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NO_COLOR: "1",
    BENCH_HANDOVER_LOG: handOverLog,
    CHATGENIUS_SEED_PROFILE: profile,
  };
  delete env.CHATGENIUS_SEED_POOL_BACKGROUND;
  const vitest = (config: string, extra: Record<string, string>) => {
    const t = performance.now();
    const run = spawnSync(
      process.execPath,
      [join(ROOT, "node_modules/vitest/vitest.mjs"), "run", "--root", app, "--config", config],
      { cwd: app, encoding: "utf8", env: { ...env, ...extra }, timeout: 300_000 },
    );
    const wall = performance.now() - t;
    if (run.status !== 0 || !new RegExp(`Tests\\s+${FILES} passed`).test(run.stdout))
      throw new Error(`the scratch suite failed (${config}):\n${run.stdout}\n${run.stderr}`);
    const phase = (name: string) => {
      const found = new RegExp(`${name} ([\\d.]+)(m?s)`).exec(/Duration.*\(([^)]*)\)/.exec(run.stdout)?.[1] ?? "");
      return found ? Number(found[1]) * (found[2] === "s" ? 1000 : 1) : NaN;
    };
    return { wall, setup: phase("setup"), tests: phase("tests") };
  };
  const readyOf = async () =>
    (
      await admin.query(`SELECT count(*)::int AS n FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1`, [
        `${READY_COMMENT} template=${suiteTemplate.name}`,
      ])
    ).rows[0].n as number;
  const testDbsOf = async () =>
    (
      await admin.query(`SELECT count(*)::int AS n FROM pg_database WHERE starts_with(datname, $1)`, [
        `${suiteBase.database}_t_`,
      ])
    ).rows[0].n as number;
  // The upkeep after a kit run (detached): until the used clones are gone and the next run's ready.
  const upkeep = async () => {
    const t = performance.now();
    if (!hasPool) return 0;
    while ((await testDbsOf()) > 0 || (await readyOf()) < FILES) {
      if (performance.now() - t > 120_000) throw new Error("the pool's upkeep did not finish in 2 minutes");
      await new Promise((r) => setTimeout(r, 50));
    }
    return performance.now() - t;
  };
  const dropReady = async () => {
    for (const { datname } of (
      await admin.query(`SELECT datname FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1`, [
        `${READY_COMMENT} template=${suiteTemplate.name}`,
      ])
    ).rows)
      await admin.query(`DROP DATABASE "${datname}" WITH (FORCE)`);
  };

  const sharedRuns: ReturnType<typeof vitest>[] = [];
  const kitRuns: ReturnType<typeof vitest>[] = [];
  const firstRuns: ReturnType<typeof vitest>[] = [];
  const rerunRuns: ReturnType<typeof vitest>[] = [];
  const upkeeps: number[] = [];
  // Warm-up: the first kit run fills the pool; Vite's caches are made.
  vitest("kit.config.ts", { TEST_DATABASE_URL: suiteBase.url });
  await upkeep();
  vitest("shared.config.ts", { DATABASE_URL: shared.url });
  rmSync(handOverLog, { force: true });
  for (let round = 0; round < runs; round++) {
    sharedRuns.push(vitest("shared.config.ts", { DATABASE_URL: shared.url }));
    kitRuns.push(vitest("kit.config.ts", { TEST_DATABASE_URL: suiteBase.url }));
    // Run again at once: the last run's upkeep is still dropping and cloning.
    rerunRuns.push(vitest("kit.config.ts", { TEST_DATABASE_URL: suiteBase.url }));
    upkeeps.push(await upkeep());
  }
  const upkeepAfterRerun = upkeeps;
  const handOvers = (hasPool ? readFileSync(handOverLog, "utf8") : "")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { ms: number; pooled: boolean });
  for (let round = 0; round < Math.min(3, runs); round++) {
    await dropReady();
    firstRuns.push(vitest("kit.config.ts", { TEST_DATABASE_URL: suiteBase.url }));
    await upkeep();
  }
  // On demand: no clone ready (createTestDatabase would take one), a clone per file as it starts.
  await dropReady();
  const onDemand: number[] = [];
  for (let i = 0; i < 10; i++) {
    let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
    onDemand.push(await ms(async () => (db = await createTestDatabase({ template: suiteTemplate, ready: 0 }))));
    await db!.drop();
  }

  const m = (xs: { wall: number; setup: number; tests: number }[], k: "wall" | "setup" | "tests") =>
    median(xs.map((x) => x[k]));
  const perFile = (m(kitRuns, "wall") - m(sharedRuns, "wall")) / FILES;
  const firstPerFile = (m(firstRuns, "wall") - m(sharedRuns, "wall")) / FILES;
  const pooled = handOvers.filter((h) => h.pooled).map((h) => h.ms);
  console.log(
    `\nWhat a suite feels: ${FILES} test files of one small query, ${profile} profile, ${runs} runs each in alternation (medians), ms:\n`,
  );
  console.log("| suite | wall | Vitest setup | Vitest tests | per file vs shared |");
  console.log("|---|---:|---:|---:|---:|");
  console.log(
    `| one shared seeded database (no kit) | ${fmt(m(sharedRuns, "wall"))} | ${fmt(m(sharedRuns, "setup"))} | ${fmt(m(sharedRuns, "tests"))} | |`,
  );
  console.log(
    `| the kit, clones ready from the last run | ${fmt(m(kitRuns, "wall"))} | ${fmt(m(kitRuns, "setup"))} | ${fmt(m(kitRuns, "tests"))} | ${fmt(perFile)} |`,
  );
  console.log(
    `| the kit, run again at once (the last run's upkeep still going) | ${fmt(m(rerunRuns, "wall"))} | ${fmt(m(rerunRuns, "setup"))} | ${fmt(m(rerunRuns, "tests"))} | ${fmt((m(rerunRuns, "wall") - m(sharedRuns, "wall")) / FILES)} |`,
  );
  console.log(
    `| the kit, first run (no clone ready: ${FILES} made in globalSetup), ${firstRuns.length} runs | ${fmt(m(firstRuns, "wall"))} | ${fmt(m(firstRuns, "setup"))} | ${fmt(m(firstRuns, "tests"))} | ${fmt(firstPerFile)} |`,
  );
  console.log(`\n| measure | median | p95 |`);
  console.log("|---|---:|---:|");
  console.log(
    `| hand-over of a pooled clone in the setup file, across workers (${pooled.length} files) | ${pooled.length ? median(pooled).toFixed(2) : "-"} | ${pooled.length ? p95(pooled).toFixed(2) : "-"} |`,
  );
  console.log(
    `| a clone on demand (createTestDatabase, none ready) | ${fmt(median(onDemand))} | ${fmt(p95(onDemand))} |`,
  );
  console.log(
    `| upkeep after a run, detached, until the next run's ${FILES} are ready (waited for after the second run) | ${fmt(median(upkeepAfterRerun))} | ${fmt(p95(upkeepAfterRerun))} |`,
  );
  const verdict = (ok: boolean) => (ok ? "met" : "NOT MET");
  console.log(
    `\nper file ${fmt(perFile)} ms (target ≤ 50: ${verdict(perFile <= 50)}); hand-over median ${pooled.length ? median(pooled).toFixed(2) : "-"} ms (≤ 5: ${verdict(pooled.length > 0 && median(pooled) <= 5)}), p95 ${pooled.length ? p95(pooled).toFixed(2) : "-"} ms (≤ 20: ${verdict(pooled.length > 0 && p95(pooled) <= 20)}); on demand ${fmt(median(onDemand))} ms (≤ 50: ${verdict(median(onDemand) <= 50)})`,
  );

  await dropReady();
  for (const { datname } of (
    await admin.query(`SELECT datname FROM pg_database WHERE starts_with(datname, $1)`, [`${suiteBase.database}_t_`])
  ).rows)
    await admin.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  await admin.query(`ALTER DATABASE "${suiteTemplate.name}" WITH IS_TEMPLATE false`);
  await admin.query(`DROP DATABASE IF EXISTS "${suiteTemplate.name}" WITH (FORCE)`);
  await admin.query(`DROP DATABASE IF EXISTS "${shared.database}" WITH (FORCE)`);
  await admin.end();
  rmSync(app, { recursive: true, force: true });
}
