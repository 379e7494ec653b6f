import { afterAll, describe, expect, it } from "vitest";
import { withDatabase } from "../../src/db/config.ts";
import { scenario } from "../../src/scenario/index.ts";
import { createTestDatabase, prepareTemplate, settleReadyClones, templateKey } from "../../src/testing/index.ts";
import { query, serverConfig, TEMPLATE_DATABASE } from "../helpers/db.ts";

// A scenario as the content of the kit's template: keyed by its content like a profile, so a
// suite whose files all need the same world clones it instead of building it per file.
const base = withDatabase(serverConfig(), `${TEMPLATE_DATABASE}_scnkit`);
const admin = withDatabase(serverConfig(), "postgres");

function world(replies: number) {
  const s = scenario();
  const ops = s.channel({ traits: ["private"], members: 3, key: "ops" });
  const root = s.message({ channel: ops, replies, key: "root" });
  return { s, ops, root };
}
const options = (replies: number) => ({
  env: {},
  databaseUrl: base.url,
  profile: "minimal" as const,
  scenario: world(replies).s,
});

afterAll(async () => {
  await settleReadyClones();
  const { rows } = {
    rows: await query<{ name: string }>(admin, `SELECT datname AS name FROM pg_database WHERE datname LIKE $1`, [
      `${base.database}%`,
    ]),
  };
  for (const { name } of rows) {
    await query(admin, `ALTER DATABASE "${name}" WITH IS_TEMPLATE false`).catch(() => {});
    await query(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
});

describe("a scenario in the test kit's template", () => {
  it("keys the template by the scenario's content, and reuses it while the scenario is the same", () => {
    expect(templateKey(options(5))).toBe(templateKey(options(5)));
    expect(templateKey(options(5))).not.toBe(templateKey(options(6)));
    expect(templateKey(options(5))).not.toBe(templateKey({ ...options(5), scenario: undefined }));
    expect(templateKey({ ...options(5), scenario: [world(5).s, world(6).s] })).not.toBe(templateKey(options(5)));
  });

  it("writes the scenario into the template once; every clone starts with it and finds its rows by planning", async () => {
    const first = await prepareTemplate(options(5));
    expect((await prepareTemplate(options(5))).reused).toBe(true);
    const clone = await createTestDatabase({ template: first, ready: 0 });
    try {
      const { s, root } = world(5);
      const pg = await import("pg");
      const client = new pg.default.Client({ connectionString: clone.url });
      await client.connect();
      try {
        const planned = await s.planOn(client);
        const { rows } = await client.query(`SELECT count(*)::int AS n FROM messages WHERE thread_id = $1`, [
          planned.get(root).id,
        ]);
        expect(rows[0].n).toBe(5);
        expect(first.reused).toBe(false);
      } finally {
        await client.end();
      }
    } finally {
      await clone.drop();
    }
  });
});
