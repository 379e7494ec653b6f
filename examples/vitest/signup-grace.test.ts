// Both example files sign up the same email address at the same time. On one shared database
// one of them would fail on its unique key; with a database per file both pass.
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";

const db = new pg.Client({ connectionString: process.env.DATABASE_URL });
beforeAll(() => db.connect());
afterAll(() => db.end());

it("signs up 'newcomer' from the grace file and finds the seeded users", async () => {
  await db.query(`INSERT INTO users (id, auth0_id, email, username, full_name, created_at, updated_at)
    VALUES ('01JEXAMPLEGRA0000000000000', 'auth0|example-grace', 'newcomer@example.com', 'newcomer', 'From grace', now(), now())`);
  const { rows } = await db.query(`SELECT username FROM users WHERE username IN ('newcomer', 'testuser1') ORDER BY username`);
  expect(rows.map((r) => r.username)).toEqual(["newcomer", "testuser1"]);
});
