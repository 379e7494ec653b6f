import { execFileSync, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withDatabase } from "../../src/db/config.ts";
import { query, serverConfig, useTestDatabase } from "../helpers/db.ts";

// The ChatGenius app's way in: `npm pack`, installed into a project of its own, then its command
// and its API from there. Nothing of this checkout is reachable from the scratch project.
const db = useTestDatabase("package", { empty: true });
const root = resolve(".");
let app: string;

function run(command: string, args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(command, args, {
    cwd: app,
    encoding: "utf8",
    timeout: 180_000,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
  });
  // npm's own notices about the machine's npm configuration are not the package's output.
  const stderr = result.stderr
    .split("\n")
    .filter((line) => !line.startsWith("npm warn"))
    .join("\n");
  return { code: result.status, stdout: result.stdout, stderr };
}

beforeAll(() => {
  // dist/ current and its type declarations built, then packed as is (scripts would rebuild
  // dist/ under the feet of other test files' commands).
  execFileSync(process.execPath, ["scripts/build.mjs", "--types"], { cwd: root, stdio: "ignore" });
  const packs = mkdtempSync(join(tmpdir(), "pack-"));
  execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", packs], { cwd: root, stdio: "ignore" });
  const tarball = join(packs, readdirSync(packs)[0]!);
  app = mkdtempSync(join(tmpdir(), "chatgenius-app-"));
  // As root, the embedded server runs as the `postgres` user, who must be able to reach the app.
  chmodSync(app, 0o755);
  writeFileSync(
    join(app, "package.json"),
    JSON.stringify({ name: "chatgenius-app", version: "1.0.0", private: true, type: "module" }),
  );
  // The npm cache already holds every dependency after `npm ci`: no network needed.
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], {
    cwd: app,
    stdio: "ignore",
    timeout: 300_000,
  });
}, 600_000);

afterAll(async () => {
  // The app's folder, its embedded database (stopped when its last command ended) included.
  if (app) rmSync(app, { recursive: true, force: true });
  // The kit's template made by the app's script (and any clone made ahead of it).
  const admin = withDatabase(serverConfig(), "postgres");
  for (const { name } of await query<{ name: string }>(
    admin,
    `SELECT datname AS name FROM pg_database WHERE datname LIKE $1 AND shobj_description(oid, 'pg_database') LIKE 'chatgenius-seed %'`,
    [`${db.database}\\_%`],
  )) {
    await query(admin, `ALTER DATABASE "${name}" WITH IS_TEMPLATE false`);
    await query(admin, `DROP DATABASE "${name}" WITH (FORCE)`);
  }
});

describe("the packed package, installed into the app", () => {
  it("runs its command: npx chatgenius-seed reset creates, migrates and seeds the database", () => {
    const reset = run("npx", ["chatgenius-seed", "reset", "--profile", "minimal"], { DATABASE_URL: db.url });
    expect(reset.stderr).toBe("");
    expect(reset.code).toBe(0);
    expect(reset.stdout).toMatch(/^ {2}total\s+15$/m);
    expect(run("npx", ["chatgenius-seed", "--help"]).stdout).toMatch(
      /^chatgenius-seed: fill a ChatGenius PostgreSQL database/,
    );
    const bad = run("npx", ["chatgenius-seed", "seed", "--scale", "0"], { DATABASE_URL: db.url });
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("serves its API and its test kit to the app's code, by the package's names", async () => {
    writeFileSync(
      join(app, "seed.mjs"),
      `import { seedDatabase, createSeedScript } from "chatgenius-seed";
       const summary = await seedDatabase({ databaseUrl: process.env.DATABASE_URL, profile: "dev" });
       const script = createSeedScript({ databaseUrl: process.env.DATABASE_URL, profile: "minimal" });
       await script.runSeeds();
       const { prepareTemplate, createTestDatabase } = await import("chatgenius-seed/testing");
       const template = await prepareTemplate({ databaseUrl: process.env.DATABASE_URL, profile: "minimal", seed: 5 });
       const clone = await createTestDatabase({ template, ready: 0 });
       await clone.drop();
       console.log(JSON.stringify({ dev: summary.totalRows, minimal: script.summary.totalRows, kit: template.name.includes("_tpl_") }));`,
    );
    run("npx", ["chatgenius-seed", "migrate"], { DATABASE_URL: db.url });
    const result = run(process.execPath, ["seed.mjs"], { DATABASE_URL: db.url });
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toMatchObject({ minimal: 15, kit: true });
    expect(JSON.parse(result.stdout).dev).toBeGreaterThan(2000);
    expect(await query(db, `SELECT username FROM users ORDER BY username`)).toEqual([
      { username: "testuser1" },
      { username: "testuser2" },
      { username: "testuser3" },
    ]);
  });

  it("ships type declarations the app's TypeScript checks against", () => {
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "NodeNext",
          moduleResolution: "NodeNext",
          target: "ES2022",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
        },
      }),
    );
    writeFileSync(
      join(app, "check.ts"),
      `import { seedDatabase, type SeedSummary } from "chatgenius-seed";\nconst summary: SeedSummary = await seedDatabase({ profile: "minimal" });\nconst wrong: string = summary.totalRows;\n`,
    );
    const tsc = run(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "."]);
    // The one error is the deliberate one: the package's types were found and applied.
    expect(tsc.stdout).toMatch(/check\.ts\(3,7\): error TS2322: Type 'number' is not assignable to type 'string'/);
    expect(tsc.stdout.trim().split("\n")).toHaveLength(1);
  });

  it("runs the scenario test file of docs/scenarios.md as it stands", () => {
    const page = readFileSync(join(root, "docs", "scenarios.md"), "utf8");
    const block = /```ts\n([\s\S]*?)```/.exec(page)![1]!;
    expect(block).toMatch(/from "chatgenius-seed\/scenario"/);
    writeFileSync(join(app, "private-thread.test.ts"), block);
    // The app's own Vitest: this checkout's, linked in (it resolves its dependencies from here).
    mkdirSync(join(app, "node_modules"), { recursive: true });
    symlinkSync(join(root, "node_modules", "vitest"), join(app, "node_modules", "vitest"), "dir");
    const result = run(process.execPath, [join(app, "node_modules", "vitest", "vitest.mjs"), "run", "--root", app], {
      DATABASE_URL: db.url,
      NO_COLOR: "1",
    });
    expect(result.stdout + result.stderr).toMatch(/Tests\s+1 passed/);
    expect(result.code).toBe(0);
    // And as it stands with nothing configured: on the embedded PostgreSQL in the app's folder.
    const embedded = run(process.execPath, [join(app, "node_modules", "vitest", "vitest.mjs"), "run", "--root", app], {
      NO_COLOR: "1",
    });
    expect(embedded.stdout + embedded.stderr).toMatch(/Tests\s+1 passed/);
    expect(embedded.code).toBe(0);
    expect(existsSync(join(app, ".chatgenius", "postgres", "data"))).toBe(true);
  });
});
