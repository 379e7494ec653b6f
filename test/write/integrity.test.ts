import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Rows } from "../../src/core/datamodel.ts";
import { isSeedError } from "../../src/core/errors.ts";
import { createEventLog, silentSink } from "../../src/core/log.ts";
import { createPrisma } from "../../src/db/connection.ts";
import { buildPlan } from "../../src/plan/plan.ts";
import { RULES } from "../../src/plan/rules.ts";
import { encodeChunk } from "../../src/write/copy.ts";
import { INTEGRITY_CHECKS, runIntegrityChecks } from "../../src/write/integrity.ts";
import { writeWithCopy, writeWithPrisma } from "../../src/write/writer.ts";
import { snapshot, useTestDatabase } from "../helpers/db.ts";
import { VIOLATIONS } from "../helpers/violations.ts";

// The template is seeded with the dev plan at the default seed: these are its rows.
const dev = buildPlan({ profile: "dev" }).rows;
const db = useTestDatabase("integrity");
let client: pg.Client;
let before: Awaited<ReturnType<typeof snapshot>>;

beforeAll(async () => {
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  before = await snapshot(db);
});
afterAll(async () => {
  await client?.end();
});

const run = async <T>(sql: string) => (await client.query(sql)).rows as T[];
const broken = (rule: string): { rows: Rows; rowId: string } => {
  const rows = structuredClone(dev);
  return { rows, rowId: VIOLATIONS[rule]!.rows(rows) };
};
async function* once(rows: Rows) {
  yield encodeChunk(rows);
}
/** A trigger that adds a user whenever channels are inserted: what the row-count check is for. */
const STRAY_USER_TRIGGER = `
  CREATE FUNCTION stray_user() RETURNS trigger AS $$ BEGIN
    INSERT INTO users (id, auth0_id, email, username, full_name) VALUES ('01JZZZZZZZZZZZZZZZZZZZZZZY', 'auth0|dddddddddddddddddddddddd', 'stray@example.com', 'stray', 'Stray Row');
    RETURN NULL; END $$ LANGUAGE plpgsql;
  CREATE TRIGGER stray_user AFTER INSERT ON channels FOR EACH STATEMENT EXECUTE FUNCTION stray_user();`;
const DROP_STRAY_USER_TRIGGER = `DROP TRIGGER stray_user ON channels; DROP FUNCTION stray_user()`;

describe("each application rule's SQL check", () => {
  it.each(RULES.map((r) => [r.id, r] as const))(
    "%s names exactly the one row planted to break it, and no other check fails",
    async (id, rule) => {
      await client.query("BEGIN");
      try {
        const planted = await run<{ id: string }>(VIOLATIONS[id]!.sql);
        expect(planted).toHaveLength(1);
        expect(await run<{ id: string }>(rule.sql)).toEqual([{ id: planted[0]!.id }]);
        const failing = (await runIntegrityChecks(run)).filter((r) => r.violations > 0);
        expect(failing).toEqual([{ id, text: rule.text, violations: 1, examples: [planted[0]!.id] }]);
      } finally {
        await client.query("ROLLBACK");
      }
    },
  );

  it("counts each of the checks that share their rows apart, when all of them fail at once", async () => {
    const thread = ["reply-same-channel", "reply-after-root", "root-not-reply"];
    await client.query("BEGIN");
    try {
      const planted = new Map<string, string>();
      for (const id of thread) planted.set(id, (await run<{ id: string }>(VIOLATIONS[id]!.sql))[0]!.id);
      const failing = (await runIntegrityChecks(run)).filter((r) => r.violations > 0);
      expect(failing.map((r) => r.id)).toEqual(thread);
      for (const result of failing) {
        // Each names its own planted row (one plant may also break a neighbour's rule: counted there too).
        expect(result.examples).toContain(planted.get(result.id));
        expect(result.violations).toBe(result.examples.length);
      }
    } finally {
      await client.query("ROLLBACK");
    }
  });

  it("finds nothing in the seeded database (so a planted row is the only one found)", async () => {
    expect((await runIntegrityChecks(run)).filter((r) => r.violations > 0)).toEqual([]);
    expect((await runIntegrityChecks(run)).map((r) => r.id)).toEqual(INTEGRITY_CHECKS.map((c) => c.id));
  });
});

describe("the commit gate", () => {
  it.each(RULES.map((r) => [r.id] as const))(
    "refuses rows that break %s with INTEGRITY_FAILED and commits nothing (COPY path)",
    async (id) => {
      const { rows, rowId } = broken(id);
      const error = await writeWithCopy(client, once(rows), createEventLog(silentSink)).catch((e: unknown) => e);
      expect(isSeedError(error, "INTEGRITY_FAILED")).toBe(true);
      expect((error as Error).message).toBe(
        `integrity checks failed after the inserts: ${id} (1 rows, e.g. ${rowId}). Nothing was committed; fix the fixtures or the live schema`,
      );
      expect(await snapshot(db)).toEqual(before);
    },
  );

  it("refuses rows that break a rule on the Prisma path too, committing nothing", async () => {
    const { rows, rowId } = broken("reply-after-root");
    const prisma = await createPrisma(db);
    try {
      const error = await writeWithPrisma(prisma, rows, createEventLog(silentSink)).catch((e: unknown) => e);
      expect(isSeedError(error, "INTEGRITY_FAILED")).toBe(true);
      expect((error as Error).message).toContain(`: reply-after-root (1 rows, e.g. ${rowId}). Nothing was committed`);
    } finally {
      await prisma.$disconnect();
    }
    expect(await snapshot(db)).toEqual(before);
  });

  it.each(["copy", "prisma"] as const)(
    "refuses a table that holds more rows than were written with INTEGRITY_FAILED, committing nothing (%s path)",
    async (method) => {
      await client.query(STRAY_USER_TRIGGER);
      const prisma = method === "prisma" ? await createPrisma(db) : null;
      try {
        const rows = structuredClone(dev);
        const log = createEventLog(silentSink);
        const error = await (prisma
          ? writeWithPrisma(prisma, rows, log)
          : writeWithCopy(client, once(rows), log)
        ).catch((e: unknown) => e);
        expect(isSeedError(error, "INTEGRITY_FAILED")).toBe(true);
        expect((error as Error).message).toBe(
          `table users holds ${dev.User.length + 1} rows after the inserts but ${dev.User.length} were written: something else writes to it (a trigger?); nothing was committed`,
        );
      } finally {
        await prisma?.$disconnect();
        await client.query(DROP_STRAY_USER_TRIGGER);
      }
      expect(await snapshot(db)).toEqual(before);
    },
  );

  it("commits the same rows unbroken (the gate passes what it should)", async () => {
    const result = await writeWithCopy(client, once(structuredClone(dev)), createEventLog(silentSink));
    expect(result.integrity.filter((r) => r.violations > 0)).toEqual([]);
    expect(await snapshot(db)).toEqual(before);
  });
});
