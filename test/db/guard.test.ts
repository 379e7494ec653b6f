import { describe, expect, it } from "vitest";
import { isSeedError } from "../../src/core/errors.ts";
import { resolveDatabaseConfig } from "../../src/db/config.ts";
import { assertNotProduction, environmentName, guardRun, guardTarget, isLocalHost } from "../../src/db/guard.ts";

// The guards that run before any connection: pure functions of the environment.
describe("assertNotProduction", () => {
  it.each([
    ["NODE_ENV", "production"],
    ["APP_ENV", " Production "],
  ])("refuses %s=%s, naming it", (name, value) => {
    let error: unknown;
    try {
      assertNotProduction({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(isSeedError(error, "PRODUCTION_REFUSED")).toBe(true);
    expect((error as Error).message).toBe(
      `refusing to run: ${name} is 'production' and the seed deletes data. Point DATABASE_URL at a development or test database and unset ${name}`,
    );
  });

  it("lets anything else through", () => {
    expect(() => assertNotProduction({ NODE_ENV: "development", APP_ENV: "prod" })).not.toThrow();
    expect(() => assertNotProduction({})).not.toThrow();
  });
});

describe("environmentName", () => {
  it("is APP_ENV, else NODE_ENV, else development, trimmed and in lower case", () => {
    expect(environmentName({ APP_ENV: " Staging ", NODE_ENV: "test" })).toBe("staging");
    expect(environmentName({ APP_ENV: "  ", NODE_ENV: " Test " })).toBe("test");
    expect(environmentName({ NODE_ENV: "" })).toBe("development");
    expect(environmentName({})).toBe("development");
  });
});

describe("isLocalHost", () => {
  it.each([
    "",
    "/var/run/postgresql",
    "localhost",
    " LocalHost ",
    "app.localhost",
    "::1",
    "[::1]",
    "127.0.0.1",
    "127.1.22.255",
    "0:0:0:0:0:0:0:1",
  ])("takes '%s' for this machine", (host) => {
    expect(isLocalHost(host)).toBe(true);
  });

  it.each([
    "db.example.com",
    "10.0.0.1",
    "128.0.0.1",
    "1127.0.0.1",
    "127.0.0.1.example.com",
    "127.0.0",
    "localhost.example.com",
    "mylocalhost",
    "::2",
    "var/run",
    "::[1",
    "::]1",
  ])("takes '%s' for another machine", (host) => {
    expect(isLocalHost(host)).toBe(false);
  });
});

describe("guardTarget", () => {
  const remote = { DATABASE_URL: "postgresql://app@db.example.com/chat" };
  const code = (f: () => unknown) => {
    try {
      f();
      return null;
    } catch (error) {
      return (error as { code?: string }).code;
    }
  };

  it("returns the configuration of a local target", () => {
    expect(guardTarget({ DATABASE_URL: "postgresql://app@127.0.0.1/chat" })).toMatchObject({
      host: "127.0.0.1",
      database: "chat",
    });
  });

  it("refuses a remote host unless the caller or SEED_ALLOW_REMOTE=1 opts in", () => {
    expect(code(() => guardTarget(remote))).toBe("REMOTE_REFUSED");
    expect(code(() => guardTarget({ ...remote, SEED_ALLOW_REMOTE: "true" }))).toBe("REMOTE_REFUSED");
    expect(code(() => guardTarget(remote, { allowRemote: false }))).toBe("REMOTE_REFUSED");
    expect(guardTarget(remote, { allowRemote: true }).host).toBe("db.example.com");
    expect(guardTarget({ ...remote, SEED_ALLOW_REMOTE: "1" }).host).toBe("db.example.com");
    let message = "";
    try {
      guardTarget(remote);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(
      "refusing to run against 'db.example.com', which is not this machine: the seed deletes data. If this really is a development or test database, pass --allow-remote or set SEED_ALLOW_REMOTE=1",
    );
  });

  it("refuses production before reading the configuration, unless allowed (migrate)", () => {
    expect(code(() => guardTarget({ NODE_ENV: "production", DATABASE_URL: "mysql://x" }))).toBe("PRODUCTION_REFUSED");
    expect(
      code(() =>
        guardTarget(
          { NODE_ENV: "production", DATABASE_URL: "postgresql://app@127.0.0.1/chat" },
          { allowProduction: true },
        ),
      ),
    ).toBeNull();
  });
});

describe("guardRun", () => {
  // Resolved in each test, not when the file is read: what runs outside a test makes every
  // mutant of it a "static" one, which Stryker runs against every test.
  const local = () => resolveDatabaseConfig({ DATABASE_URL: "postgresql://app@127.0.0.1/chat" });
  const remote = () => resolveDatabaseConfig({ DATABASE_URL: "postgresql://app@db.example.com/chat" });

  it("gives its verdict: the environment, production refused or allowed, a remote host opted in to", () => {
    expect(guardRun({ env: { APP_ENV: "Test" }, target: local() })).toEqual({
      environment: "test",
      production: "refused",
      remote: false,
    });
    expect(guardRun({ env: { NODE_ENV: "production" }, target: local() }, { allowProduction: true })).toEqual({
      environment: "production",
      production: "allowed",
      remote: false,
    });
    expect(guardRun({ env: { SEED_ALLOW_REMOTE: "1" }, target: remote() })).toMatchObject({ remote: true });
    expect(Object.isFrozen(guardRun({ env: {}, target: local() }))).toBe(true);
  });

  it("refuses production and a remote host it was not told to allow", () => {
    expect(() => guardRun({ env: { NODE_ENV: "production" }, target: local() })).toThrow(/NODE_ENV is 'production'/);
    expect(() => guardRun({ env: {}, target: remote() }, { allowRemote: false })).toThrow(/not this machine/);
  });
});
