import { defineCommand } from "./command.ts";
import { cliOptions } from "./context.ts";
import { HELP, PORT, SERVE_PORT, VERBOSE } from "./flags.ts";
import { EXIT_CODES, SeedError } from "../core/errors.ts";
import { DEFAULT_PROFILE } from "../plan/plan.ts";
import { EMBEDDED_DIR, POSTGRES_MAJOR } from "../db/embedded.ts";
import { openTarget } from "../db/target.ts";
import { createEventLog, silentSink } from "../core/log.ts";

/**
 * `db:serve`: the embedded PostgreSQL on a loopback port, for the ChatGenius app or psql, until
 * Ctrl-C / SIGTERM. A new database is migrated and seeded first. It holds the server like any
 * other command: a seed run meanwhile joins it, and the server stops when the last user leaves.
 */
export default defineCommand({
  name: "serve",
  script: "db:serve",
  description: "serve the embedded database on a local port (migrated and seeded first if new) until Ctrl-C",
  flags: { port: PORT, verbose: VERBOSE, help: HELP },
  async run(values, { io, out, signal }) {
    const [{ resolveRun, retarget }, { migrateWith }, { seedWith }, { readMigrations }] = await Promise.all([
      import("../api/run.ts"),
      import("../api/reset.ts"),
      import("../api/seed.ts"),
      import("../db/migrations.ts"),
    ]);
    const settled = resolveRun("seed", cliOptions(io, false));
    if (settled.serverConfigured) {
      throw new SeedError(
        "INVALID_USAGE",
        "db:serve serves the embedded database, but a server is configured (DATABASE_URL, PG* or .env): connect to that server directly, or unset them to use the embedded one",
      );
    }
    const port = values.port ?? SERVE_PORT;
    // The migration and first seed of a new folder are told in one line each, not event by event.
    const silent = createEventLog(silentSink);
    const target = await openTarget(settled, { cwd: io.cwd, port, signal, notice: out });
    try {
      const run = retarget(settled, target.config);
      const { applied } = await migrateWith(() => run, { log: silent });
      if (applied.includes(readMigrations()[0]!.name)) {
        out(`New embedded database: seeding the ${DEFAULT_PROFILE} profile`);
        await seedWith(run, { log: silent });
      }
      const actual = target.config.port;
      out(
        `Serving the embedded PostgreSQL ${POSTGRES_MAJOR} in ${EMBEDDED_DIR} on 127.0.0.1:${actual}${actual !== port ? ` (already running on that port, started by another command)` : ""}`,
      );
      out(`DATABASE_URL=${target.url}`);
      out(`psql ${target.url}`);
      out("Ctrl-C to stop");
      // Nothing else keeps this process alive while it serves: the server is a process of its own.
      const alive = setInterval(() => {}, 1 << 30);
      await new Promise<void>((resolve) => {
        if (!signal) return;
        if (signal.aborted) resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      }).finally(() => clearInterval(alive));
    } finally {
      await target.release();
    }
    out("Stopped serving: the embedded database is saved (the server stops when no other command uses it)");
    return EXIT_CODES.ok;
  },
});
