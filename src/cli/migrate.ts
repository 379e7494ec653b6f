import { defineCommand } from "./command.ts";
import { cliOptions, withRun } from "./context.ts";
import { ALLOW_REMOTE, HELP, JSON_FLAG, VERBOSE } from "./flags.ts";
import { EXIT_CODES } from "../core/errors.ts";

/** `db:migrate`: create the database if missing, apply pending migrations. */
export default defineCommand({
  name: "migrate",
  script: "db:migrate",
  description: "create the database if missing, apply pending migrations (recorded as Prisma Migrate does)",
  flags: { json: JSON_FLAG, verbose: VERBOSE, "allow-remote": ALLOW_REMOTE, help: HELP },
  run: (values, context) =>
    withRun(context, "migrate", cliOptions(context.io, values["allow-remote"]), async (run) => {
      const { migrateWith } = await import("../api/reset.ts");
      await migrateWith(() => run, context);
      return EXIT_CODES.ok;
    }),
});
