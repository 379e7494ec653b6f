import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isSeedError } from "../../src/core/errors.ts";
import {
  isServerConfigured,
  loadEnv,
  redact,
  resolveDatabaseConfig,
  resolveDatabaseUrl,
  resolveEnvironment,
  resolveSeedSettings,
  runEnv,
  SERVER_VARIABLES,
  secretsOf,
  withDatabase,
  type Env,
} from "../../src/db/config.ts";
import { resolvePlanCache } from "../../src/api/run.ts";

// How the configuration is read: pure functions of the environment, no server involved.
const made: string[] = [];
/** A new empty folder, removed after the file's tests (Stryker runs them once per mutant). */
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

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
    ["a path for a database, without //", "postgresql:a/b?host=/tmp", /^DATABASE_URL names no database/],
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
      "a whole .env line for a URL (password still redacted)",
      "DATABASE_URL=postgresql://u:s3cr3tpw#1@localhost/db",
      /^DATABASE_URL is not a valid URL \(DATABASE_URL=postgresql:\/\/u:\*\*\*@localhost\/db\): use postgresql:/,
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
    const dir = tempDir("config-env-");
    writeFileSync(join(dir, ".env"), "A=1\nB=2\n");
    writeFileSync(join(dir, "other.env"), "C=3\n");
    const env: Env = { B: "from env" };
    expect(loadEnv({ cwd: dir, env })).toEqual({ A: "1", B: "from env" });
    expect(loadEnv({ cwd: dir, env: {}, file: "other.env" })).toEqual({ C: "3" });
    const none = tempDir("config-env-");
    const copy = loadEnv({ cwd: none, env });
    expect(copy).toEqual(env);
    expect(copy).not.toBe(env);
  });

  it("says which .env it cannot read", () => {
    const dir = tempDir("config-env-");
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

describe(".env lines are checked before they are read", () => {
  const dotEnv = (text: string, file = ".env") => {
    const dir = tempDir("config-dotenv-");
    mkdirSync(join(dir, "config"));
    writeFileSync(join(dir, file), text);
    return { cwd: dir, env: {}, file };
  };

  it("reads every form of NAME=value, quoted values over several lines too", () => {
    const text = [
      "# a comment",
      "",
      "NAME=value",
      "  INDENTED=1",
      "SPACED = 2",
      "export EXPORTED=3",
      'DQ="double"',
      "SQ='single'",
      "BQ=`back`",
      'MULTI="two',
      'lines"',
      "TICKS=`two",
      "lines`",
      "EMPTY=",
    ].join("\n");
    expect(loadEnv(dotEnv(text))).toEqual({
      NAME: "value",
      INDENTED: "1",
      SPACED: "2",
      EXPORTED: "3",
      DQ: "double",
      SQ: "single",
      BQ: "back",
      MULTI: "two\nlines",
      TICKS: "two\nlines",
      EMPTY: "",
    });
  });

  it("lets a line of spaces and an indented comment through", () => {
    expect(loadEnv(dotEnv("   \n"))).toEqual({});
    expect(loadEnv(dotEnv("  # an indented comment\n"))).toEqual({});
  });

  it("keeps the name of a variable after a line of spaces, an indented comment or `export` with two spaces", () => {
    // Node 20's parseEnv alone reads these as "\nB", "# c\nB" and " A": the variable would go missing.
    expect(loadEnv(dotEnv("A=1\n   \nB=2\n"))).toEqual({ A: "1", B: "2" });
    expect(loadEnv(dotEnv("A=1\n  # c\nB=2\n"))).toEqual({ A: "1", B: "2" });
    expect(loadEnv(dotEnv("export  A=1\n\texport\tB=2\n"))).toEqual({ A: "1", B: "2" });
    // A multi-line value keeps its own lines, blank or indented ones included.
    expect(loadEnv(dotEnv('NOTE="one\n   \n  # two"\nC=3\n'))).toEqual({ NOTE: "one\n   \n  # two", C: "3" });
  });

  const refused = (options: { cwd: string; env: Env; file: string }) => refusal(() => loadEnv(options));

  it("names the file and the line that is not NAME=value, trimmed, cut at 40 characters, password hidden", () => {
    expect(refused(dotEnv("A=1\n9LIVES=1\n"))).toBe(
      ".env line 2 is not NAME=value ('9LIVES=1'): fix it, or comment it out with #",
    );
    expect(refused(dotEnv("# x\n\n  DATABASE_URL postgresql://u:s3cr3tpw@h/d\n"))).toBe(
      ".env line 3 is not NAME=value ('DATABASE_URL postgresql://u:***@h/d'): fix it, or comment it out with #",
    );
    expect(refused(dotEnv("this line is much longer than forty characters in all\n"))).toBe(
      ".env line 1 is not NAME=value ('this line is much longer than forty char'): fix it, or comment it out with #",
    );
    // Another file is named as given, relative to cwd.
    expect(refused(dotEnv("A B\n", "config/dev.env"))).toBe(
      "config/dev.env line 1 is not NAME=value ('A B'): fix it, or comment it out with #",
    );
    // Old Mac line ends (a carriage return alone): parseEnv would run the lines together.
    expect(refused(dotEnv("A=1\rB=2\n"))).toMatch(/^\.env line 1 is not NAME=value/);
  });

  it.each([
    ['"', 'A=1\nURL="postgresql://x\nB=2\n', 2, "URL"],
    ["'", "URL='postgresql://x\n", 1, "URL"],
    ["`", "A=1\nB=2\nURL=`postgresql://x\n", 3, "URL"],
    ['"', 'URL= "postgresql://x\n', 1, "URL"],
    ["'", "NOTE='two\nlines'\n", 1, "NOTE"],
  ])("refuses a %s quote that is never closed: %j", (quote, text, line, name) => {
    expect(refused(dotEnv(text))).toBe(
      `.env line ${line}: the value of ${name} opens a quote (${quote}) that is never closed: close it at the end of the value, or remove it`,
    );
  });
});

describe("isServerConfigured", () => {
  it.each(SERVER_VARIABLES)("is true when %s is set", (name) => {
    const cwd = tempDir("config-server-");
    expect(isServerConfigured({ [name]: "x" }, cwd)).toBe(true);
  });

  it("is false with nothing set, or only blanks, and true with a .env file", () => {
    const cwd = tempDir("config-server-");
    expect(isServerConfigured({}, cwd)).toBe(false);
    expect(isServerConfigured({ DATABASE_URL: "", PGHOST: "  ", NODE_ENV: "test" }, cwd)).toBe(false);
    writeFileSync(join(cwd, ".env"), "");
    expect(isServerConfigured({}, cwd)).toBe(true);
  });
});

describe("resolveEnvironment", () => {
  it("settles env (.env under it), target, secrets, server and settings (overrides given over them), each frozen", () => {
    const cwd = tempDir("config-resolve-");
    writeFileSync(join(cwd, ".env"), "PGDATABASE=from_file\nPGPASSWORD=filepw\nSEED_LOCK_WAIT=5\n");
    const resolved = resolveEnvironment({
      env: { PGUSER: "ann", PGDATABASE: "from_env", SEED_LOCK_TIMEOUT: "1" },
      loadDotEnv: true,
      cwd,
      overrides: { statementTimeoutMs: 250, lockTimeoutMs: undefined },
    });
    expect(resolved).toEqual({
      env: { PGUSER: "ann", PGDATABASE: "from_env", PGPASSWORD: "filepw", SEED_LOCK_WAIT: "5", SEED_LOCK_TIMEOUT: "1" },
      secrets: ["filepw", "filepw"],
      target: resolveDatabaseConfig({ PGUSER: "ann", PGDATABASE: "from_env", PGPASSWORD: "filepw" }),
      serverConfigured: true,
      settings: { lockWaitMs: 5_000, lockTimeoutMs: 1_000, statementTimeoutMs: 250 },
    });
    for (const part of [resolved.env, resolved.secrets, resolved.target, resolved.settings]) {
      expect(Object.isFrozen(part)).toBe(true);
    }
  });

  it("puts databaseUrl over DATABASE_URL, and reads no .env unless asked", () => {
    const cwd = tempDir("config-resolve-");
    const env: Env = { DATABASE_URL: "postgresql://a@127.0.0.1/x" };
    expect(resolveEnvironment({ env, cwd }).env).toEqual(env);
    expect(resolveEnvironment({ env, cwd }).serverConfigured).toBe(true);
    expect(resolveEnvironment({ env: {}, cwd }).serverConfigured).toBe(false);
    const over = resolveEnvironment({ env, cwd, databaseUrl: "postgresql://b:pw@127.0.0.1/y" });
    expect(over.env).toEqual({ DATABASE_URL: "postgresql://b:pw@127.0.0.1/y" });
    expect(over.target.database).toBe("y");
    expect(over.secrets).toEqual(["pw", "pw"]);
    expect(env.DATABASE_URL).toBe("postgresql://a@127.0.0.1/x");
    writeFileSync(join(cwd, ".env"), "PGDATABASE=from_file\n");
    expect(resolveEnvironment({ env: {}, cwd }).env).toEqual({});
    expect(resolveEnvironment({ env: {}, cwd }).serverConfigured).toBe(true);
    expect(resolveEnvironment({ env: {}, cwd, loadDotEnv: true }).target.database).toBe("from_file");
  });

  it("runs in the process's folder when given none", () => {
    const here = resolveEnvironment({ env: {} });
    expect(here.serverConfigured).toBe(isServerConfigured({}, process.cwd()));
    expect(here.settings).toEqual(resolveSeedSettings({}));
  });
});
