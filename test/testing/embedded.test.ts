import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { withDatabase } from "../../src/db/config.ts";
import { EMBEDDED_DIR } from "../../src/db/embedded.ts";
import { createTestDatabase, prepareTemplate } from "../../src/testing/index.ts";
import { releaseKitServer } from "../../src/testing/embedded.ts";

// With nothing configured, the kit works on the project's embedded PostgreSQL exactly as on a
// server: a template database, migrated and seeded once, cloned per test file.
const cwd = mkdtempSync(join(tmpdir(), "kit-embedded-"));
// As root, the server runs as the `postgres` user, who must be able to reach the folder.
chmodSync(cwd, 0o755);
const options = { env: {}, cwd, profile: "minimal" as const, seed: 7 };
afterAll(async () => {
  await releaseKitServer();
  rmSync(cwd, { recursive: true, force: true });
});

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
  it("builds a template database on the project's embedded server once and reuses it", async () => {
    const first = await prepareTemplate(options);
    expect(first.name).toMatch(/^chatgenius_tpl_[0-9a-f]{12}$/);
    expect(first.server.target).toBe(`embedded database in ${EMBEDDED_DIR}`);
    expect(existsSync(join(cwd, EMBEDDED_DIR, "data", "PG_VERSION"))).toBe(true);
    const again = await prepareTemplate(options);
    expect(again).toMatchObject({ name: first.name, reused: true });
  });

  it("gives each test file its own clone: conflicting writes pass, drop() removes it", async () => {
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
    expect(
      await rows(
        withDatabase(template.server, "postgres").url,
        `SELECT datname FROM pg_database WHERE datname = '${one.name}'`,
      ),
    ).toEqual([]);
  });

  it("lets the embedded server go when released: it stops when no one else uses it", async () => {
    await prepareTemplate(options);
    const pidFile = join(cwd, EMBEDDED_DIR, "data", "postmaster.pid");
    expect(existsSync(pidFile)).toBe(true);
    const port = Number(readFileSync(pidFile, "utf8").split("\n")[3]);
    await releaseKitServer();
    expect(existsSync(pidFile)).toBe(false);
    const client = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres` });
    await expect(client.connect()).rejects.toThrow(/ECONNREFUSED/);
  });
});
