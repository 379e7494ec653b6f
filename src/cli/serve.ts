import { defineCommand } from "./command.ts";
import { cliOptions } from "./context.ts";
import { HELP, PORT, SERVE_PORT, VERBOSE } from "./flags.ts";
import { EXIT_CODES, SeedError } from "../core/errors.ts";
import { DEFAULT_PROFILE } from "../plan/plan.ts";
import { EMBEDDED_DIR, embeddedDir, startEmbedded } from "../db/embedded.ts";
import { createEventLog, silentSink } from "../core/log.ts";

/**
 * `db:serve`: the embedded database over the PostgreSQL protocol on a loopback port, for the
 * ChatGenius app or psql, until Ctrl-C / SIGTERM. A new database is migrated and seeded first.
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
    const db = await startEmbedded({
      dir: embeddedDir(io.cwd),
      port,
      serving: true,
      env: settled.env,
      name: EMBEDDED_DIR,
    });
    try {
      const run = retarget(settled, db);
      const { applied } = await migrateWith(() => run, { log: silent });
      if (applied.includes(readMigrations()[0]!.name)) {
        out(`New embedded database: seeding the ${DEFAULT_PROFILE} profile`);
        await seedWith(run, { log: silent });
      }
      out(`Serving the embedded PostgreSQL (PGlite) in ${EMBEDDED_DIR} on 127.0.0.1:${port}`);
      out(`DATABASE_URL=${db.url}`);
      out(`psql ${db.url}`);
      out("Ctrl-C to stop");
      await new Promise<void>((resolve) => {
        if (!signal) return;
        if (signal.aborted) resolve();
        signal.addEventListener("abort", () => resolve(), { once: true });
      });
    } finally {
      await db.stop();
    }
    out("Stopped: the embedded database is saved");
    return EXIT_CODES.ok;
  },
});
