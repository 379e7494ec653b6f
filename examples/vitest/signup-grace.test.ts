// Both example files sign up the same email address at the same time. On one shared database
// one of them would fail on its unique key; with a database per file both pass.
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { scenario } from "chatgenius-seed/scenario";

const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
beforeAll(() => db.connect());
afterAll(() => db.end());

it("signs up 'newcomer' from the grace file and finds the seeded users", async () => {
  const s = scenario();
  s.user({ email: "newcomer@example.com", username: "newcomer", fullName: "From grace" });
  await s.create(db);
  const { rows } = await db.query(
    `SELECT username FROM users WHERE username IN ('newcomer', 'testuser1') ORDER BY username`,
  );
  expect(rows.map((r) => r.username)).toEqual(["newcomer", "testuser1"]);
});
