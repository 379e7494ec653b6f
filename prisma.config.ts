import { fileURLToPath } from "node:url";
import { defineConfig } from "prisma/config";
import { loadEnv, resolveDatabaseUrl } from "./src/db/config.ts";

// Prisma's CLI downloads its native schema engine at start-up, which fails behind a firewall.
// Commands that never use the engine (generate, validate, format, db seed) work when
// PRISMA_SCHEMA_ENGINE_BINARY names a file, so point it at a stand-in that explains itself,
// unless you set it (or PRISMA_SCHEMA_ENGINE_DOWNLOAD=1 to let Prisma download the engine).
if (process.env.PRISMA_SCHEMA_ENGINE_DOWNLOAD !== "1") {
  process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= fileURLToPath(
    new URL("./scripts/schema-engine-unavailable", import.meta.url),
  );
}

// Prisma 7 reads the datasource URL from here, not from the schema, and does not load `.env`
// itself: use the seed's own rules (`.env`, then DATABASE_URL or PG* with defaults).
function databaseUrl(): string | undefined {
  try {
    return resolveDatabaseUrl(loadEnv());
  } catch {
    // `prisma generate` needs no database; a bad configuration is reported by the commands that do.
    return undefined;
  }
}

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: {
    path: "prisma/migrations",
    seed: "tsx prisma/seed.ts",
  },
  datasource: {
    url: databaseUrl(),
  },
});
