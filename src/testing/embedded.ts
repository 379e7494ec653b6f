import { isServerConfigured, resolveDatabaseConfig, runEnv, type DatabaseConfig } from "../db/config.ts";
import { guardTarget } from "../db/guard.ts";
import { openTarget, type DatabaseTarget } from "../db/target.ts";
import type { KitOptions } from "./options.ts";

/** The embedded server this process joined for the kit, by project folder: held until releaseKitServer(). */
const held = new Map<string, Promise<DatabaseTarget>>();

/**
 * The server the kit makes its templates and clones on, and its base database: the configured
 * one (TEST_DATABASE_URL, DATABASE_URL, PG*, `.env`; the production and remote-host guards
 * apply), or, with nothing configured, the project's embedded PostgreSQL, joined for this
 * process (the kit's globalSetup lets go of it in its teardown, see releaseKitServer()). Either
 * way the kit then does the same: templates, clones made ahead, one database per test file.
 *
 * @example
 * const server = await kitServer({ env: {} }); // the embedded server, database chatgenius
 */
export async function kitServer(options: KitOptions): Promise<DatabaseConfig> {
  const env = runEnv(options);
  const cwd = options.cwd ?? process.cwd();
  if (isServerConfigured(env, cwd)) return guardTarget(env, { allowRemote: options.allowRemote });
  let joining = held.get(cwd);
  if (!joining) {
    joining = openTarget({ target: resolveDatabaseConfig(env), serverConfigured: false }, { cwd });
    held.set(cwd, joining);
    joining.catch(() => held.delete(cwd));
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
