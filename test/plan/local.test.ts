import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildLocalRows, localSeedJsonSchema, loadLocalSeed } from "../../src/plan/localSeed.ts";
import { planDirectory } from "../../src/plan/plan.ts";
import { cli } from "../helpers/cli.ts";
import { query, snapshot, useTestDatabase } from "../helpers/db.ts";

const db = useTestDatabase("local");
let env: Record<string, string>;

const ada = {
  auth0_id: "auth0|0123456789abcdef01234567",
  email: "ada.lovelace@example.com",
  username: "ada",
  full_name: "Ada Lovelace",
  presence: "away",
  theme: "dark",
  channels: [{ name: "general" }, { name: "engineering", role: "admin" }, { name: "security" }],
  dm_partners: ["testuser1", "grace"],
};
const grace = {
  auth0_id: "google-oauth2|123456789012345678901",
  email: "grace@example.com",
  username: "grace",
  full_name: "Grace Hopper",
};

/** A working directory holding `prisma/seed.local.json` (or another file) with this content. */
function workdir(content: unknown, file = "prisma/seed.local.json"): string {
  const dir = mkdtempSync(join(tmpdir(), "local-seed-"));
  mkdirSync(join(dir, "prisma"), { recursive: true });
  if (content !== undefined)
    writeFileSync(join(dir, file), typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return dir;
}

beforeAll(async () => {
  env = { DATABASE_URL: db.url };
});

describe("a valid local seed file", () => {
  it("adds the accounts as ordinary rows where every rule holds", async () => {
    // Both ask for the same DM: it is created once.
    const run = await cli(["seed"], env, workdir({ users: [ada, { ...grace, dm_partners: ["ada"] }] }));
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /Local accounts \(prisma\/seed\.local\.json\): ada \(auth0\|0123456789abcdef01234567\), grace \(google-oauth2\|123456789012345678901\)/,
    );
    expect(run.stdout).toMatch(/integrity: (\d+)\/\1 checks pass/);
    const [user] = await query(
      db,
      `SELECT u.username, u.full_name, s.theme, st.presence,
              (SELECT array_agg(c.name || ':' || m.role ORDER BY c.name) FROM channel_members m JOIN channels c ON c.id = m.channel_id WHERE m.user_id = u.id AND c.type <> 'dm') AS channels,
              (SELECT array_agg(c.name ORDER BY c.name) FROM channel_members m JOIN channels c ON c.id = m.channel_id WHERE m.user_id = u.id AND c.type = 'dm') AS dms
         FROM users u JOIN user_settings s ON s.user_id = u.id JOIN user_status st ON st.user_id = u.id WHERE u.auth0_id = $1`,
      [ada.auth0_id],
    );
    expect(user).toEqual({
      username: "ada",
      full_name: "Ada Lovelace",
      theme: "dark",
      presence: "away",
      channels: ["engineering:admin", "general:member", "security:member"],
      dms: ["dm-ada--grace", "dm-ada--testuser1"],
    });
    const dms = await query(
      db,
      `SELECT c.name, (SELECT count(*)::int FROM channel_members m WHERE m.channel_id = c.id) AS members, (SELECT u.username FROM users u WHERE u.id = c.created_by) AS creator FROM channels c WHERE c.name IN ('dm-ada--grace', 'dm-ada--testuser1') ORDER BY c.name`,
    );
    expect(dms).toEqual([
      { name: "dm-ada--grace", members: 2, creator: "ada" },
      { name: "dm-ada--testuser1", members: 2, creator: "ada" },
    ]);
  });

  it("gives the same ids on every run, whatever the order of the entries", async () => {
    await cli(["seed"], env, workdir({ users: [ada, grace] }));
    const first = await snapshot(db);
    await cli(["seed"], env, workdir({ users: [grace, ada] }));
    expect(await snapshot(db)).toEqual(first);
    const ids = await query<{ id: string }>(db, `SELECT id FROM users WHERE auth0_id = $1`, [ada.auth0_id]);
    const pure = buildLocalRows(
      { file: "x", users: [{ ...ada, dm_partners: [] } as never] },
      planDirectory({ profile: "dev" }),
    );
    expect(ids[0]!.id).toBe(pure.User[0]!.id);
  });

  it("changes no generated row, and leaves other entries' rows alone when one is removed", async () => {
    await cli(["seed"], env, workdir(undefined));
    const without = await snapshot(db);
    await cli(["seed"], env, workdir({ users: [ada, grace] }));
    const generatedOnly = await query(db, `SELECT count(*)::int AS n FROM messages`);
    await cli(["seed"], env, workdir(undefined));
    expect(await snapshot(db)).toEqual(without);
    expect(await query(db, `SELECT count(*)::int AS n FROM messages`)).toEqual(generatedOnly);
    await cli(["seed"], env, workdir({ users: [{ ...ada, dm_partners: ["testuser1"] }] }));
    const adaAlone = await query(db, `SELECT id FROM users WHERE username = 'ada'`);
    await cli(
      ["seed"],
      env,
      workdir({
        users: [
          { ...ada, dm_partners: ["testuser1"] },
          { ...grace, dm_partners: [] },
        ],
      }),
    );
    expect(await query(db, `SELECT id FROM users WHERE username = 'ada'`)).toEqual(adaAlone);
  });

  it("is listed by --dry-run, which writes nothing", async () => {
    const before = await snapshot(db);
    const run = await cli(["seed", "--dry-run"], env, workdir({ users: [grace] }));
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Local accounts \(prisma\/seed\.local\.json\): grace/);
    expect(await snapshot(db)).toEqual(before);
  });

  it("is read from --data and SEED_DATA_FILE too, and the example file is valid", async () => {
    const dir = workdir({ users: [grace] }, "mine.json");
    expect((await cli(["seed", "--data", "mine.json", "--profile", "minimal"], env, dir)).stdout).toMatch(
      /Local accounts \(mine\.json\): grace/,
    );
    expect((await cli(["seed", "--profile", "minimal"], { ...env, SEED_DATA_FILE: "mine.json" }, dir)).stdout).toMatch(
      /Local accounts \(mine\.json\): grace/,
    );
    const example = await cli(["seed", "--data", join(process.cwd(), "prisma/seed.local.example.json")], env, dir);
    expect(example.stderr).toBe("");
    expect(example.stdout).toMatch(/Local accounts .*: ada .*grace/);
  });

  it("prints exactly what it printed before when there is no file", async () => {
    // Table names and row counts (removed rows and times vary from run to run).
    const strip = (text: string) =>
      [...text.matchAll(/^ {2}([a-z_]+)\s+(\d+)/gm)].map((m) => `${m[1]} ${m[2]}`).join("\n");
    const a = await cli(["seed"], env, workdir(undefined));
    const b = await cli(["seed", "--data", "prisma/none.json"], env, workdir(undefined));
    expect(a.stdout).not.toMatch(/Local accounts/);
    expect(b.code).toBe(2);
    const { users, channels } = planDirectory();
    expect(strip(a.stdout)).toMatch(new RegExp(`^users ${users.length}\nchannels ${channels.length}\n`));
    expect(strip(a.stdout)).toBe(strip((await cli(["seed"], env)).stdout));
  });
});

describe("an invalid local seed file: every problem with its JSON path, exit 2, nothing written", () => {
  const cases: [string, unknown, RegExp[]][] = [
    [
      "a malformed Auth0 id",
      { users: [{ ...grace, auth0_id: "auth0|XYZ" }] },
      [/users\[0\]\.auth0_id: expected an Auth0 id: auth0\| and 24 lowercase hex digits/],
    ],
    [
      "too long and wrongly typed fields",
      { users: [{ ...grace, username: "g".repeat(51), full_name: 42, email: "not-an-email" }] },
      [
        /users\[0\]\.username: expected at most 50 characters/,
        /users\[0\]\.full_name: expected a full name \(text\)/,
        /users\[0\]\.email: expected an email address/,
      ],
    ],
    [
      "an unknown presence and an unknown field",
      { users: [{ ...grace, presence: "busy", nickname: "g" }] },
      [/users\[0\]\.presence: expected one of online, away, offline/, /users\[0\]: .*nickname/],
    ],
    [
      "a collision with a canonical user",
      { users: [{ ...grace, email: "TEST1@example.com" }] },
      [/users\[0\]\.email: a value no other user has: 'test1@example.com' belongs to testuser1/],
    ],
    [
      "two entries with the same Auth0 id",
      { users: [grace, { ...ada, auth0_id: grace.auth0_id }] },
      [/users\[1\]\.auth0_id: a value no other entry has: .* is also users\[0\]\.auth0_id/],
    ],
    [
      "a channel the profile does not have",
      { users: [{ ...grace, channels: [{ name: "desgin" }] }] },
      [/users\[0\]\.channels\[0\]\.name: a channel of this profile \(general, random, engineering/],
    ],
    [
      "an unknown DM partner",
      { users: [{ ...grace, dm_partners: ["nobody"] }] },
      [/users\[0\]\.dm_partners\[0\]: the username of a user of this profile or of another entry, not 'nobody'/],
    ],
    ["not JSON", "{ users: [", [/prisma\/seed\.local\.json: not valid JSON/]],
    ["no users list", { people: [] }, [/users: expected a list of users/]],
  ];

  it.each(cases)("%s", async (_name, content, messages) => {
    const before = await snapshot(db);
    const run = await cli(["seed"], env, workdir(content));
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: prisma\/seed\.local\.json: /);
    for (const message of messages) expect(lines[0]).toMatch(message);
    expect(await snapshot(db)).toEqual(before);
  });

  it("a file named explicitly that does not exist", async () => {
    const run = await cli(["seed", "--data", "missing.json"], env, workdir(undefined));
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /^error: missing\.json: no such file\. Create it \(see prisma\/seed\.local\.example\.json\)/,
    );
  });

  it("names a channel that exists in dev but not in the minimal profile", async () => {
    const run = await cli(
      ["seed", "--profile", "minimal"],
      env,
      workdir({ users: [{ ...grace, channels: [{ name: "engineering" }] }] }),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /users\[0\]\.channels\[0\]\.name: a channel of this profile \(general\), not 'engineering'/,
    );
  });
});

describe("the JSON Schema", () => {
  it("is committed as generated from the validator's definition", () => {
    expect(JSON.parse(readFileSync("prisma/seed.local.schema.json", "utf8"))).toEqual(localSeedJsonSchema());
  });

  it("accepts the committed example", () => {
    const local = loadLocalSeed({ cwd: process.cwd(), file: "prisma/seed.local.example.json" });
    expect(local?.users.map((u) => u.username)).toEqual(["ada", "grace"]);
  });
});
