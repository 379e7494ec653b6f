import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isSeedError } from "../../src/core/errors.ts";
import {
  loadEnv,
  redact,
  resolveDatabaseConfig,
  resolveDatabaseUrl,
  resolveSeedSettings,
  runEnv,
  secretsOf,
  withDatabase,
  type Env,
} from "../../src/db/config.ts";
import { resolvePlanCache } from "../../src/api/run.ts";

// How the configuration is read: pure functions of the environment, no server involved.
const refusal = (f: () => unknown): string => {
  try {
    f();
  } catch (error) {
    expect(isSeedError(error, "INVALID_CONFIG")).toBe(true);
    return (error as Error).message;
  }
  throw new Error("expected INVALID_CONFIG");
};

describe("resolveDatabaseConfig from DATABASE_URL", () => {
  it("takes every part of a full URL, and never shows the password in the target", () => {
    expect(resolveDatabaseConfig({ DATABASE_URL: "  postgresql://app:pw@127.0.0.1:6543/chat  " })).toEqual({
      url: "postgresql://app:pw@127.0.0.1:6543/chat",
      target: "postgresql://app:***@127.0.0.1:6543/chat",
      host: "127.0.0.1",
      port: 6543,
      database: "chat",
      user: "app",
    });
  });

  it("accepts postgres://, defaults the port to 5432 and the user to postgres, decodes the database name", () => {
    expect(resolveDatabaseConfig({ DATABASE_URL: "postgres://localhost/chat%2Dx" })).toMatchObject({
      host: "localhost",
      port: 5432,
      user: "postgres",
      database: "chat-x",
    });
    expect(resolveDatabaseConfig({ DATABASE_URL: "postgresql://localhost/db%zz" }).database).toBe("db%zz");
    expect(resolveDatabaseConfig({ DATABASE_URL: "postgresql://a%40b@localhost/db" }).user).toBe("a@b");
  });

  it("takes a Unix socket folder from the host parameter", () => {
    expect(
      resolveDatabaseConfig({ DATABASE_URL: "postgresql://localhost/chat?host=/var/run/postgresql" }),
    ).toMatchObject({ host: "/var/run/postgresql", database: "chat" });
  });

  it("ignores an empty DATABASE_URL and reads the PG variables", () => {
    expect(resolveDatabaseConfig({ DATABASE_URL: "   ", PGDATABASE: "other" }).database).toBe("other");
  });

  it.each([
    [
      "not a URL (password redacted)",
      "postgresql://u:s3cr3tpw@[bad/x",
      /^DATABASE_URL is not a valid URL \(postgresql:\/\/u:\*\*\*@\[bad\/x\): use postgresql:\/\/USER@HOST:PORT\/DATABASE/,
    ],
    ["another scheme", "mysql://u@localhost/x", /^DATABASE_URL uses 'mysql:' but must start with postgresql:\/\//],
    ["no database", "postgresql://localhost:5432", /^DATABASE_URL names no database: add it after the host/],
    ["an empty database", "postgresql://localhost:5432/", /names no database/],
    ["a path for a database", "postgresql://localhost/a/b", /names no database/],
    ["a fragment", "postgresql://localhost/db#x", /^DATABASE_URL has a '#' after its database name/],
    [
      "port 0",
      "postgresql://localhost:0/db",
      /^the port in DATABASE_URL is '0' but must be a port number from 1 to 65535/,
    ],
    ["no host", "postgresql:///chat", /^DATABASE_URL names no host/],
    [
      "'#' in the password",
      "postgresql://u:pa#ss@localhost/db",
      /contains '#', which a URL reads as the start of its fragment: percent-encode it/,
    ],
    [
      "'?' in the password",
      "postgresql://u:pa?ss@localhost/db",
      /contains '\?', which a URL reads as the start of its query/,
    ],
    [
      "'/' in the password",
      "postgresql://u:pa/ss@localhost/db",
      /contains '\/', which a URL reads as the start of its path/,
    ],
    [
      "'#' in the user name",
      "postgresql://us#er@localhost/db",
      /the user or password in DATABASE_URL contains '#', which a URL reads as the start of its fragment/,
    ],
    [
      "not a URL, of another scheme (password still redacted)",
      "pgsql://u:s3cr3tpw@[bad/x",
      /^DATABASE_URL is not a valid URL \(pgsql:\/\/u:\*\*\*@\[bad\/x\)/,
    ],
  ])("refuses %s with a line that says how to fix it", (_name, url, message) => {
    const text = refusal(() => resolveDatabaseConfig({ DATABASE_URL: url }));
    expect(text).toMatch(message);
    expect(text).not.toContain("s3cr3tpw");
  });
});

it("keeps the URL parser's error as the cause of an invalid DATABASE_URL", () => {
  let error: unknown;
  try {
    resolveDatabaseConfig({ DATABASE_URL: "postgresql://[bad" });
  } catch (e) {
    error = e;
  }
  expect((error as { cause?: { code?: string } }).cause?.code).toBe("ERR_INVALID_URL");
});

describe("resolveDatabaseConfig from the PG variables", () => {
  it("defaults to postgres@localhost:5432/chatgenius", () => {
    expect(resolveDatabaseConfig({})).toEqual({
      url: "postgresql://postgres@localhost:5432/chatgenius",
      target: "postgresql://postgres@localhost:5432/chatgenius",
      host: "localhost",
      port: 5432,
      database: "chatgenius",
      user: "postgres",
    });
    expect(resolveDatabaseConfig({ PGHOST: " ", PGDATABASE: "", PGUSER: "  " })).toMatchObject({
      host: "localhost",
      database: "chatgenius",
      user: "postgres",
    });
  });

  it("takes each variable, trimmed, and encodes the password and names in the URL", () => {
    const config = resolveDatabaseConfig({
      PGHOST: " db.local ",
      PGPORT: " 6000 ",
      PGDATABASE: " my db ",
      PGUSER: " ann ",
      PGPASSWORD: "p@ss word",
    });
    expect(config).toEqual({
      url: "postgresql://ann:p%40ss%20word@db.local:6000/my%20db",
      target: "postgresql://ann:***@db.local:6000/my%20db",
      host: "db.local",
      port: 6000,
      database: "my db",
      user: "ann",
    });
  });

  it("puts a socket folder in the host parameter", () => {
    const config = resolveDatabaseConfig({ PGHOST: "/tmp/sock" });
    expect(config.host).toBe("/tmp/sock");
    expect(new URL(config.url).hostname).toBe("localhost");
    expect(new URL(config.url).searchParams.get("host")).toBe("/tmp/sock");
  });

  it.each(["1", "65535"])("accepts PGPORT %s", (port) => {
    expect(resolveDatabaseConfig({ PGPORT: port }).port).toBe(Number(port));
  });

  it.each(["0", "65536", "abc", "1.5", "", "-1", "5432x"])("refuses PGPORT '%s'", (port) => {
    expect(refusal(() => resolveDatabaseConfig({ PGPORT: port }))).toBe(
      `PGPORT is '${port}' but must be a port number from 1 to 65535, e.g. 5432`,
    );
  });
});

describe("withDatabase", () => {
  it("changes the database and nothing else", () => {
    const base = resolveDatabaseConfig({ DATABASE_URL: "postgresql://app:pw@127.0.0.1:6543/chat" });
    expect(withDatabase(base, "other db")).toEqual({
      ...base,
      url: "postgresql://app:pw@127.0.0.1:6543/other%20db",
      target: "postgresql://app:***@127.0.0.1:6543/other%20db",
      database: "other db",
    });
    const socket = resolveDatabaseConfig({ PGHOST: "/tmp/sock" });
    expect(withDatabase(socket, "x").host).toBe("/tmp/sock");
  });
});

describe("redact and secretsOf", () => {
  it("replaces the password of every connection string", () => {
    expect(redact("a postgresql://app:hunter2@db/x and POSTGRES://b:pw@h/y")).toBe(
      "a postgresql://app:***@db/x and POSTGRES://b:***@h/y",
    );
    expect(redact("postgresql://app@db/x")).toBe("postgresql://app@db/x");
  });

  it("replaces every occurrence of a given secret of three characters or more", () => {
    expect(redact("abc-abc-ab", ["abc"])).toBe("***-***-ab");
    expect(redact("ab-ab", ["ab", undefined, ""])).toBe("ab-ab");
  });

  it("names a password given in PGPASSWORD or in DATABASE_URL, raw and encoded", () => {
    expect(secretsOf({ PGPASSWORD: "a b" })).toEqual(["a b", "a%20b"]);
    expect(secretsOf({ DATABASE_URL: " postgresql://u:p%40ss@h/d" })).toEqual(["p%40ss", "p@ss"]);
    expect(secretsOf({ DATABASE_URL: "postgresql://app_user:pw@h/d" })).toEqual(["pw", "pw"]);
    expect(secretsOf({ DATABASE_URL: "postgresql://u:p%zz@h/d" })).toEqual(["p%zz", "p%zz"]);
    expect(secretsOf({ DATABASE_URL: "postgresql://u@h/d", PGPASSWORD: "" })).toEqual([]);
    expect(secretsOf({ DATABASE_URL: "postgresql://u:@h/d" })).toEqual([]);
  });
});

describe("resolveSeedSettings", () => {
  it("defaults to 60 s, 10 s and 600 s, and reads seconds (fractions too)", () => {
    expect(resolveSeedSettings({})).toEqual({ lockWaitMs: 60_000, lockTimeoutMs: 10_000, statementTimeoutMs: 600_000 });
    expect(
      resolveSeedSettings({ SEED_LOCK_WAIT: " 5 ", SEED_LOCK_TIMEOUT: "0.25", SEED_STATEMENT_TIMEOUT: "0" }),
    ).toEqual({ lockWaitMs: 5_000, lockTimeoutMs: 250, statementTimeoutMs: 0 });
  });

  it("takes an empty or blank value (`SEED_LOCK_WAIT=` in a .env) as not set", () => {
    expect(resolveSeedSettings({ SEED_LOCK_WAIT: "", SEED_LOCK_TIMEOUT: "  ", SEED_STATEMENT_TIMEOUT: "" })).toEqual({
      lockWaitMs: 60_000,
      lockTimeoutMs: 10_000,
      statementTimeoutMs: 600_000,
    });
  });

  it.each([
    ["SEED_LOCK_WAIT", "soon", 60],
    ["SEED_LOCK_TIMEOUT", "-1", 10],
    ["SEED_STATEMENT_TIMEOUT", "1e3", 600],
    ["SEED_LOCK_WAIT", "Infinity", 60],
    ["SEED_LOCK_WAIT", "5s", 60],
  ])("refuses %s='%s'", (name, value, fallback) => {
    expect(refusal(() => resolveSeedSettings({ [name]: value }))).toBe(
      `${name} is '${value}' but must be a number of seconds ≥ 0, e.g. ${fallback}`,
    );
  });
});

describe("resolvePlanCache", () => {
  const cwd = "/work/app";
  it("is on when wanted or SEED_CACHE=1, off with SEED_CACHE=0", () => {
    expect(resolvePlanCache({}, cwd, true)).toEqual({
      dir: "/work/app/.chatgenius/cache",
      maxBytes: 2048 * 1024 * 1024,
    });
    expect(resolvePlanCache({ SEED_CACHE: "" }, cwd, true)).not.toBeNull();
    expect(resolvePlanCache({}, cwd, false)).toBeNull();
    expect(resolvePlanCache({ SEED_CACHE: " 1 " }, cwd, false)).not.toBeNull();
    expect(resolvePlanCache({ SEED_CACHE: "0" }, cwd, true)).toBeNull();
  });

  it("takes SEED_CACHE_DIR (relative to cwd) and SEED_CACHE_MB", () => {
    expect(resolvePlanCache({ SEED_CACHE_DIR: "plans", SEED_CACHE_MB: " 10 " }, cwd, true)).toEqual({
      dir: "/work/app/plans",
      maxBytes: 10 * 1024 * 1024,
    });
    expect(resolvePlanCache({ SEED_CACHE_DIR: "/tmp/plans", SEED_CACHE_MB: "" }, cwd, true)).toEqual({
      dir: "/tmp/plans",
      maxBytes: 2048 * 1024 * 1024,
    });
    expect(resolvePlanCache({ SEED_CACHE_DIR: "  " }, cwd, true)!.dir).toBe("/work/app/.chatgenius/cache");
  });

  it("refuses a SEED_CACHE other than 0 or 1 and a SEED_CACHE_MB that is not whole, even when off", () => {
    expect(refusal(() => resolvePlanCache({ SEED_CACHE: "yes" }, cwd, false))).toBe(
      "SEED_CACHE is 'yes' but must be 1 (keep large plans, the default) or 0 (never)",
    );
    expect(refusal(() => resolvePlanCache({ SEED_CACHE: "0", SEED_CACHE_MB: "2GB" }, cwd, true))).toBe(
      "SEED_CACHE_MB is '2GB' but must be a whole number of megabytes, e.g. 2048",
    );
    expect(refusal(() => resolvePlanCache({ SEED_CACHE_MB: "x10" }, cwd, true))).toBe(
      "SEED_CACHE_MB is 'x10' but must be a whole number of megabytes, e.g. 2048",
    );
  });
});

describe("loadEnv and runEnv", () => {
  it("reads .env under the environment: variables already set win", () => {
    const dir = mkdtempSync(join(tmpdir(), "config-env-"));
    writeFileSync(join(dir, ".env"), "A=1\nB=2\n");
    writeFileSync(join(dir, "other.env"), "C=3\n");
    const env: Env = { B: "from env" };
    expect(loadEnv({ cwd: dir, env })).toEqual({ A: "1", B: "from env" });
    expect(loadEnv({ cwd: dir, env: {}, file: "other.env" })).toEqual({ C: "3" });
    const none = mkdtempSync(join(tmpdir(), "config-env-"));
    const copy = loadEnv({ cwd: none, env });
    expect(copy).toEqual(env);
    expect(copy).not.toBe(env);
  });

  it("says which .env it cannot read", () => {
    const dir = mkdtempSync(join(tmpdir(), "config-env-"));
    mkdirSync(join(dir, ".env"));
    let error: unknown;
    try {
      loadEnv({ cwd: dir, env: {} });
    } catch (e) {
      error = e;
    }
    expect(isSeedError(error, "INVALID_CONFIG")).toBe(true);
    expect((error as Error).message).toBe(
      `cannot read ${join(dir, ".env")} (EISDIR): fix its permissions or remove it`,
    );
    expect((error as { cause?: { code?: string } }).cause?.code).toBe("EISDIR");
  });

  it("puts databaseUrl over DATABASE_URL, on a copy of env", () => {
    const env: Env = { DATABASE_URL: "postgresql://a@h/x", X: "1" };
    expect(runEnv({ env, databaseUrl: "postgresql://b@h/y" })).toEqual({ DATABASE_URL: "postgresql://b@h/y", X: "1" });
    expect(runEnv({ env })).toEqual(env);
    expect(runEnv({ env })).not.toBe(env);
    expect(env.DATABASE_URL).toBe("postgresql://a@h/x");
    // With loadDotEnv, .env goes under the given env, not under the process's environment.
    expect(runEnv({ env, loadDotEnv: true }).PATH).toBeUndefined();
    expect(runEnv({ env, loadDotEnv: true })).toMatchObject(env);
  });

  it("gives prisma.config.ts the same URL as the seed", () => {
    expect(resolveDatabaseUrl({ PGDATABASE: "x", PGPASSWORD: "pw" })).toBe("postgresql://postgres:pw@localhost:5432/x");
  });
});
