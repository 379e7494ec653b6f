import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { createTestDatabase, prepareTemplate } from "../../src/testing/index.ts";

// With nothing configured, the kit works on the embedded PGlite: a template data directory,
// migrated and seeded once, copied per test file. No PostgreSQL server is involved.
const cwd = mkdtempSync(join(tmpdir(), "kit-embedded-"));
const options = { env: {}, cwd, profile: "minimal" as const, seed: 7 };

async function rows(url: string, sql: string): Promise<unknown[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe("the test kit on the embedded database", () => {
  it("builds the template directory once and reuses it", async () => {
    // A folder of its own: the other test may have built the shared one already.
    const own = { ...options, cwd: mkdtempSync(join(tmpdir(), "kit-embedded-")) };
    const first = await prepareTemplate(own);
    expect(first.reused).toBe(false);
    expect(first.embedded?.dir.startsWith(join(own.cwd, ".chatgenius/templates"))).toBe(true);
    expect((await prepareTemplate(own)).reused).toBe(true);
  });

  it("gives each test file its own copy: conflicting writes pass, drop() removes it", async () => {
    const template = await prepareTemplate(options);
    const [one, two] = [await createTestDatabase({ template }), await createTestDatabase({ template })];
    try {
      const signUp = (url: string) =>
        rows(
          url,
          `INSERT INTO users (id, auth0_id, email, username, full_name) VALUES ('01JKITEMBED000000000000000', 'auth0|kit', 'same@example.com', 'same', 'Same')`,
        );
      await signUp(one.url);
      await signUp(two.url);
      await expect(signUp(one.url)).rejects.toThrow(/duplicate key/);
      expect(await rows(two.url, `SELECT count(*)::int AS n FROM users`)).toEqual([{ n: 4 }]);
    } finally {
      await one.drop();
      await two.drop();
    }
    expect(existsSync(one.name)).toBe(false);
  });

  it("removes older template directories beyond the newest kept when it builds a new one", async () => {
    const own = mkdtempSync(join(tmpdir(), "kit-embedded-prune-"));
    const older = await prepareTemplate({ ...options, cwd: own, keepTemplates: 1 });
    const newer = await prepareTemplate({ ...options, cwd: own, seed: 8, keepTemplates: 1 });
    expect(newer.reused).toBe(false);
    expect(existsSync(older.name)).toBe(false);
    expect(readdirSync(join(own, ".chatgenius/templates"))).toEqual([newer.key.slice(0, 12)]);
  });
});
