import { defineCommand } from "./command.ts";
import { ALLOW_REMOTE, DATA, HELP, JSON_FLAG, PROFILE, SCALE, SEED, VERBOSE } from "./flags.ts";
import { seedOrReset } from "./seed.ts";

/** `db:reset`: recreate the schema, migrate, seed. */
export default defineCommand({
  name: "reset",
  script: "db:reset",
  description: "create the database if missing, drop and recreate its schema, migrate, seed",
  flags: {
    profile: PROFILE,
    scale: SCALE,
    seed: SEED,
    json: JSON_FLAG,
    verbose: VERBOSE,
    "allow-remote": ALLOW_REMOTE,
    data: DATA,
    help: HELP,
  },
  run: (values, context) => seedOrReset("reset", values, context),
});
