import pg from "pg";
import { describe, expect, it } from "vitest";
import { insertOrder, type Rows } from "../../src/core/datamodel.ts";
import { createEventLog, type SeedLogEvent } from "../../src/core/log.ts";
import { planChunks } from "../../src/plan/plan.ts";
import { COPY_THRESHOLD, seedDatabase } from "../../src/api/seed.ts";
import { validatedChunks } from "../../src/plan/validate.ts";
import { writeWithCopy } from "../../src/write/copyWriter.ts";
import { encodedChunks, workerChunks } from "../../src/generation/generators.ts";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

const db = useTestDatabase("bulk");
const seed = (options: Parameters<typeof seedDatabase>[0]) =>
  seedDatabase({ env: {}, databaseUrl: db.url, ...options });

describe("the bulk (COPY) write path", () => {
  it("leaves exactly the same contents in every table as the Prisma path", async () => {
    const viaPrisma = await seed({ profile: "dev", scale: 3, seed: 8, method: "prisma" });
    const prismaTables = await snapshot(db);
    const viaCopy = await seed({ profile: "dev", scale: 3, seed: 8, method: "copy" });
    expect(viaPrisma.method).toBe("prisma");
    expect(viaCopy.method).toBe("copy");
    expect(await snapshot(db)).toEqual(prismaTables);
    const counts = (s: typeof viaCopy) => s.tables.map(({ table, rows }) => ({ table, rows }));
    expect(counts(viaCopy)).toEqual(counts(viaPrisma));
  });

  it.each([1, 2])("writes the same rows however the plan is chunked, with %i generator worker(s)", async (workers) => {
    await seed({ profile: "dev", scale: 3, seed: 8, method: "copy" });
    const whole = await snapshot(db);
    const [recorded] = await query<{ fingerprints: Record<string, string> }>(
      db,
      `SELECT fingerprints FROM seed_runs WHERE status = 'success' ORDER BY started_at DESC LIMIT 1`,
    );
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      // One slice per chunk, built in the worker threads the large seeds use.
      const result = await writeWithCopy(
        client,
        workerChunks({ profile: "dev", scale: 3, seed: 8 }, undefined, 1, workers),
        createEventLog(() => {}),
      );
      expect(result.integrity.every((r) => r.violations === 0)).toBe(true);
      expect(result.fingerprints).toEqual(recorded!.fingerprints);
    } finally {
      await client.end();
    }
    expect(await snapshot(db)).toEqual(whole);
  });

  it("is chosen for every profile unless Prisma's path is asked for", async () => {
    expect(COPY_THRESHOLD).toBe(0);
    expect((await seed({ profile: "dev" })).method).toBe("copy");
    expect((await seed({ profile: "minimal" })).method).toBe("copy");
    expect((await seed({ profile: "minimal", method: "prisma" })).method).toBe("prisma");
  });

  it("reuses a warm pool across calls and leaves the same rows", async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      const first = await seed({ profile: "dev", pool });
      const a = await snapshot(db);
      const second = await seed({ profile: "dev", pool });
      expect(await snapshot(db)).toEqual(a);
      expect(second.totalRows).toBe(first.totalRows);
      expect(second.integrity.every((r) => r.violations === 0)).toBe(true);
    } finally {
      await pool.end();
    }
  });

  it("reports per-table insert events with the rows written", async () => {
    const events: SeedLogEvent[] = [];
    await seed({ profile: "dev", scale: 2, method: "copy", sink: (e) => events.push(e) });
    const inserts = events.filter((e) => e.operation === "insert" && e.details.step === "insert");
    expect(inserts.map((e) => e.details.table)).toEqual(insertOrder().map((t) => t.name));
    const rows = await query<{ n: number }>(db, `SELECT count(*)::int AS n FROM messages`);
    expect(inserts.find((e) => e.details.table === "messages")!.details.rows).toBe(rows[0]!.n);
  });

  it("reports progress once 5,000 rows are written, at most once a second, with rate and time left", async () => {
    // Five chunks of the dev plan at scale 4 (the canonical rows, then a slice each: about 2,000
    // rows), the last three each delivered after a pause of a little over a second: the writer
    // checks progress after every chunk, so it reports after the 4th and 5th (past 5,000 rows, a
    // second apart) and not after the 3rd (a second passed, but only about 4,000 rows).
    const plan = { profile: "dev", scale: 4, seed: 8 } as const;
    const sizes: number[] = [];
    async function* paced() {
      let index = 0;
      for await (const chunk of encodedChunks(validatedChunks(planChunks(plan, 1)))) {
        if (index++ >= 2) await new Promise((resolve) => setTimeout(resolve, 1_100));
        sizes.push(chunk.tables.reduce((sum, t) => sum + t.rows, 0));
        yield chunk;
      }
    }
    const events: SeedLogEvent[] = [];
    const client = new pg.Client({ connectionString: db.url });
    // The plan's exact size: once every row is written, no time is left.
    const total = [...planChunks(plan, 1)].reduce((n, rows) => n + Object.values(rows).flat().length, 0);
    await client.connect();
    try {
      await writeWithCopy(
        client,
        paced(),
        createEventLog((e) => events.push(e)),
        { expectedRows: total },
      );
    } finally {
      await client.end();
    }
    const written = sizes.map((_, i) => sizes.slice(0, i + 1).reduce((a, b) => a + b, 0));
    const expected = [...planChunks(plan, 1)].map((rows) =>
      Object.values(rows).reduce((sum, list) => sum + list.length, 0),
    );
    expect(written).toEqual(expected.map((_, i) => expected.slice(0, i + 1).reduce((a, b) => a + b, 0)));
    expect(written[2]).toBeLessThan(5_000);
    expect(written[3]).toBeGreaterThan(5_000);
    const progress = events.filter((e) => e.details.step === "progress");
    expect(progress.map((e) => e.details.rows)).toEqual([written[3], written[4]]);
    expect(Date.parse(progress[1]!.timestamp) - Date.parse(progress[0]!.timestamp)).toBeGreaterThanOrEqual(900);
    for (const e of progress) {
      expect(e.operation).toBe("insert");
      expect(e.details.expectedRows).toBe(total);
      expect(e.details.rowsPerSecond).toBeGreaterThan(0);
      expect(typeof e.details.etaMs).toBe("number");
      const tables = e.details.tables as Record<string, number>;
      expect(Object.values(tables).reduce((a, b) => a + b, 0)).toBe(e.details.rows);
    }
    expect(progress[1]!.details.etaMs).toBe(0);
  });

  it("rejects a chunk that breaks a rule before it reaches the database", async () => {
    const before = await snapshot(db);
    function* broken(): Generator<Rows> {
      const chunks = planChunks({ profile: "dev", seed: 3 });
      yield chunks.next().value as Rows;
      const rows = chunks.next().value as Rows;
      const reply = rows.Message.find((m) => m.threadId)!;
      reply.threadId = reply.id; // a message that replies to itself
      yield rows;
    }
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await expect(
        writeWithCopy(
          client,
          encodedChunks(validatedChunks(broken())),
          createEventLog(() => {}),
        ),
      ).rejects.toMatchObject({ code: "INVALID_FIXTURES", message: expect.stringMatching(/messages row \w+ breaks/) });
    } finally {
      await client.end();
    }
    expect(await snapshot(db)).toEqual(before);
  });

  const catalog = () =>
    query(
      db,
      `SELECT conrelid::regclass::text AS t, conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE connamespace = 'public'::regnamespace
       UNION ALL SELECT indrelid::regclass::text, indexrelid::regclass::text, pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid::regclass::text NOT LIKE 'pg_%'
       ORDER BY 1, 2, 3`,
    );

  it("restores every foreign key and index exactly after a load with deferred constraints", async () => {
    const before = await catalog();
    expect(before.length).toBeGreaterThan(30);
    const events: SeedLogEvent[] = [];
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await writeWithCopy(
        client,
        encodedChunks(validatedChunks(planChunks({ profile: "dev", scale: 2, seed: 6 }))),
        createEventLog((e) => events.push(e)),
        { deferConstraints: true },
      );
    } finally {
      await client.end();
    }
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ details: expect.objectContaining({ step: "constraints", action: "restored" }) }),
      ]),
    );
    expect(await catalog()).toEqual(before);
    const tables = await snapshot(db);
    await seed({ profile: "dev", scale: 2, seed: 6, method: "copy" });
    expect(await snapshot(db)).toEqual(tables);
  });

  it("still rejects rows that break a key when constraints are deferred, and rolls back data and schema", async () => {
    const before = await snapshot(db);
    const schema = await catalog();
    function* duplicated(): Generator<Rows> {
      const chunks = planChunks({ profile: "dev", seed: 9 });
      const canonical = chunks.next().value as Rows;
      const slice = chunks.next().value as Rows;
      slice.User[0]!.email = canonical.User[0]!.email; // unique key broken across chunks
      yield canonical;
      yield slice;
    }
    const orphan = (): Generator<Rows> =>
      (function* () {
        const chunks = planChunks({ profile: "dev", seed: 9 });
        yield chunks.next().value as Rows;
        const slice = chunks.next().value as Rows;
        slice.Reaction[0]!.messageId = "01JZZZZZZZZZZZZZZZZZZZZZZZ"; // a dangling reference
        yield slice;
      })();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await expect(
        writeWithCopy(
          client,
          encodedChunks(duplicated()),
          createEventLog(() => {}),
          { deferConstraints: true },
        ),
      ).rejects.toThrow(/users_email_key/);
      await expect(
        writeWithCopy(
          client,
          encodedChunks(orphan()),
          createEventLog(() => {}),
          { deferConstraints: true },
        ),
      ).rejects.toThrow(/reactions_message_id_fkey/);
    } finally {
      await client.end();
    }
    expect(await snapshot(db)).toEqual(before);
    expect(await catalog()).toEqual(schema);
  });
});
