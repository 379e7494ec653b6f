import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { redact, secretsOf, type Env } from "../db/config.ts";
import { readMigrations } from "../db/migrations.ts";
import { SeedError } from "../core/errors.ts";
import { diffMigrationsToSchema } from "./engine.ts";
import { scratchDatabase } from "./scratch.ts";
import { tablesGainingUpdatedAt, updatedAtTriggers } from "./triggers.ts";

/** What `migration:new` is asked for. */
export interface NewMigrationOptions {
  /** The migration's name after its timestamp: lower-case letters, digits and underscores. */
  readonly name: string;
  /** The folder of `schema.prisma` and `migrations/` (the project's `prisma/`). */
  readonly prismaDir: string;
  /** Where scratch databases come from: a configured server (DATABASE_URL, PG*, `.env` in `cwd`), else embedded. */
  readonly env: Env;
  readonly cwd: string;
  /** The migration's time (default: now); its folder is named after it, in UTC. */
  readonly now?: Date;
}

/** A migration written by `migration:new`. */
export interface NewMigration {
  /** `<timestamp>_<name>`, the folder's name. */
  readonly name: string;
  /** The migration.sql written. */
  readonly file: string;
  readonly sql: string;
  /** The tables that got an `updated_at` trigger. */
  readonly triggers: readonly string[];
}

/** What Prisma's engine writes when the two schemas agree. */
const EMPTY = "-- This is an empty migration.";

/**
 * Writes `<prismaDir>/migrations/<timestamp>_<name>/migration.sql`: the SQL that takes a
 * database from what the existing migrations build to `schema.prisma` (so a change already in
 * an earlier migration, committed or not, is never repeated), plus an `updated_at` trigger for
 * each table that gains the column. Prisma's WebAssembly schema engine computes it, applying the
 * migrations to a scratch database (see scratchDatabase). Refuses with one line (exit code 2)
 * when nothing changed or the schema does not validate; writes nothing then.
 *
 * @example
 * const made = await createMigration({ name: "add_pinned_at", prismaDir: "prisma", env: process.env, cwd: process.cwd() });
 * console.log(made.file); // prisma/migrations/20261204093000_add_pinned_at/migration.sql
 */
export async function createMigration(options: NewMigrationOptions): Promise<NewMigration> {
  const { name, prismaDir, env, cwd } = options;
  if (!/^[a-z0-9_]{1,200}$/.test(name))
    throw new SeedError(
      "INVALID_USAGE",
      `migration name '${name}' must be lower-case letters, digits and underscores: e.g. npm run migration:new -- add_pinned_at`,
    );
  const schemaFile = join(prismaDir, "schema.prisma");
  const shown = relative(cwd, schemaFile) || schemaFile;
  if (!existsSync(schemaFile))
    throw new SeedError("INVALID_CONFIG", `no Prisma schema at ${shown}: run migration:new from the project's folder`);
  const migrationsDir = join(prismaDir, "migrations");
  const migrations = readMigrations(migrationsDir);
  let diff: string;
  try {
    diff = await diffMigrationsToSchema(migrations, { path: shown, content: readFileSync(schemaFile, "utf8") }, () =>
      scratchDatabase(env, cwd),
    );
  } catch (error) {
    throw engineError(error, shown, secretsOf(env));
  }
  const body = diff.trim();
  if (body === "" || body === EMPTY)
    throw new SeedError(
      "INVALID_USAGE",
      `nothing to migrate: ${shown} matches what the ${migrations.length} migrations in ${relative(cwd, migrationsDir) || migrationsDir} build; change the schema first`,
    );
  const triggers = tablesGainingUpdatedAt(body);
  const sql = `${body}\n${triggers.length > 0 ? `\n${updatedAtTriggers(triggers)}` : ""}`;
  const folder = `${timestamp(options.now ?? new Date(), migrations.at(-1)?.name)}_${name}`;
  const file = join(migrationsDir, folder, "migration.sql");
  mkdirSync(join(migrationsDir, folder), { recursive: true });
  writeFileSync(file, sql, { flag: "wx" });
  return { name: folder, file, sql, triggers };
}

/**
 * `YYYYMMDDHHMMSS` of `now` in UTC, or one second after the last migration's when that is not
 * earlier (a clock behind, or migrations dated ahead): Prisma applies migrations in name order.
 */
function timestamp(now: Date, last: string | undefined): string {
  const format = (date: Date) => date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  const lastStamp = /^(\d{14})_/.exec(last ?? "")?.[1];
  if (!lastStamp || format(now) > lastStamp) return format(now);
  const [, y, mo, d, h, mi, s] = /(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)/.exec(lastStamp)!.map(Number) as number[];
  return format(new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s! + 1)));
}

/** The engine's error as one line: a schema that does not validate, a migration that does not apply. */
function engineError(error: unknown, schemaFile: string, secrets: readonly string[]): SeedError {
  if (error instanceof SeedError) return error;
  const e = error as { code?: string; message?: string };
  const message = redact(String(e.message ?? error), secrets);
  if (e.code === "P1012") {
    const problems = [...message.matchAll(/^error: (?:Error validating[^:]*: )?(.+)$/gm)].map((m) => m[1]!.trim());
    const line = /-->\s+\S+?:(\d+)/.exec(message)?.[1];
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more)` : "";
    return new SeedError(
      "INVALID_CONFIG",
      `${schemaFile} does not validate: ${(problems[0] ?? "invalid schema").replace(/\.$/, "")}${line ? ` (line ${line})` : ""}${more}; fix it (npx prisma validate lists every error)`,
      { cause: error },
    );
  }
  const first = message.split("\n").find((l) => l.trim() !== "") ?? "unknown error";
  const failed = /Migration `([^`]+)` failed to apply/.exec(message)?.[1];
  const detail = message
    .split("\n")
    .find((l) => /ERROR:|Error querying/.test(l))
    ?.trim();
  return new SeedError(
    "MIGRATION_FAILED",
    failed
      ? `migration ${failed} does not apply to an empty database${detail ? ` (${detail})` : ""}: fix its migration.sql`
      : `Prisma's schema engine failed: ${first.trim()}`,
    { cause: error },
  );
}
