// npm run migration:new -- <name>: writes prisma/migrations/<timestamp>_<name>/migration.sql
// from the difference between what the existing migrations build and prisma/schema.prisma
// (docs/migrations.md). Exit codes as the CLI's: 0 written, 2 nothing to migrate, an invalid
// name or schema, no database to work in; 1 an existing migration that does not apply.
import { join, relative } from "node:path";
import { SeedError } from "../src/core/errors.ts";
import { loadEnv, redact, secretsOf } from "../src/db/config.ts";
import { createMigration } from "../src/migrations/create.ts";
import { lastEnginePanic } from "../src/migrations/engine.ts";

const USAGE =
  "usage: npm run migration:new -- <name>   (lower-case letters, digits and underscores, e.g. add_pinned_at)";

const cwd = process.cwd();
// A panic of the engine ends in an uncaught trap, not in the catch below.
process.on("uncaughtException", (error) => {
  process.stderr.write(
    `error: Prisma's schema engine stopped: ${(lastEnginePanic() ?? error.message).split("\n")[0]}\n`,
  );
  process.exit(1);
});
const args = process.argv.slice(2).filter((arg) => arg !== "--");
let env = process.env;
try {
  if (args.length !== 1 || args[0]!.startsWith("-"))
    throw new SeedError(
      "INVALID_USAGE",
      args.includes("--help") || args.includes("-h") ? USAGE : `one name is needed: ${USAGE}`,
    );
  env = loadEnv({ cwd, env: process.env });
  const made = await createMigration({ name: args[0]!, prismaDir: join(cwd, "prisma"), env, cwd });
  const triggers = made.triggers.length > 0 ? `, with the updated_at trigger of ${made.triggers.join(", ")}` : "";
  process.stdout.write(`wrote ${relative(cwd, made.file)}${triggers}: read it, then npm run db:migrate\n`);
} catch (error) {
  const seedError =
    error instanceof SeedError
      ? error
      : new SeedError("MIGRATION_FAILED", String((error as Error).message ?? error), { cause: error });
  process.stderr.write(`error: ${redact(seedError.message, secretsOf(env))}\n`);
  process.exitCode = seedError.exitCode;
}
