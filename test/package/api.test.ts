import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// By its name, as the ChatGenius app imports it: the build in dist/ that the package ships.
import * as api from "chatgenius-seed";
import { createSeedScript, EXIT_CODES, isSeedError, type SeedLogEvent } from "chatgenius-seed";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

/** The documented runtime exports (docs/app.md, "The public API"): nothing more, nothing less. */
const PUBLIC_API = [
  "ERROR_CODES",
  "EXIT_CODES",
  "SeedError",
  "createSeedScript",
  "isSeedError",
  "jsonSink",
  "migrateDatabase",
  "reportDatabase",
  "resetDatabase",
  "seedDatabase",
  "verifyDatabase",
];

const db = useTestDatabase("api");

describe("the package's public API", () => {
  it("exports exactly the documented names: no internal leaks, none disappears", () => {
    expect(Object.keys(api).sort()).toEqual(PUBLIC_API);
  });

  it("documents every export with JSDoc that has a runnable example", () => {
    const sources = readdirSync("src", { recursive: true, encoding: "utf8" }).filter(
      (f) => f.endsWith(".ts") && !f.startsWith("generated"),
    );
    const text = sources.map((f) => readFileSync(join("src", f), "utf8")).join("\n");
    for (const name of PUBLIC_API.filter((n) => !/^[A-Z_]+$/.test(n))) {
      const declaration = new RegExp(
        `/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*export (?:async )?(?:function|class|const) ${name}\\b`,
      ).exec(text);
      expect(declaration, `${name} has no JSDoc`).not.toBeNull();
      expect(declaration![1], `${name}'s JSDoc has no @example`).toMatch(/@example/);
    }
  });
});

describe("createSeedScript (the spec's SeedScript)", () => {
  it("runs the seed in one transaction and keeps its summary", async () => {
    const script = createSeedScript({ env: {}, databaseUrl: db.url, profile: "minimal" });
    await script.runSeeds();
    expect(script.summary?.totalRows).toBe(15);
    expect(script.exitCode).toBe(EXIT_CODES.ok);
  });

  it("answers for the local seed file, logging each problem with its JSON path", () => {
    const cwd = mkdtempSync(join(tmpdir(), "script-"));
    const file = join(cwd, "accounts.json");
    writeFileSync(
      file,
      JSON.stringify({ users: [{ auth0_id: "nope", email: "a@example.com", username: "Ada", full_name: "Ada" }] }),
    );
    const events: SeedLogEvent[] = [];
    const script = createSeedScript({ env: {}, databaseUrl: db.url, dataFile: file, cwd, sink: (e) => events.push(e) });
    expect(script.validateSeedFile()).toBe(false);
    const paths = events.filter((e) => e.operation === "error").map((e) => e.details.path);
    expect(paths).toEqual(expect.arrayContaining(["users[0].auth0_id", "users[0].username"]));

    writeFileSync(
      file,
      JSON.stringify({
        users: [
          { auth0_id: "auth0|0123456789abcdef01234567", email: "ada@example.com", username: "ada", full_name: "Ada" },
        ],
      }),
    );
    expect(createSeedScript({ env: {}, databaseUrl: db.url, dataFile: file, cwd }).validateSeedFile()).toBe(true);
  });

  it("handles a failure with one error event and its documented exit code, changing nothing", async () => {
    // A row no seed writes: a seed that ran despite the failure would remove it.
    await query(
      db,
      `INSERT INTO users (id, auth0_id, email, username, full_name) VALUES ('01JZZZZZZZZZZZZZZZZZZZZZZZ', 'auth0|bbbbbbbbbbbbbbbbbbbbbbbb', 'marker@example.com', 'marker', 'Not Seed Data') ON CONFLICT (id) DO NOTHING`,
    );
    const before = await snapshot(db);
    const events: SeedLogEvent[] = [];
    const script = createSeedScript({
      env: {},
      databaseUrl: db.url,
      sink: (e) => events.push(e),
      dataFile: "/nonexistent/accounts.json",
    });
    const error = await script.runSeeds().then(
      () => null,
      (e: Error) => e,
    );
    expect(isSeedError(error, "INVALID_DATA_FILE")).toBe(true);
    script.handleError(error!);
    expect(script.exitCode).toBe(EXIT_CODES.usage);
    expect(events.filter((e) => e.operation === "error")).toHaveLength(1);

    const other = createSeedScript({ env: {}, databaseUrl: db.url, sink: (e) => events.push(e) });
    other.handleError(new Error("thrown by the app's own code"));
    expect(other.exitCode).toBe(EXIT_CODES.seedFailed);
    expect(events.filter((e) => e.operation === "error")).toHaveLength(2);
    expect(await snapshot(db)).toEqual(before);
  });
});
