import { beforeAll, describe, expect, it } from "vitest";
import { insertOrder } from "../../src/core/datamodel.ts";
import { isSeedError } from "../../src/core/errors.ts";
import type { SeedLogEvent } from "../../src/core/log.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

const db = useTestDatabase("rollback");

beforeAll(async () => {
  // A row that is not seed data: the failed run must leave it in place.
  await query(
    db,
    `INSERT INTO users (id, auth0_id, email, username, full_name) VALUES ('01JZZZZZZZZZZZZZZZZZZZZZZZ', 'auth0|eeeeeeeeeeeeeeeeeeeeeeee', 'keep@example.com', 'keepme', 'Pre-existing Row')`,
  );
});

describe("a failure mid-insert", () => {
  it.each(["prisma", "copy"] as const)(
    "rolls back every table, pre-existing rows included (%s path)",
    async (method) => {
      const before = await snapshot(db);
      // The server raises an error while the seed inserts reactions: users, channels, members
      // and messages are already written inside the transaction by then.
      await query(
        db,
        `CREATE FUNCTION fail_insert() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql`,
      );
      await query(
        db,
        `CREATE TRIGGER fail_reactions BEFORE INSERT ON reactions FOR EACH ROW EXECUTE FUNCTION fail_insert()`,
      );
      const events: SeedLogEvent[] = [];
      try {
        const error = await seedDatabase({
          env: {},
          databaseUrl: db.url,
          profile: "dev",
          method,
          sink: (e) => events.push(e),
        }).catch((e: unknown) => e);
        expect(isSeedError(error, "SEED_FAILED")).toBe(true);
        expect((error as Error).message).toMatch(/rolled back.*injected failure/);
        expect((error as { exitCode: number }).exitCode).toBe(1);
      } finally {
        await query(db, `DROP TRIGGER fail_reactions ON reactions; DROP FUNCTION fail_insert()`);
      }
      if (method === "prisma") {
        // The tables before the one that fails, in insert order (parents first).
        const order = insertOrder().map((t) => t.name);
        expect(events.filter((e) => e.operation === "insert").map((e) => e.details.table)).toEqual(
          order.slice(0, order.indexOf("reactions")),
        );
      }
      expect(events).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ operation: "error", details: { step: "transaction", action: "rollback" } }),
        ]),
      );
      expect(await snapshot(db)).toEqual(before);
      expect(await query(db, `SELECT username FROM users WHERE id = '01JZZZZZZZZZZZZZZZZZZZZZZZ'`)).toEqual([
        { username: "keepme" },
      ]);
    },
  );
});
