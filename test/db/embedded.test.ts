import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  bundledCluster,
  EMBEDDED_DIR,
  isServerConfigured,
  pristineCluster,
  startEmbedded,
  type Embedded,
} from "../../src/db/embedded.ts";
import { CANONICAL_USERS } from "../../src/plan/builders/canonical.ts";
import { INTEGRITY_CHECKS } from "../../src/write/integrity.ts";
import { migrateDatabase } from "../../src/api/reset.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { verifyDatabase } from "../../src/api/verify.ts";
import { cli } from "../helpers/cli.ts";
import { snapshot } from "../helpers/db.ts";

let embedded: Embedded;
const dir = mkdtempSync(join(tmpdir(), "embedded-"));

beforeAll(async () => {
  embedded = await startEmbedded({ dir: join(dir, "pglite") });
  await migrateDatabase({ env: {}, databaseUrl: embedded.url });
});
afterAll(async () => {
  await embedded?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the embedded database (PGlite)", () => {
  it("takes the same migrations, fixtures, transaction, checks and summary", async () => {
    const summary = await seedDatabase({ env: {}, databaseUrl: embedded.url, profile: "dev" });
    expect(summary.totalRows).toBeGreaterThan(2000);
    expect(summary.integrity.map((r) => r.id)).toEqual(INTEGRITY_CHECKS.map((c) => c.id));
    expect(summary.integrity.filter((r) => r.violations > 0)).toEqual([]);
    expect(await verifyDatabase({ env: {}, databaseUrl: embedded.url, profile: "dev" })).toMatchObject({
      identical: true,
      basis: "recorded run",
    });
    expect(
      await verifyDatabase({ env: {}, databaseUrl: embedded.url, profile: "dev", regenerate: true }),
    ).toMatchObject({ identical: true });
  });

  it("starts a new folder from the cluster files shipped for the installed PGlite, with no cache and no initdb", async () => {
    const shipped = bundledCluster();
    // Missing after a PGlite upgrade: `npm run make:pglite-cluster` writes the file for it.
    expect(shipped, "assets/ has no cluster for the installed PGlite: run npm run make:pglite-cluster").not.toBeNull();
    expect(shipped!.endsWith(pristineCluster({ HOME: "/" })!.split("/").pop()!)).toBe(true);
    const cache = mkdtempSync(join(tmpdir(), "pristine-"));
    const db = await startEmbedded({ dir: join(dir, "from-shipped"), env: { XDG_CACHE_HOME: cache } });
    try {
      await migrateDatabase({ env: {}, databaseUrl: db.url });
      expect((await seedDatabase({ env: {}, databaseUrl: db.url, profile: "minimal" })).totalRows).toBe(15);
    } finally {
      await db.stop();
    }
    // Nothing was kept: initdb never ran.
    expect(existsSync(join(cache, "chatgenius-seed"))).toBe(false);
  });

  it("starts a new folder from the kept files of a fresh cluster, and from initdb when they are damaged or turned off", async () => {
    const cache = mkdtempSync(join(tmpdir(), "pristine-"));
    // Without the shipped files, as with another PGlite version than the one they were made for.
    const env = { XDG_CACHE_HOME: cache };
    const start = (name: string) => startEmbedded({ dir: join(dir, name), env, bundledCluster: false });
    await (await start("new-1")).stop();
    const kept = join(cache, "chatgenius-seed");
    const [file] = readdirSync(kept);
    expect(file).toMatch(/^pglite-[\d.]+-initdb\.tar\.gz$/);
    // From the kept files: an empty cluster that takes the migrations and a seed.
    const second = await start("new-2");
    try {
      await migrateDatabase({ env: {}, databaseUrl: second.url });
      expect((await seedDatabase({ env: {}, databaseUrl: second.url, profile: "minimal" })).totalRows).toBe(15);
    } finally {
      await second.stop();
    }
    writeFileSync(join(kept, file!), "damaged");
    const third = await start("new-3");
    try {
      await migrateDatabase({ env: {}, databaseUrl: third.url });
    } finally {
      await third.stop();
    }
    expect(statSync(join(kept, file!)).size).toBeGreaterThan(1_000_000);
    expect(pristineCluster({ XDG_CACHE_HOME: cache, SEED_CACHE: "0" })).toBeNull();
    expect(pristineCluster({ HOME: "/home/ada" })).toBe(join("/home/ada/.cache/chatgenius-seed", file!));
  });

  it("writes the canonical data exactly and identical contents on every run", async () => {
    await seedDatabase({ env: {}, databaseUrl: embedded.url, profile: "minimal" });
    const client = new pg.Client({ connectionString: embedded.url });
    await client.connect();
    const users = (await client.query(`SELECT username, auth0_id, email, full_name FROM users ORDER BY username`)).rows;
    await client.end();
    expect(users).toEqual(
      CANONICAL_USERS.map((u) => ({
        username: u.username,
        auth0_id: u.auth0Id,
        email: u.email,
        full_name: u.fullName,
      })),
    );
    await seedDatabase({ env: {}, databaseUrl: embedded.url, profile: "dev", seed: 9 });
    const first = await snapshot(embedded);
    await seedDatabase({ env: {}, databaseUrl: embedded.url, profile: "dev", seed: 9 });
    expect(await snapshot(embedded)).toEqual(first);
  });

  it("adds local accounts from a seed file as on a server", async () => {
    const summary = await seedDatabase({
      env: {},
      databaseUrl: embedded.url,
      profile: "dev",
      dataFile: join(process.cwd(), "prisma/seed.local.example.json"),
    });
    expect(summary.localAccounts?.users.map((u) => u.username)).toEqual(["ada", "grace"]);
    expect(summary.integrity.filter((r) => r.violations > 0)).toEqual([]);
  });

  it("rolls back every table when an insert fails", async () => {
    await seedDatabase({ env: {}, databaseUrl: embedded.url, profile: "minimal" });
    const before = await snapshot(embedded);
    const client = new pg.Client({ connectionString: embedded.url });
    await client.connect();
    await client.query(
      `CREATE FUNCTION fail_insert() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$ LANGUAGE plpgsql`,
    );
    await client.query(
      `CREATE TRIGGER fail_reactions BEFORE INSERT ON reactions FOR EACH STATEMENT EXECUTE FUNCTION fail_insert()`,
    );
    await client.end();
    try {
      for (const method of ["copy", "prisma"] as const) {
        await expect(
          seedDatabase({ env: {}, databaseUrl: embedded.url, profile: "dev", method }),
        ).rejects.toMatchObject({ code: "SEED_FAILED", message: expect.stringMatching(/injected failure/) });
      }
    } finally {
      const c = new pg.Client({ connectionString: embedded.url });
      await c.connect();
      await c.query(`DROP TRIGGER fail_reactions ON reactions; DROP FUNCTION fail_insert()`);
      await c.end();
    }
    expect(await snapshot(embedded)).toEqual(before);
  });

  it.runIf(inject("serverAvailable"))(
    "leaves exactly the same table contents as the PostgreSQL server for the same seed",
    async () => {
      const { createTestDatabase, dropTestDatabase } = await import("../helpers/db.ts");
      const server = await createTestDatabase("embedded_compare");
      try {
        for (const method of ["copy", "prisma"] as const) {
          await seedDatabase({ env: {}, databaseUrl: server.url, profile: "dev", scale: 2, seed: 5, method: "copy" });
          await seedDatabase({ env: {}, databaseUrl: embedded.url, profile: "dev", scale: 2, seed: 5, method });
          expect(await snapshot(embedded)).toEqual(await snapshot(server));
        }
        // Served by another process (db:serve), the rows go as JSON: the same contents too.
        const { planChunks } = await import("../../src/plan/plan.ts");
        const { validatedChunks } = await import("../../src/plan/validate.ts");
        const { encodedChunks } = await import("../../src/generation/generators.ts");
        const { writeWithCopy } = await import("../../src/write/writer.ts");
        const { createEventLog } = await import("../../src/core/log.ts");
        const client = new pg.Client({ connectionString: embedded.url });
        await client.connect();
        try {
          const chunks = encodedChunks(
            validatedChunks(planChunks({ profile: "dev", scale: 2, seed: 5 })),
            undefined,
            "json",
          );
          const first = await chunks.next();
          expect(first.value?.format).toBe("json");
          async function* all() {
            yield first.value!;
            yield* chunks;
          }
          await writeWithCopy(
            client,
            all(),
            createEventLog(() => {}),
          );
        } finally {
          await client.end();
        }
        expect(await snapshot(embedded)).toEqual(await snapshot(server));
      } finally {
        await dropTestDatabase(server);
      }
    },
  );
});

describe("the CLI without configuration", () => {
  it("uses the embedded database, says so on its first line, and keeps the data", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "embedded-cli-"));
    try {
      const run = await cli(["seed", "--profile", "minimal"], {}, cwd);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout.split("\n")[0]).toBe(
        `Using the embedded database in ${EMBEDDED_DIR}: set DATABASE_URL (or PGHOST/PGPORT/…, or write a .env) to use a PostgreSQL server instead`,
      );
      // Named by its folder, never by its internal loopback URL.
      expect(run.stdout).toContain(`Seeded: embedded database in ${EMBEDDED_DIR}  profile=minimal`);
      expect(run.stdout).not.toMatch(/127\.0\.0\.1:\d+/);
      expect(existsSync(join(cwd, EMBEDDED_DIR))).toBe(true);
      const verify = await cli(["verify", "--profile", "minimal"], {}, cwd);
      expect(verify.code).toBe(0);
      expect(verify.stdout).toMatch(/Identical to the seed profile=minimal/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("never falls back once anything is configured", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "embedded-none-"));
    expect(isServerConfigured({}, cwd)).toBe(false);
    const refused = await cli(["seed"], { PGPORT: "1", PGHOST: "127.0.0.1" }, cwd);
    expect(refused.code).toBe(2);
    expect(refused.stdout + refused.stderr).not.toMatch(/embedded/);
    writeFileSync(join(cwd, ".env"), "PGPORT=1\nPGHOST=127.0.0.1\n");
    expect(isServerConfigured({}, cwd)).toBe(true);
    expect((await cli(["seed"], {}, cwd)).stderr).toMatch(/cannot connect to PostgreSQL at 127\.0\.0\.1:1/);
    expect(existsSync(join(cwd, EMBEDDED_DIR))).toBe(false);
  });
});

describe("db:serve", () => {
  it("serves the seeded embedded database over the PostgreSQL protocol and stops cleanly on Ctrl-C", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "embedded-serve-"));
    // Below the ephemeral range (32768–60999 here), where the suite's own client sockets never land.
    const port = 20000 + Math.floor(Math.random() * 12000);
    const child = spawn(
      process.execPath,
      [
        "--import",
        pathToFileURL(join(process.cwd(), "node_modules/tsx/dist/loader.mjs")).href,
        join(process.cwd(), "src/cli/cli.ts"),
        "serve",
        "--port",
        String(port),
      ],
      { cwd, env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stdout += d));
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    try {
      for (let i = 0; i < 600 && !/Ctrl-C to stop/.test(stdout); i++) await new Promise((r) => setTimeout(r, 100));
      expect(stdout).toMatch(new RegExp(`DATABASE_URL=postgresql://postgres@127\\.0\\.0\\.1:${port}/postgres`));
      const client = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres` });
      await client.connect();
      expect((await client.query(`SELECT username FROM users ORDER BY username LIMIT 1`)).rows).toEqual([
        { username: expect.any(String) },
      ]);
      await client.end();
      // While it serves, another command is told where the database is instead of corrupting it.
      const busy = await cli(["seed"], {}, cwd);
      expect(busy.stderr).toMatch(
        new RegExp(`open in another process .*DATABASE_URL=postgresql://postgres@127\\.0\\.0\\.1:${port}/postgres`),
      );
    } finally {
      child.kill("SIGINT");
    }
    expect(await exit).toBe(0);
    expect(stdout).toMatch(/Stopped: the embedded database is saved/);
    rmSync(cwd, { recursive: true, force: true });
  });
});
