// What a test file needs to take its database from the run's pool, and nothing more: the setup
// file imports it before each file's own imports, so it loads no driver and no seed code.
import { mkdirSync } from "node:fs";
import { join } from "node:path";

/**
 * The clones a Vitest run made (or found) ahead, one per test file, and the folder where a file
 * claims one: creating `<claims>/<name>` is atomic, so a hand-over is a mkdir and no round trip
 * to the server.
 */
export interface KitPool {
  readonly names: readonly string[];
  readonly claims: string;
}

/**
 * Claims one of the run's clones for this test file (null when every one is taken).
 *
 * @example
 * const name = claimFromPool(pool); // "<base>_t_4242_3"
 */
export function claimFromPool(pool: KitPool): string | null {
  for (const name of pool.names) {
    try {
      mkdirSync(join(pool.claims, name));
      return name;
    } catch {
      // Another file has it.
    }
  }
  return null;
}
