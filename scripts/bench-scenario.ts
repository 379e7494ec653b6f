// Scenarios (issue 18), what a test feels: declaring, planning and writing.
// 1. The private-thread scenario of docs/scenarios.md (a private channel, three members, a five-reply thread,
//    a reaction) inside a transaction that is rolled back, as a test does: median and p95 ms.
//    Target: median ≤ 10 ms.
// 2. 10,000 messages (100 threads of 100 in 10 channels, with members and reactions) through a
//    scenario, against the identical rows written by Prisma's createMany in one transaction
//    (target ≥ 1.0×, aim 3×) and by one Prisma create per row, as per-row factories do (≥ 20×).
//   BENCH_RUNS (default 5) rounds of part 2, BENCH_THREAD_RUNS (default 200) of part 1.
//   Database: `<PGDATABASE>_scenariobench` (migrated, minimal profile), dropped at the end.
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { migrateDatabase } from "../src/api/reset.ts";
import { seedDatabase } from "../src/api/seed.ts";
import { insertOrder, type ModelName } from "../src/core/datamodel.ts";
import { loadEnv, resolveDatabaseConfig, withDatabase } from "../src/db/config.ts";
import { PrismaClient } from "../src/generated/prisma/client.ts";
import { scenario } from "../src/scenario/index.ts";

const server = resolveDatabaseConfig(loadEnv());
const target = withDatabase(server, `${server.database}_scenariobench`);
const runs = Number(process.env.BENCH_RUNS ?? 5);
const threadRuns = Number(process.env.BENCH_THREAD_RUNS ?? 200);

const admin = new pg.Client({ connectionString: withDatabase(server, "postgres").url });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS "${target.database}" WITH (FORCE)`);
await migrateDatabase({ env: {}, databaseUrl: target.url });
await seedDatabase({ env: {}, databaseUrl: target.url, profile: "minimal" });
// Copies for the per-row creates that commit (made now, while nothing is connected to the source).
const perRowRounds = Math.min(runs, 2);
const clones = Array.from({ length: perRowRounds }, (_, i) => withDatabase(server, `${target.database}_perrow${i}`));
for (const clone of clones) {
  await admin.query(`DROP DATABASE IF EXISTS "${clone.database}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${clone.database}" TEMPLATE "${target.database}"`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)]!;
const fmt = (n: number) => (n < 100 ? n.toFixed(1) : n.toFixed(0));

// 1. The private thread, declared, planned and written inside a rolled-back transaction.
const client = new pg.Client({ connectionString: target.url });
await client.connect();
const privateThread = async () => {
  const s = scenario();
  const ops = s.channel({ traits: ["private"], members: 3 });
  const root = s.message({ channel: ops, replies: 5 });
  s.reaction({ message: root });
  await s.create(client);
};
const thread: number[] = [];
for (let i = 0; i < threadRuns + 20; i++) {
  await client.query("BEGIN");
  const t = performance.now();
  await privateThread();
  const took = performance.now() - t;
  await client.query("ROLLBACK");
  if (i >= 20) thread.push(took); // the first runs warm the JIT and the connection up
}

// 2. 10,000 messages: 10 channels of 5 members, 10 threads of 100 messages in each, 3 reactions a root.
const large = () => {
  const s = scenario();
  for (const channel of s.channels(10, { members: 5 })) s.messages(10, { channel, replies: 99, reactions: 3 });
  return s;
};
const planned = large().plan();
const counts = Object.fromEntries(Object.entries(planned.rows).map(([model, rows]) => [model, rows.length]));
const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: target.url, max: 1 }) });
const rollback = new Error("rolled back: the bench writes nothing");
const delegate = (tx: unknown, model: ModelName) =>
  (tx as Record<string, { createMany(a: unknown): Promise<unknown>; create(a: unknown): Promise<unknown> }>)[
    model[0]!.toLowerCase() + model.slice(1)
  ]!;

async function timed(write: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await write().catch((error) => {
    if (error !== rollback) throw error;
  });
  return performance.now() - t;
}
const viaScenario = () =>
  timed(async () => {
    await client.query("BEGIN");
    try {
      await large().create(client);
    } finally {
      await client.query("ROLLBACK");
    }
  });
const viaCreateMany = () =>
  timed(() =>
    prisma.$transaction(
      async (tx) => {
        for (const table of insertOrder())
          if (planned.rows[table.model].length > 0)
            await delegate(tx, table.model).createMany({ data: planned.rows[table.model] });
        throw rollback;
      },
      { timeout: 600_000, maxWait: 60_000 },
    ),
  );
const viaCreate = () =>
  timed(() =>
    prisma.$transaction(
      async (tx) => {
        for (const table of insertOrder())
          for (const row of planned.rows[table.model]) await delegate(tx, table.model).create({ data: row });
        throw rollback;
      },
      { timeout: 600_000, maxWait: 60_000 },
    ),
  );

await viaScenario();
await viaCreateMany();
const ours: number[] = [];
const many: number[] = [];
const ratiosMany: number[] = [];
for (let i = 0; i < runs; i++) {
  const a = await viaScenario();
  const b = await viaCreateMany();
  ours.push(a);
  many.push(b);
  ratiosMany.push(b / a);
}
// One create per row is slow: fewer rounds, each against a scenario run of its own. Per-row
// factories call create() on the client, each row its own transaction and commit: that is
// measured on a clone of the database, dropped after; in one transaction is shown beside it.
const perRowTx: number[] = [];
const ratiosRowTx: number[] = [];
const perRow: number[] = [];
const ratiosRow: number[] = [];
for (const clone of clones) {
  const committed = new PrismaClient({ adapter: new PrismaPg({ connectionString: clone.url, max: 1 }) });
  const b = await timed(async () => {
    for (const table of insertOrder())
      for (const row of planned.rows[table.model]) await delegate(committed, table.model).create({ data: row });
  });
  await committed.$disconnect();
  await admin.query(`DROP DATABASE "${clone.database}" WITH (FORCE)`);
  const a = await viaScenario();
  const c = await viaCreate();
  perRow.push(b);
  ratiosRow.push(b / a);
  perRowTx.push(c);
  ratiosRowTx.push(c / a);
}

console.log(`\nScenarios (this machine, PostgreSQL at ${server.host}:${server.port}):\n`);
console.log("| measure | median ms | p95 ms | target |");
console.log("|---|---:|---:|---|");
const threadMedian = median(thread);
console.log(
  `| private thread (channel, 3 members, 5 replies, 1 reaction): declare + plan + write, in a rolled-back transaction, ${thread.length} runs | ${fmt(threadMedian)} | ${fmt(p95(thread))} | median ≤ 10: ${threadMedian <= 10 ? "met" : "NOT MET"} |`,
);
console.log(
  `\n10,000 messages (${Object.entries(counts)
    .filter(([, n]) => n > 0)
    .map(([m, n]) => `${m} ${n}`)
    .join(", ")}), ${runs} rounds, pair by pair:\n`,
);
console.log("| writer | median ms | ours / it (median of pairs) | target |");
console.log("|---|---:|---:|---|");
console.log(`| scenario: plan + one statement | ${fmt(median(ours))} | 1.00 | |`);
const rMany = median(ratiosMany);
console.log(
  `| Prisma createMany of the identical rows, one transaction | ${fmt(median(many))} | ${rMany.toFixed(2)} | ≥ 1.0 (aim 3): ${rMany >= 1 ? "met" : "NOT MET"} |`,
);
const rRow = median(ratiosRow);
console.log(
  `| Prisma create per row, each committed (as per-row factories do) | ${fmt(median(perRow))} | ${rRow.toFixed(1)} | ≥ 20: ${rRow >= 20 ? "met" : "NOT MET"} |`,
);
console.log(
  `| Prisma create per row, all in one transaction | ${fmt(median(perRowTx))} | ${median(ratiosRowTx).toFixed(1)} | |`,
);

await prisma.$disconnect();
await client.end();
await admin.query(`DROP DATABASE IF EXISTS "${target.database}" WITH (FORCE)`);
await admin.end();
