import type { Env } from "./config.ts";
import { SeedError } from "./errors.ts";

/**
 * Refuses to run when `NODE_ENV` or `APP_ENV` says production: the seed deletes data by
 * design. Runs before any connection is opened.
 *
 * @example
 * assertNotProduction({ NODE_ENV: "development" }); // passes
 */
export function assertNotProduction(env: Env): void {
  for (const name of ["NODE_ENV", "APP_ENV"] as const) {
    if (env[name]?.trim().toLowerCase() === "production") {
      throw new SeedError("PRODUCTION_REFUSED", `refusing to run: ${name} is 'production' and the seed deletes data. Point DATABASE_URL at a development or test database and unset ${name}`);
    }
  }
}
