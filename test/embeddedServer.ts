import { embeddedDir, socketDir, startEmbedded } from "../src/db/embedded.ts";

/**
 * With no PostgreSQL server answering, the whole suite runs on the project's embedded one
 * (`.chatgenius/postgres`), as a new user's `npm test` does: joined (or started) here for the
 * run, and pointed at through PGHOST/PGPORT/PGUSER, which the test files' processes inherit
 * (TEST_SOCKET_DIR: the folder of its Unix socket, for the tests that connect through one).
 */
export default async function setup(): Promise<() => Promise<void>> {
  const server = await startEmbedded({ dir: embeddedDir(process.cwd()) });
  for (const name of ["DATABASE_URL", "TEST_DATABASE_URL", "PGDATABASE", "PGPASSWORD"]) delete process.env[name];
  Object.assign(process.env, { PGHOST: "127.0.0.1", PGPORT: String(server.port), PGUSER: "postgres" });
  const socket = socketDir(server.dir);
  if (socket) process.env.TEST_SOCKET_DIR = socket;
  return () => server.release();
}
