import type { DatabaseConfig } from "../db/config.ts";
import { openTarget, type DatabaseTarget } from "../db/target.ts";
import { closeKitAdmins } from "./admin.ts";
import type { KitRun } from "./run.ts";

/** The embedded server this process joined for the kit, by project folder: held until releaseKitServer(). */
const held = new Map<string, Promise<DatabaseTarget>>();

/**
 * The server the kit makes its templates and clones on, and its base database: the run's
 * configured one (TEST_DATABASE_URL, DATABASE_URL, PG*, `.env`; the guard passed it when the run
 * was settled), or, with nothing configured, the project's embedded PostgreSQL, joined for this
 * process (the kit's globalSetup lets go of it in its teardown, see releaseKitServer()). Either
 * way the kit then does the same: templates, clones made ahead, one database per test file.
 *
 * @example
 * const server = await kitServer(resolveKit({ env: {} })); // the embedded server, database chatgenius
 */
export async function kitServer(kit: KitRun): Promise<DatabaseConfig> {
  const { seed } = kit;
  if (seed.serverConfigured) return seed.target;
  let joining = held.get(seed.cwd);
  if (!joining) {
    joining = openTarget(seed, { cwd: seed.cwd });
    held.set(seed.cwd, joining);
    joining.catch(() => held.delete(seed.cwd));
  }
  return (await joining).config;
}

/**
 * Lets go of the embedded servers this process joined for the kit (the last user stops each).
 * The kit's globalSetup calls it in its teardown; a process that ends without it leaves the
 * server to the next command, which joins it and stops it when it leaves.
 *
 * @example
 * afterAll(() => releaseKitServer());
 */
export async function releaseKitServer(): Promise<void> {
  const targets = [...held.values()];
  held.clear();
  // The kit's own connections first: the server may stop when it is let go of.
  await closeKitAdmins();
  await Promise.all(targets.map(async (joining) => (await joining.catch(() => null))?.release()));
}

/**
 * True when this process holds an embedded server for the kit: work that would outlive the
 * process (the pool's upkeep) then runs before it lets go, since the server may stop after.
 *
 * @example
 * const background = !holdsKitServer();
 */
export function holdsKitServer(): boolean {
  return held.size > 0;
}
