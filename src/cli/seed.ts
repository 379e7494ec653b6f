import { defineCommand } from "./command.ts";
import { ALLOW_REMOTE, DATA, DRY_RUN, HELP, JSON_FLAG, PROFILE, SCALE, SEED, VERBOSE } from "./flags.ts";
import { seedOrReset } from "./reset.ts";

/** `db:seed`: replace the contents of every seeded table in one transaction. */
export default defineCommand({
  name: "seed",
  script: "db:seed",
  description: "replace the contents of every seeded table in one transaction (default)",
  flags: {
    profile: PROFILE,
    scale: SCALE,
    seed: SEED,
    json: JSON_FLAG,
    "dry-run": DRY_RUN,
    verbose: VERBOSE,
    "allow-remote": ALLOW_REMOTE,
    data: DATA,
    help: HELP,
  },
  run: (values, context) => seedOrReset("seed", values, context),
});
