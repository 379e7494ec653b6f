import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { withDatabase } from "../../src/db/config.ts";
import { isSeedLogEvent } from "../../src/core/log.ts";
import { planDirectory } from "../../src/plan/plan.ts";
import { cli, spawn } from "../helpers/cli.ts";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

/** A distinctive password: it must never appear in any output. */
const SECRET = "Zq7-sekr3t-PW-4711";
const db = useTestDatabase("cli");
let withSecret: string;

beforeAll(async () => {
  // The local server trusts connections, so the password is accepted and ignored.
  const url = new URL(db.url);
  url.password = SECRET;
  withSecret = url.toString();
});

/** Stand-ins, in the cases below, for this file's seeded database (its URL with the password, and its name). */
const CLONE = "<clone-url>";
const CLONE_DB = "<clone-db>";
/** The suite's server (the machine's, or the embedded one where none answers), as PGHOST and PGPORT. */
const CLONE_HOST = "<clone-host>";
const CLONE_PORT = "<clone-port>";
const resolveClone = (env: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(env).map(([k, v]) => [
      k,
      v === CLONE
        ? withSecret
        : v.replaceAll(CLONE_DB, db.database).replaceAll(CLONE_HOST, db.host).replaceAll(CLONE_PORT, String(db.port)),
    ]),
  );

function expectNoSecret(run: { stdout: string; stderr: string }) {
  expect(run.stdout + run.stderr).not.toContain(SECRET);
}

function oneErrorLine(run: { stderr: string }) {
  const lines = run.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  return lines[0]!;
}

describe("bad input: one line that says how to fix it, its exit code, database unchanged", () => {
  beforeEach(async () => {
    // A row no seed writes: a seed or reset that ran by mistake would remove it, so a case that
    // touched the database changes its snapshot (a reseed alone would write the same rows).
    await query(
      db,
      `INSERT INTO users (id, auth0_id, email, username, full_name) VALUES ('01JZZZZZZZZZZZZZZZZZZZZZZZ', 'auth0|cccccccccccccccccccccccc', 'marker@example.com', 'marker', 'Not Seed Data') ON CONFLICT (id) DO NOTHING`,
    );
  });

  const cases: [string, string[], Record<string, string>, number, RegExp][] = [
    ["an unknown flag", ["seed", "--bogus"], { DATABASE_URL: CLONE }, 2, /unknown flag '--bogus'.*--help/],
    ["an unknown command", ["sow"], { DATABASE_URL: CLONE }, 2, /unknown command 'sow'.*seed, migrate, reset/],
    [
      "--scale 0",
      ["seed", "--scale", "0"],
      { DATABASE_URL: CLONE },
      2,
      /^error: --scale must be a whole number from 1 to 1000, got '0': e\.g\. --scale 2$/,
    ],
    [
      "a negative --scale",
      ["seed", "--scale=-3"],
      { DATABASE_URL: CLONE },
      2,
      /--scale must be a whole number from 1 to 1000, got '-3'/,
    ],
    [
      "--scale that is not a number",
      ["seed", "--scale", "lots"],
      { DATABASE_URL: CLONE },
      2,
      /--scale must be a whole number from 1 to 1000, got 'lots'/,
    ],
    [
      "--seed that is not an integer",
      ["seed", "--seed", "1.5"],
      { DATABASE_URL: CLONE },
      2,
      /--seed must be a whole number ≥ 0, got '1.5'/,
    ],
    ["a flag without its value", ["seed", "--scale"], { DATABASE_URL: CLONE }, 2, /'--scale' needs a value/],
    [
      "an unknown --profile",
      ["seed", "--profile", "huge"],
      { DATABASE_URL: CLONE },
      2,
      /^error: --profile must be one of minimal, dev, edge, got 'huge': e\.g\. --profile minimal$/,
    ],
    [
      "a negative --seed: its own example",
      ["seed", "--seed", "-1"],
      { DATABASE_URL: CLONE },
      2,
      /^error: --seed must be a whole number ≥ 0, got '-1': e\.g\. --seed 42$/,
    ],
    [
      "--profile without its value: its own example",
      ["seed", "--profile"],
      { DATABASE_URL: CLONE },
      2,
      /^error: flag '--profile' needs a value, e\.g\. --profile minimal: run with --help/,
    ],
    [
      "--seed past 2^53: echoed exactly as typed",
      ["seed", "--seed", "123456789012345678901"],
      { DATABASE_URL: CLONE },
      2,
      /^error: --seed must be a whole number ≥ 0 and at most 9007199254740991, got '123456789012345678901': e\.g\. --seed 42$/,
    ],
    [
      "--last 0 on report: its own example",
      ["report", "--last", "0"],
      { DATABASE_URL: CLONE },
      2,
      /^error: --last must be a whole number from 1 to 100000, got '0': e\.g\. --last 50$/,
    ],
    [
      "a value given to a switch",
      ["seed", "--json=yes"],
      { DATABASE_URL: CLONE },
      2,
      /^error: --json takes no value, got 'yes'/,
    ],
    [
      "conflicting flags (--scale with minimal)",
      ["seed", "--profile", "minimal", "--scale", "2"],
      { DATABASE_URL: CLONE },
      2,
      /--scale applies to the dev profile only/,
    ],
    [
      "a flag the command does not take",
      ["migrate", "--scale", "2"],
      { DATABASE_URL: CLONE },
      2,
      /--scale does not apply to 'migrate'/,
    ],
    ["--dry-run on reset", ["reset", "--dry-run"], { DATABASE_URL: CLONE }, 2, /--dry-run does not apply to 'reset'/],
    [
      "a malformed DATABASE_URL",
      ["seed"],
      { DATABASE_URL: `postgresql://u:${SECRET}@[bad/x` },
      2,
      /DATABASE_URL is not a valid URL .*postgresql:\/\/USER@HOST:PORT\/DATABASE/,
    ],
    [
      "a DATABASE_URL of another kind",
      ["seed"],
      { DATABASE_URL: `mysql://u:${SECRET}@localhost/x` },
      2,
      /must start with postgresql:\/\//,
    ],
    [
      "a DATABASE_URL without database",
      ["seed"],
      { DATABASE_URL: `postgresql://u:${SECRET}@localhost:5432` },
      2,
      /names no database/,
    ],
    [
      "PGPORT that is not a number",
      ["seed"],
      { PGHOST: "127.0.0.1", PGUSER: "postgres", PGDATABASE: CLONE_DB, PGPORT: "fivefourthreetwo", PGPASSWORD: SECRET },
      2,
      /PGPORT is 'fivefourthreetwo' but must be a port number from 1 to 65535/,
    ],
    [
      "PGPORT out of range",
      ["seed"],
      { PGHOST: "127.0.0.1", PGUSER: "postgres", PGDATABASE: CLONE_DB, PGPORT: "70000", PGPASSWORD: SECRET },
      2,
      /PGPORT is '70000' but must be a port number/,
    ],
    [
      "a refused connection",
      ["seed"],
      { DATABASE_URL: `postgresql://postgres:${SECRET}@127.0.0.1:1/${CLONE_DB}` },
      2,
      /cannot connect to PostgreSQL at 127\.0\.0\.1:1 \(connection refused\): start the server/,
    ],
    [
      "an unknown host (remote allowed)",
      ["seed"],
      { PGHOST: "no-such-host.invalid", PGDATABASE: CLONE_DB, PGPASSWORD: SECRET, SEED_ALLOW_REMOTE: "1" },
      2,
      /the database host 'no-such-host\.invalid' was not found: fix PGHOST/,
    ],
    [
      "a remote host without opting in",
      ["seed"],
      { DATABASE_URL: `postgresql://app:${SECRET}@db.prod.example.com:5432/chatgenius` },
      3,
      /refusing to run against 'db\.prod\.example\.com', which is not this machine.*--allow-remote or set SEED_ALLOW_REMOTE=1/,
    ],
    [
      "a timeout that is not a number",
      ["seed"],
      { DATABASE_URL: CLONE, SEED_LOCK_WAIT: "soon" },
      2,
      /SEED_LOCK_WAIT is 'soon' but must be a number of seconds/,
    ],
    [
      "a SEED_CACHE that is neither 0 nor 1",
      ["seed"],
      { DATABASE_URL: CLONE, SEED_CACHE: "yes" },
      2,
      /SEED_CACHE is 'yes' but must be 1 \(keep large plans, the default\) or 0 \(never\)/,
    ],
    [
      "a SEED_CACHE_MB that is not a whole number",
      ["reset"],
      { DATABASE_URL: CLONE, SEED_CACHE_MB: "2GB" },
      2,
      /SEED_CACHE_MB is '2GB' but must be a whole number of megabytes/,
    ],
    [
      "NODE_ENV=production",
      ["seed"],
      { NODE_ENV: "production", DATABASE_URL: CLONE },
      3,
      /refusing to run: NODE_ENV is 'production'/,
    ],
    [
      "APP_ENV=production on reset",
      ["reset"],
      { APP_ENV: "production", DATABASE_URL: CLONE },
      3,
      /refusing to run: APP_ENV is 'production'/,
    ],
    [
      "an unencoded '#' in the password",
      ["seed"],
      { DATABASE_URL: `postgresql://postgres:${SECRET}#1@127.0.0.1:5432/${CLONE_DB}` },
      2,
      /password in DATABASE_URL contains '#'.*percent-encode it \('#' → %23/,
    ],
    [
      "an unencoded '?' in the password",
      ["seed"],
      { DATABASE_URL: `postgresql://postgres:${SECRET}?1@localhost/${CLONE_DB}` },
      2,
      /password in DATABASE_URL contains '\?'.*percent-encode/,
    ],
    [
      "a socket folder with no server",
      ["seed"],
      { PGHOST: "/nonexistent", PGDATABASE: CLONE_DB, PGPASSWORD: SECRET },
      2,
      /no PostgreSQL socket at \/nonexistent\/\.s\.PGSQL\.5432: start the server, or set PGHOST/,
    ],
    [
      "a user the server does not know",
      ["seed"],
      { PGHOST: CLONE_HOST, PGPORT: CLONE_PORT, PGUSER: "no_such_role", PGDATABASE: CLONE_DB, PGPASSWORD: SECRET },
      2,
      /has no role 'no_such_role': create it .* or fix PGUSER/,
    ],
  ];

  it("points the cases that could reach a database at this file's seeded one", () => {
    // Only the three malformed URLs and the remote host name no database of this server.
    expect(
      cases
        .filter(([, , env]) => !Object.values(env).some((v) => v === CLONE || v.includes(CLONE_DB)))
        .map(([name]) => name),
    ).toEqual([
      "a malformed DATABASE_URL",
      "a DATABASE_URL of another kind",
      "a DATABASE_URL without database",
      "a remote host without opting in",
    ]);
  });

  it.each(cases)("%s", async (_name, argv, env, code, message) => {
    const before = await snapshot(db);
    expect(before.users!.rows).toBeGreaterThan(0);
    const run = await cli(argv, resolveClone(env));
    expect(run.code).toBe(code);
    expect(oneErrorLine(run)).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expectNoSecret(run);
    expect(await snapshot(db)).toEqual(before);
  });

  it("a wrong password: says which user and what to fix, without the password", async () => {
    // This machine's server trusts every local connection, so a stand-in speaks the one part of
    // the protocol involved: it asks for a password and answers as PostgreSQL does to a wrong one.
    const server = createServer((socket) => {
      let stage = 0;
      socket.on("error", () => {});
      socket.on("data", () => {
        stage += 1;
        if (stage > 2) return; // the client's goodbye
        if (stage === 1) {
          socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
          return;
        }
        const fields = ["SFATAL", "VFATAL", "C28P01", 'Mpassword authentication failed for user "postgres"'].map((f) =>
          Buffer.from(`${f}\0`),
        );
        const body = Buffer.concat([...fields, Buffer.from([0])]);
        const head = Buffer.alloc(5);
        head.write("E", 0);
        head.writeInt32BE(body.length + 4, 1);
        socket.end(Buffer.concat([head, body]));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const run = await cli(["seed"], { DATABASE_URL: `postgresql://postgres:${SECRET}@127.0.0.1:${port}/chatgenius` });
      expect(run.code).toBe(2);
      expect(oneErrorLine(run)).toMatch(
        /PostgreSQL refused user 'postgres' \(wrong password or not allowed\): fix PGUSER\/PGPASSWORD or the credentials in DATABASE_URL/,
      );
      expectNoSecret(run);
    } finally {
      server.close();
    }
  });

  it("a database that does not exist: says to run db:reset", async () => {
    const missing = withDatabase(db, "chatgenius_test_does_not_exist");
    const url = new URL(missing.url);
    url.password = SECRET;
    const run = await cli(["seed"], { DATABASE_URL: url.toString() });
    expect(run.code).toBe(2);
    expect(oneErrorLine(run)).toMatch(
      /database 'chatgenius_test_does_not_exist' does not exist: run 'npm run db:reset'/,
    );
    expectNoSecret(run);
  });

  it("an unapplied migration: names it, exit 2, nothing written", async () => {
    const before = await snapshot(db);
    await query(
      db,
      `CREATE TABLE migrations_backup AS SELECT * FROM _prisma_migrations; DELETE FROM _prisma_migrations`,
    );
    try {
      const run = await cli(["seed"], { DATABASE_URL: withSecret });
      expect(run.code).toBe(2);
      expect(oneErrorLine(run)).toMatch(/20261123234500_init.*Run 'npm run db:migrate'/);
      expect(await snapshot(db)).toEqual(before);
    } finally {
      await query(db, `INSERT INTO _prisma_migrations SELECT * FROM migrations_backup; DROP TABLE migrations_backup`);
    }
  });

  it("an unreadable .env: says which file and how to fix it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-env-"));
    mkdirSync(join(dir, ".env")); // a folder where the file should be: reading it fails
    const run = await cli(["seed"], {}, dir);
    expect(run.code).toBe(2);
    expect(oneErrorLine(run)).toMatch(/cannot read .*\.env \(EISDIR\): fix its permissions or remove it/);
  });

  it("redacts the password from the underlying error that --verbose shows, when the driver's error holds it", async () => {
    // A stand-in for a server (or a pooler in front of it) whose error message quotes the
    // connection string it was given, password included: the cause printed must be redacted too.
    const url = (port: number) => `postgresql://postgres:${SECRET}@127.0.0.1:${port}/chatgenius`;
    let port = 0;
    const server = createServer((socket) => {
      socket.on("error", () => {});
      socket.once("data", () => {
        const fields = ["SFATAL", "VFATAL", "CXX000", `Mcannot route ${url(port)}: no such pool`].map((f) =>
          Buffer.from(`${f}\0`),
        );
        const body = Buffer.concat([...fields, Buffer.from([0])]);
        const head = Buffer.alloc(5);
        head.write("E", 0);
        head.writeInt32BE(body.length + 4, 1);
        socket.end(Buffer.concat([head, body]));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
    try {
      const run = await cli(["seed", "--verbose"], { DATABASE_URL: url(port) });
      expect(run.code).not.toBe(0);
      // The cause is shown (its message and stack), with the password replaced.
      expect(run.stderr).toMatch(
        /cannot route postgresql:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/chatgenius: no such pool/,
      );
      expect(run.stderr).toMatch(/\n\s+at /);
      expectNoSecret(run);
    } finally {
      server.close();
    }
  });

  it("shows the underlying error with --verbose, still without the password", async () => {
    const run = await cli(["seed", "--verbose"], {
      DATABASE_URL: `postgresql://postgres:${SECRET}@127.0.0.1:1/chatgenius`,
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/ECONNREFUSED/);
    expectNoSecret(run);
  });
});

describe("the CLI", () => {
  it("lists flags, variables and exit codes with --help", async () => {
    const run = await cli(["--help"], {});
    expect(run.code).toBe(0);
    for (const text of [
      "--profile",
      "--scale",
      "--seed",
      "--json",
      "--dry-run",
      "DATABASE_URL",
      "PGHOST",
      "PGPORT",
      "PGDATABASE",
      "PGUSER",
      "PGPASSWORD",
      "NODE_ENV",
      "Exit codes:",
      "3  refused",
    ]) {
      expect(run.stdout).toContain(text);
    }
  });

  it("seeds, prints the summary with integrity results, and reads .env (the environment wins)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "cli-dotenv-"));
    writeFileSync(join(dir, ".env"), `DATABASE_URL=${withSecret}\nPGDATABASE=ignored_because_DATABASE_URL_wins\n`);
    const run = await cli(["seed", "--profile", "minimal"], {}, dir);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/users\s+3\s+\d+\s+\d+/);
    expect(run.stdout).toMatch(/integrity: (\d+)\/\1 checks pass/);
    expect(run.stdout).toMatch(
      /phases \(ms\): validate \d+, generate \d+, cleanup \d+, write \d+, verify \d+, total \d+/,
    );
    expect(run.stdout).toContain(`Seeded: ${withSecret.replace(SECRET, "***")}`);
    expectNoSecret(run);
    writeFileSync(join(dir, ".env"), `DATABASE_URL=postgresql://postgres@127.0.0.1:1/nowhere\n`);
    const overridden = await cli(["seed", "--profile", "minimal"], { DATABASE_URL: db.url }, dir);
    expect(overridden.code).toBe(0);
  });

  it("prints exactly one SeedLogEvent per line on stdout with --json", async () => {
    const run = await cli(["seed", "--profile", "dev", "--json"], { DATABASE_URL: withSecret });
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split("\n");
    const events = lines.map((line) => JSON.parse(line));
    expect(events.every(isSeedLogEvent)).toBe(true);
    expect(events.map((e) => e.operation)).toEqual(expect.arrayContaining(["start", "cleanup", "insert", "complete"]));
    expect(events.at(-1).details.summary.integrity.every((r: { violations: number }) => r.violations === 0)).toBe(true);
    expectNoSecret(run);
  });

  it("reports a failure as a JSON error event too", async () => {
    const run = await cli(["seed", "--json", "--scale", "0"], {});
    expect(run.code).toBe(2);
    const events = run.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(events).toHaveLength(1);
    expect(isSeedLogEvent(events[0])).toBe(true);
    expect(events[0]).toMatchObject({ operation: "error", error: { code: "INVALID_USAGE" } });
  });

  it("prints the plan and writes nothing with --dry-run", async () => {
    const before = await snapshot(db);
    const run = await cli(["seed", "--dry-run", "--scale", "2"], { DATABASE_URL: db.url });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Plan \(dry run: nothing written\)/);
    const { users, channels } = planDirectory({ scale: 2 });
    expect(run.stdout).toMatch(new RegExp(`users\\s+${users.length}\\n\\s+channels\\s+${channels.length}`));
    expect(await snapshot(db)).toEqual(before);
  });

  it("exits with the documented code as a real process", () => {
    const bad = spawn("node_modules/.bin/tsx", ["src/cli/cli.ts", "seed", "--scale", "0"], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/^error: --scale must be a whole number from 1 to 1000, got '0'/);
    const refused = spawn("node_modules/.bin/tsx", ["src/cli/cli.ts", "seed"], { NODE_ENV: "production" });
    expect(refused.code).toBe(3);
  });

  it("runs through `npx prisma db seed`", async () => {
    await cli(["seed", "--profile", "dev"], { DATABASE_URL: db.url });
    const run = spawn("npx", ["prisma", "db", "seed", "--", "--profile", "minimal"], { DATABASE_URL: withSecret });
    expect(run.stderr + run.stdout).not.toContain(SECRET);
    expect(run.code).toBe(0);
    expect(await query(db, `SELECT username FROM users ORDER BY username`)).toEqual([
      { username: "testuser1" },
      { username: "testuser2" },
      { username: "testuser3" },
    ]);
  });
});
