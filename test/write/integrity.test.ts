import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TABLES, type Rows } from "../../src/core/datamodel.ts";
import { isSeedError } from "../../src/core/errors.ts";
import { createEventLog, silentSink } from "../../src/core/log.ts";
import { createPrisma } from "../../src/db/connection.ts";
import { buildPlan } from "../../src/plan/plan.ts";
import { RULES } from "../../src/plan/rules.ts";
import { encodeChunk } from "../../src/write/copy.ts";
import { writeWithCopy } from "../../src/write/copyWriter.ts";
import { writeWithPrisma } from "../../src/write/prismaWriter.ts";
import { snapshot, useTestDatabase } from "../helpers/db.ts";
import { LEFT_MEMBER_VIOLATIONS, type PlantedViolation, VIOLATIONS } from "../helpers/violations.ts";

// The commit gate on both write paths (the checks' SQL itself: test/write/checks.test.ts).
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
const broken = (rule: string, plants: Record<string, PlantedViolation> = VIOLATIONS): { rows: Rows; rowId: string } => {
  const rows = structuredClone(dev);
  return { rows, rowId: plants[rule]!.rows(rows) };
};
/** Every planted violation of a rule: with a row no member holds, and (where memberships count) through a member who left. */
const PLANTS = [
  ...RULES.map((r) => [r.id, "", VIOLATIONS] as const),
  ...RULES.filter((r) => LEFT_MEMBER_VIOLATIONS[r.id]).map(
    (r) => [r.id, " through a member who left", LEFT_MEMBER_VIOLATIONS] as const,
  ),
];
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

describe("the commit gate", () => {
  it.each(PLANTS)(
    "refuses rows that break %s%s with INTEGRITY_FAILED and commits nothing (COPY path)",
    async (id, _how, plants) => {
      const { rows, rowId } = broken(id, plants);
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

describe("the orphan checks, where the live database lacks a foreign key", () => {
  // A live, validated foreign key proves its column and the SQL check is skipped; here the key
  // is dropped first, so the SQL orphan check is the only thing between the orphan and a commit.
  const ORPHAN = "01JZZZZZZZZZZZZZZZZZZZZZZX";
  const foreignKeys = TABLES.flatMap((table) =>
    table.foreignKeys.map((fk) => ({
      table,
      column: fk.columns[0]!,
      field: fk.fields[0]!,
      self: fk.references === table.model,
    })),
  );
  const constraintOf = async (table: string, column: string) => {
    const [key] = await run<{ name: string }>(
      `SELECT c.conname AS name FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        WHERE c.contype = 'f' AND c.conrelid = '"${table}"'::regclass AND a.attname = '${column}'`,
    );
    expect(key).toBeDefined();
    return key!.name;
  };
  /** Drops the live foreign key of `table.column` for the length of `body`, then puts it back as it was. */
  async function withoutForeignKey(table: string, column: string, body: () => Promise<void>): Promise<void> {
    const name = await constraintOf(table, column);
    const [key] = await run<{ def: string }>(
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conname = '${name}' AND conrelid = '"${table}"'::regclass`,
    );
    await client.query(`ALTER TABLE "${table}" DROP CONSTRAINT "${name}"`);
    try {
      await body();
    } finally {
      await client.query(`ALTER TABLE "${table}" ADD CONSTRAINT "${name}" ${key!.def}`);
    }
  }
  const orphaned = (model: keyof Rows, field: string) => {
    const rows = structuredClone(dev);
    const row = [...(rows[model] as Record<string, unknown>[])].sort((a, b) => (a.id! < b.id! ? -1 : 1))[0]!;
    row[field] = ORPHAN;
    return { rows, rowId: row.id as string };
  };

  // A self-reference to a row that is not there never reaches the database: the writer orders a
  // table's rows by their self-references and refuses one it cannot place (INVALID_FIXTURES).
  it.each(foreignKeys.filter((fk) => !fk.self).map((fk) => [`${fk.table.name}.${fk.column}`, fk] as const))(
    "refuses an orphan in %s with INTEGRITY_FAILED and commits nothing (COPY path)",
    async (id, { table, column, field }) => {
      const { rows, rowId } = orphaned(table.model, field);
      await withoutForeignKey(table.name, column, async () => {
        const error = await writeWithCopy(client, once(rows), createEventLog(silentSink)).catch((e: unknown) => e);
        expect(isSeedError(error, "INTEGRITY_FAILED")).toBe(true);
        expect((error as Error).message).toContain(`no-orphans:${id} (1 rows, e.g. ${rowId})`);
      });
      expect(await snapshot(db)).toEqual(before);
    },
  );

  it("refuses an orphan on the Prisma path too, committing nothing", async () => {
    const { rows, rowId } = orphaned("UserStatus", "userId");
    await withoutForeignKey("user_status", "user_id", async () => {
      const prisma = await createPrisma(db);
      try {
        const error = await writeWithPrisma(prisma, rows, createEventLog(silentSink)).catch((e: unknown) => e);
        expect(isSeedError(error, "INTEGRITY_FAILED")).toBe(true);
        expect((error as Error).message).toContain(`no-orphans:user_status.user_id (1 rows, e.g. ${rowId})`);
      } finally {
        await prisma.$disconnect();
      }
    });
    expect(await snapshot(db)).toEqual(before);
  });

  it("refuses a muted channel that does not exist (no foreign key can hold an array's items)", async () => {
    const rows = structuredClone(dev);
    const settings = [...rows.UserSettings].sort((a, b) => (a.id! < b.id! ? -1 : 1))[0]!;
    settings.mutedChannels = [ORPHAN];
    const error = await writeWithCopy(client, once(rows), createEventLog(silentSink)).catch((e: unknown) => e);
    expect(isSeedError(error, "INTEGRITY_FAILED")).toBe(true);
    expect((error as Error).message).toContain(`no-orphans:user_settings.muted_channels (1 rows, e.g. ${settings.id})`);
    expect(await snapshot(db)).toEqual(before);
  });
});
