import { defineConfig } from "prisma/config";
import { resolveDatabaseUrl } from "./src/config.ts";

// Prisma 7 reads its datasource URL from here, not from the schema, and does not load `.env`
// itself: resolveDatabaseUrl applies the same rules as the seed (`.env`, DATABASE_URL, PG*).
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: {
    path: "prisma/migrations",
    seed: "tsx prisma/seed.ts",
  },
  datasource: {
    url: resolveDatabaseUrl(),
  },
});
