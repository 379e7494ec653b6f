import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { host } from "../../src/testing/comments.ts";
import { afterAll, describe, expect, it } from "vitest";
import {
  cleanupStale,
  createTestDatabase,
  prepareTemplate,
  settleReadyClones,
  templateKey,
} from "../../src/testing/index.ts";
import { claimFromPool, releasePool, takePool } from "../../src/testing/pool.ts";
import { withDatabase } from "../../src/db/config.ts";
import { query, serverConfig, TEMPLATE_DATABASE } from "../helpers/db.ts";

// The test kit against the real server: templates keyed by content and reused, clones that are
// isolated and dropped, crashed runs cleaned up, nothing else ever dropped.
const base = withDatabase(serverConfig(), `${TEMPLATE_DATABASE}_kit`);
const admin = withDatabase(serverConfig(), "postgres");
const options = (seed: number) => ({ env: {}, databaseUrl: base.url, profile: "minimal" as const, seed });
const exists = async (name: string) =>
  (await query(admin, `SELECT 1 FROM pg_database WHERE datname = $1`, [name])).length === 1;
const dropTemplate = async (seed: number) => {
  const name = `${base.database}_tpl_${templateKey(options(seed)).slice(0, 12)}`;
  await query(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(async () => {
    await query(admin, `ALTER DATABASE "${name}" WITH IS_TEMPLATE false`);
    await query(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
};
const unmark = async (seed: number) => {
  const name = `${base.database}_tpl_${templateKey(options(seed)).slice(0, 12)}`;
  if (await exists(name)) await query(admin, `ALTER DATABASE "${name}" WITH IS_TEMPLATE false`);
  await dropTemplate(seed);
};

/** The pid of a process that has ended: dead on this machine (checked), and so stale if the comment names this host. */
const deadPid = () => {
  const { pid } = spawnSync(process.execPath, ["-e", ""]);
  expect(() => process.kill(pid!, 0)).toThrow();
  return pid!;
};

const dropReadyClones = async (template: string) => {
  for (const { name } of await query<{ name: string }>(
    admin,
    `SELECT datname AS name FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1`,
    [`chatgenius-seed ready clone template=${template}`],
  ))
    await query(admin, `DROP DATABASE IF EXISTS "${name}"`);
};

afterAll(async () => {
  await settleReadyClones();
  for (const seed of [101, 102]) {
    await dropReadyClones(`${base.database}_tpl_${templateKey(options(seed)).slice(0, 12)}`);
    await unmark(seed);
  }
});

describe("prepareTemplate", () => {
  it("builds a template once, then reuses it while nothing that decides its rows changed", async () => {
    await unmark(101);
    const [a, b] = await Promise.all([prepareTemplate(options(101)), prepareTemplate(options(101))]);
    // Two callers at once: one built it, the other waited for it and reused it.
    expect([a.reused, b.reused].sort()).toEqual([false, true]);
    expect(a.name).toBe(b.name);
    expect((await prepareTemplate(options(101))).reused).toBe(true);
    const other = await prepareTemplate(options(102));
    expect(other.name).not.toBe(a.name);
    expect(other.reused).toBe(false);
  });

  it("seeds the template with the run it settled: the local accounts its environment names are in it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kit-local-"));
    const file = join(dir, "seed.local.json");
    writeFileSync(
      file,
      JSON.stringify({
        users: [
          {
            auth0_id: "auth0|0123456789abcdef0123abcd",
            email: "kit.local@example.com",
            username: "kitlocal",
            full_name: "Kit Local",
          },
        ],
      }),
    );
    const local = { ...options(103), env: { SEED_DATA_FILE: file } };
    const name = `${base.database}_tpl_${templateKey(local).slice(0, 12)}`;
    try {
      // The file is part of the key, and so of the rows: a template keyed by it holds its accounts.
      expect(templateKey(local)).not.toBe(templateKey(options(103)));
      const template = await prepareTemplate(local);
      const clone = await createTestDatabase({ template, ready: 0 });
      try {
        expect(await query({ url: clone.url }, `SELECT username FROM users WHERE username = 'kitlocal'`)).toEqual([
          { username: "kitlocal" },
        ]);
      } finally {
        await clone.drop();
      }
    } finally {
      await query(admin, `ALTER DATABASE "${name}" WITH IS_TEMPLATE false`).catch(() => {});
      await query(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses production and a remote host, as the seed does", async () => {
    await expect(prepareTemplate({ ...options(101), env: { NODE_ENV: "production" } })).rejects.toMatchObject({
      code: "PRODUCTION_REFUSED",
    });
    await expect(
      prepareTemplate({ ...options(101), databaseUrl: "postgresql://postgres@db.example.com/chatgenius_test" }),
    ).rejects.toMatchObject({ code: "REMOTE_REFUSED" });
  });
});

describe("templates superseded by a change", () => {
  // A base of its own: the builds here must not drop the other tests' templates.
  const pruneBase = withDatabase(serverConfig(), `${TEMPLATE_DATABASE}_kitprune`);
  const prune = (seed: number) => ({
    env: {},
    databaseUrl: pruneBase.url,
    profile: "minimal" as const,
    seed,
    keepTemplates: 2,
  });
  const templatesOfBase = async () =>
    (
      await query<{ name: string }>(
        admin,
        `SELECT datname AS name FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname`,
        [`${pruneBase.database}_tpl_`],
      )
    ).map((r) => r.name);
  const dropBase = async () => {
    for (const name of await templatesOfBase()) {
      await query(admin, `ALTER DATABASE "${name}" WITH IS_TEMPLATE false`);
      await query(admin, `DROP DATABASE "${name}" WITH (FORCE)`);
    }
  };
  afterAll(dropBase);

  it("drops older templates of the base with no live clone, keeping the newest few and those in use", async () => {
    await dropBase();
    const foreign = `${pruneBase.database}_tpl_not_the_kits`;
    await query(admin, `CREATE DATABASE "${foreign}"`);
    try {
      const first = await prepareTemplate(prune(201));
      // A test database cloned from the first template is still in use (its process is this one).
      const live = await createTestDatabase({ template: first, ready: 0 });
      const second = await prepareTemplate(prune(202));
      const third = await prepareTemplate(prune(203));
      // Newest two kept, the first kept for its live clone, the foreign database untouched.
      expect(await templatesOfBase()).toEqual([first.name, second.name, third.name, foreign].sort());
      await live.drop();
      const fourth = await prepareTemplate(prune(204));
      expect(await templatesOfBase()).toEqual([third.name, fourth.name, foreign].sort());
      // A dropped template is rebuilt when asked for again.
      expect((await prepareTemplate(prune(201))).reused).toBe(false);
    } finally {
      await query(admin, `DROP DATABASE IF EXISTS "${foreign}"`);
    }
  });
});

describe("createTestDatabase", () => {
  it("hands out isolated databases holding the template's rows, and drop() removes them", async () => {
    const template = await prepareTemplate(options(101));
    // Ready clones another test of this file left (the pool's, kept for the next run) would be
    // handed over first: start without any, so that the first database is cloned on demand.
    await dropReadyClones(template.name);
    const one = await createTestDatabase({ template });
    // The next one is made ahead while the first is in use, and handed over when asked for.
    await settleReadyClones();
    const two = await createTestDatabase({ template, ready: 0 });
    expect([one.prepared, two.prepared]).toEqual([false, true]);
    const signUp = (url: string) =>
      query(
        { url },
        `INSERT INTO users (id, auth0_id, email, username, full_name) VALUES ('01JKITTEST0000000000000000', 'auth0|kit', 'same@example.com', 'same', 'Same')`,
      );
    await signUp(one.url);
    await signUp(two.url);
    await expect(signUp(one.url)).rejects.toThrow(/duplicate key/);
    expect(await query({ url: two.url }, `SELECT count(*)::int AS n FROM users`)).toEqual([{ n: 4 }]);
    await one.drop();
    await two.drop();
    expect(await exists(one.name)).toBe(false);
    expect(await exists(two.name)).toBe(false);
  });

  it("cleans up what a crashed run left, and never drops a database the kit did not create", async () => {
    const pid = deadPid();
    const crashed = `${base.database}_t_${pid}_1`;
    const foreign = `${base.database}_t_${pid}_2`;
    for (const name of [crashed, foreign]) await query(admin, `CREATE DATABASE "${name}"`);
    await query(
      admin,
      `COMMENT ON DATABASE "${crashed}" IS 'chatgenius-seed test database host=${host()} pid=${pid} created=${new Date().toISOString()}'`,
    );
    try {
      const dropped = await cleanupStale(options(101));
      // Gone is what counts: another suite's cleanup on this server may have dropped it first.
      expect(await exists(crashed)).toBe(false);
      expect(dropped).not.toContain(foreign);
      expect(await exists(foreign)).toBe(true);
    } finally {
      for (const name of [crashed, foreign]) await query(admin, `DROP DATABASE IF EXISTS "${name}"`);
    }
  });

  it("drops test databases older than a day whatever their process, and ready clones whose template is gone; keeps the rest", async () => {
    // Another machine's databases: their process cannot be looked up here, only their age. A pid
    // that is dead here and one that is alive here mean nothing about a process over there.
    const pid = deadPid();
    const dayOld = `${base.database}_t_999998_1`;
    const young = `${base.database}_t_999998_2`;
    const youngDeadHere = `${base.database}_t_999998_5`;
    const orphanReady = `${base.database}_r_999998_3`;
    const liveReady = `${base.database}_r_999998_4`;
    const now = new Date().toISOString();
    const comments: Record<string, string> = {
      [dayOld]: `chatgenius-seed test database host=elsewhere pid=1 created=${new Date(Date.now() - 25 * 3600_000).toISOString()}`,
      [young]: `chatgenius-seed test database host=elsewhere pid=${process.pid} created=${now}`,
      [youngDeadHere]: `chatgenius-seed test database host=elsewhere pid=${pid} created=${now}`,
      [orphanReady]: `chatgenius-seed ready clone template=${base.database}_tpl_gone`,
      [liveReady]: `chatgenius-seed ready clone template=${TEMPLATE_DATABASE}`,
    };
    try {
      for (const [name, comment] of Object.entries(comments)) {
        await query(admin, `CREATE DATABASE "${name}"`);
        await query(admin, `COMMENT ON DATABASE "${name}" IS '${comment}'`);
      }
      const dropped = await cleanupStale(options(101));
      for (const kept of [young, youngDeadHere, liveReady]) expect(dropped).not.toContain(kept);
      // Gone is what counts for the stale ones: another suite's cleanup may have dropped them first.
      expect(
        Object.fromEntries(await Promise.all(Object.keys(comments).map(async (n) => [n, await exists(n)]))),
      ).toEqual({
        [dayOld]: false,
        [young]: true,
        [youngDeadHere]: true,
        [orphanReady]: false,
        [liveReady]: true,
      });
    } finally {
      for (const name of Object.keys(comments)) await query(admin, `DROP DATABASE IF EXISTS "${name}"`);
    }
  });
});

describe("the run's pool of clones made ahead", () => {
  it("takes the last run's ready clones first, hands each to one file only, and leaves the next run's ready", async () => {
    const template = await prepareTemplate(options(101));
    const readyOf = async () =>
      (
        await query<{ name: string }>(
          admin,
          `SELECT datname AS name FROM pg_database WHERE shobj_description(oid, 'pg_database') = $1 ORDER BY datname`,
          [`chatgenius-seed ready clone template=${template.name}`],
        )
      ).map((r) => r.name);
    await releasePool(template, { names: [], claims: "/nonexistent" }, 1, { background: false });
    const left = await readyOf();
    expect(left.length).toBeGreaterThanOrEqual(1);
    const pool = await takePool(template, left.length + 1);
    // The ready ones became this run's test databases; one more was made.
    expect(await readyOf()).toEqual([]);
    expect(pool.names).toHaveLength(left.length + 1);
    const comments = await query<{ comment: string }>(
      admin,
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = ANY($1)`,
      [pool.names],
    );
    expect(comments.map((c) => c.comment)).toEqual(
      pool.names.map(() =>
        expect.stringMatching(
          new RegExp(`^chatgenius-seed test database .*pid=${process.pid} .*template=${template.name}$`),
        ),
      ),
    );
    const claims = pool.names.map(() => claimFromPool(pool));
    expect(new Set(claims).size).toBe(pool.names.length);
    expect(claimFromPool(pool)).toBeNull();
    // A file wrote to the first one; the others stay unused.
    const used = claims[0]!;
    await query(withDatabase(serverConfig(), used), `UPDATE users SET full_name = 'written by a test'`);
    const stillUnused = pool.names.filter((n) => n !== used);
    for (const name of stillUnused) rmSync(`${pool.claims}/${name}`, { recursive: true });
    await releasePool(template, pool, pool.names.length, { background: false });
    expect(await exists(used)).toBe(false);
    const ready = await readyOf();
    expect(ready).toEqual(expect.arrayContaining(stillUnused));
    expect(ready).toHaveLength(pool.names.length);
    // No ready clone holds a test's writes.
    for (const name of ready)
      expect(
        await query(
          { url: withDatabase(serverConfig(), name).url },
          `SELECT count(*)::int AS n FROM users WHERE full_name = 'written by a test'`,
        ),
      ).toEqual([{ n: 0 }]);
  });
});

describe("the Vitest wiring", () => {
  it("runs the example suite: parallel files write conflicting rows and pass, per-test rollback works", () => {
    const run = spawnSync(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "--root", "examples/vitest"], {
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, TEST_DATABASE_URL: withDatabase(serverConfig(), `${TEMPLATE_DATABASE}_example`).url },
    });
    expect(run.stdout + run.stderr).toMatch(/Tests\s+.*5 passed/);
    expect(run.status).toBe(0);
  });
});
