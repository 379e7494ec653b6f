import { cpSync, existsSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { isSeedError } from "../../src/core/errors.ts";
import { withDatabase } from "../../src/db/config.ts";
import { applyMigrations, readMigrations } from "../../src/db/migrations.ts";
import { schemaProblems } from "../../src/db/schemaCheck.ts";
import { createMigration } from "../../src/migrations/create.ts";
import { diffMigrationsToSchema } from "../../src/migrations/engine.ts";
import { scratchDatabase } from "../../src/migrations/scratch.ts";
import { projectFolder, spawn } from "../helpers/cli.ts";
import { createTestDatabase, dropTestDatabase, query, serverConfig } from "../helpers/db.ts";

const REPO = resolve(import.meta.dirname, "../..");
const SCRIPT = join(REPO, "scripts", "migration-new.ts");
const TSX = join(REPO, "node_modules", ".bin", "tsx");

const copies: string[] = [];
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** A folder holding a copy of the repository's prisma/ (schema, migrations), as a project would. */
function scratchProject(): { root: string; prisma: string } {
  // The embedded server runs as the postgres user when we are root: it must be able to enter the folder.
  const root = projectFolder("migration-new-");
  copies.push(root);
  cpSync(join(REPO, "prisma"), join(root, "prisma"), { recursive: true });
  return { root, prisma: join(root, "prisma") };
}

/** The scratch databases go on the test server, as a configured project's would. */
const serverEnv = () => ({ DATABASE_URL: serverConfig().url });

function editSchema(prisma: string, edit: (schema: string) => string): void {
  const file = join(prisma, "schema.prisma");
  writeFileSync(file, edit(readFileSync(file, "utf8")));
}

/** `messages.pinned_at` / `pinned_by`: a nullable column pair. */
const addPinColumns = (schema: string) =>
  schema.replace(
    "  edited    Boolean   @default(false)\n",
    '  edited    Boolean   @default(false)\n  pinnedAt  DateTime? @map("pinned_at") @db.Timestamptz(6)\n  pinnedBy  String?   @map("pinned_by") @db.VarChar(26)\n',
  );

/** `drafts` (a reply a user has not sent yet): a new table with `updated_at`; not the table of the recipe in docs/architecture.md, which a checkout may have added for real. */
const addDrafts = (schema: string) => `${schema}
model Draft {
  id        String   @id @db.VarChar(26)
  userId    String   @map("user_id") @db.VarChar(26)
  messageId String   @map("message_id") @db.VarChar(26)
  note      String?  @db.Text
  createdAt DateTime @default(now()) @map("created_at") @db.Timestamptz(6)
  updatedAt DateTime @default(now()) @updatedAt @map("updated_at") @db.Timestamptz(6)

  @@unique([userId, messageId])
  @@map("drafts")
}
`;

const migrationFolders = (prisma: string) =>
  readdirSync(join(prisma, "migrations"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();

/** Runs `npm run migration:new -- NAME`'s script as a user would, in `root`. */
const runScript = (root: string, name: string, env = serverEnv()) => spawn(TSX, [SCRIPT, name], env, root);

describe("npm run migration:new", () => {
  it("runs docs/migrations.md's command: a nullable column pair becomes one ALTER TABLE", () => {
    const { root, prisma } = scratchProject();
    // The scratch project runs the package's script through npm, exactly as the page says.
    writeFileSync(join(root, "package.json"), JSON.stringify({ scripts: { "migration:new": `tsx ${SCRIPT}` } }));
    symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"));
    editSchema(prisma, addPinColumns);
    const blocks = [
      ...readFileSync(join(REPO, "docs", "migrations.md"), "utf8").matchAll(/```sh[^\n]*\n([\s\S]*?)```/g),
    ];
    const commands = blocks.flatMap((b) => b[1]!.split("\n").map((l) => l.trim())).filter(Boolean);
    expect(commands).toEqual(["npm run migration:new -- add_pinned_at"]);
    const before = migrationFolders(prisma);

    const run = spawn("sh", ["-c", commands[0]!], serverEnv(), root);

    expect(run.stderr).not.toMatch(/error/i);
    expect(run.code).toBe(0);
    const added = migrationFolders(prisma).filter((name) => !before.includes(name));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(/^\d{14}_add_pinned_at$/);
    expect(added[0]! > before.at(-1)!).toBe(true);
    const sql = readFileSync(join(prisma, "migrations", added[0]!, "migration.sql"), "utf8");
    expect(sql).toMatch(
      /ALTER TABLE "messages" ADD COLUMN\s+"pinned_at" TIMESTAMPTZ\(6\),\s*ADD COLUMN\s+"pinned_by" VARCHAR\(26\);/,
    );
    expect(sql).not.toMatch(/CREATE TABLE|DROP|TRIGGER/);
    expect(run.stdout).toContain(`prisma/migrations/${added[0]}/migration.sql`);
  });

  it("creates a new table with its updated_at trigger; applied to a fresh database, the live schema matches and nothing is left to migrate", async () => {
    const { root, prisma } = scratchProject();
    editSchema(prisma, addDrafts);

    const made = await createMigration({ name: "add_drafts", prismaDir: prisma, env: serverEnv(), cwd: root });

    expect(made.triggers).toEqual(["drafts"]);
    expect(made.sql).toMatch(/CREATE TABLE "drafts" \(/);
    expect(made.sql).toContain('CREATE UNIQUE INDEX "drafts_user_id_message_id_key"');
    expect(made.sql).toContain(
      'CREATE OR REPLACE TRIGGER "drafts_set_updated_at" BEFORE UPDATE ON "drafts" FOR EACH ROW EXECUTE FUNCTION set_updated_at();',
    );
    expect(readFileSync(made.file, "utf8")).toBe(made.sql);

    const db = await createTestDatabase("migration_new", { empty: true });
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const applied = await applyMigrations(client, readMigrations(join(prisma, "migrations")));
      expect(applied.at(-1)).toBe(made.name);
      // The seed's live check passes on every table it knows; the new table is as the schema says.
      expect(await schemaProblems(client)).toEqual([]);
      const { rows: columns } = await client.query(
        `SELECT column_name, udt_name, is_nullable FROM information_schema.columns
          WHERE table_schema = current_schema() AND table_name = 'drafts' ORDER BY ordinal_position`,
      );
      expect(columns.map((c) => `${c.column_name} ${c.udt_name} ${c.is_nullable}`)).toEqual([
        "id varchar NO",
        "user_id varchar NO",
        "message_id varchar NO",
        "note text YES",
        "created_at timestamptz NO",
        "updated_at timestamptz NO",
      ]);
      // The trigger works: an UPDATE that leaves updated_at alone still moves it.
      await client.query(
        `INSERT INTO drafts (id, user_id, message_id, updated_at) VALUES ('b1', 'u1', 'm1', '2020-01-01')`,
      );
      await client.query(`UPDATE drafts SET note = 'later' WHERE id = 'b1'`);
      const { rows } = await client.query(`SELECT updated_at > '2021-01-01' AS moved FROM drafts`);
      expect(rows[0].moved).toBe(true);
    } finally {
      await client.end();
      await dropTestDatabase(db);
    }

    // The migrations now build exactly the schema: a second run has nothing to write.
    const again = runScript(root, "add_drafts_again");
    expect(again.code).toBe(2);
    expect(again.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^error: nothing to migrate: /)]);
    expect(migrationFolders(prisma).filter((n) => n.endsWith("_again"))).toEqual([]);
  });

  it("refuses with one line and exit code 2 when nothing changed, writing nothing", () => {
    const { root, prisma } = scratchProject();
    const before = migrationFolders(prisma);

    const run = runScript(root, "no_change");

    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        /^error: nothing to migrate: prisma\/schema.prisma matches what the \d+ migrations in prisma\/migrations build; change the schema first$/,
      ),
    ]);
    expect(migrationFolders(prisma)).toEqual(before);
  });

  it("refuses a schema that does not validate with one line naming the problem and its line, exit code 2", async () => {
    const { root, prisma } = scratchProject();
    editSchema(prisma, (schema) => schema.replace("  edited    Boolean", "  edited    Boolan"));
    const line =
      readFileSync(join(prisma, "schema.prisma"), "utf8").split("\n").indexOf("  edited    Boolan   @default(false)") +
      1;
    const before = migrationFolders(prisma);

    const run = runScript(root, "broken");

    expect(run.code).toBe(2);
    expect(run.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(
        new RegExp(
          `^error: prisma/schema.prisma does not validate: .*Boolan.* \\(line ${line}\\).*npx prisma validate`,
        ),
      ),
    ]);
    expect(migrationFolders(prisma)).toEqual(before);
    const error = await createMigration({ name: "broken", prismaDir: prisma, env: serverEnv(), cwd: root }).catch(
      (e: unknown) => e,
    );
    expect(isSeedError(error, "INVALID_CONFIG")).toBe(true);
  });

  it("never repeats an earlier, uncommitted change that a migration already holds; works with no server configured (embedded)", async () => {
    const { root, prisma } = scratchProject();
    editSchema(prisma, addPinColumns);
    const first = await createMigration({ name: "add_pinned_at", prismaDir: prisma, env: serverEnv(), cwd: root });
    expect(first.sql).toContain('"pinned_at"');
    editSchema(prisma, addDrafts);

    // No DATABASE_URL, no PG*, no .env in the folder: the scratch databases are embedded.
    const second = await createMigration({ name: "add_drafts", prismaDir: prisma, env: {}, cwd: root });

    expect(second.sql).toMatch(/CREATE TABLE "drafts"/);
    expect(second.sql).not.toContain("pinned");
    expect(second.name > first.name).toBe(true);
    expect(existsSync(first.file)).toBe(true);
  });

  it("rejects a name that is not lower-case letters, digits and underscores before doing anything", async () => {
    const { root, prisma } = scratchProject();
    const error = await createMigration({ name: "Add Pins", prismaDir: prisma, env: serverEnv(), cwd: root }).catch(
      (e: unknown) => e,
    );
    expect(isSeedError(error, "INVALID_USAGE")).toBe(true);
    expect((error as Error).message).toMatch(/^migration name 'Add Pins' must be lower-case letters/);
  });

  it("drops every scratch database it made, the engine's own connection included", async () => {
    const made: string[] = [];
    const recording = async () => {
      const database = await scratchDatabase(serverEnv(), REPO);
      made.push(new URL(database.url).pathname.slice(1));
      return database;
    };
    const schema = join(REPO, "prisma", "schema.prisma");

    const sql = await diffMigrationsToSchema(
      readMigrations(),
      { path: schema, content: readFileSync(schema, "utf8") },
      recording,
    );

    expect(sql.trim()).toBe("-- This is an empty migration.");
    expect(made.length).toBeGreaterThanOrEqual(1);
    const left = await query(
      withDatabase(serverConfig(), "postgres"),
      `SELECT datname FROM pg_database WHERE datname = ANY($1)`,
      [made],
    );
    expect(left).toEqual([]);
  });
});
