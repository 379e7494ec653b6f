import { defineCommand } from "./command.ts";
import { planOptions, withRun } from "./context.ts";
import { ALLOW_REMOTE, DATA, HELP, JSON_FLAG, PROFILE, REGENERATE, SCALE, SEED, VERBOSE } from "./flags.ts";
import { EXIT_CODES } from "../core/errors.ts";

/** `db:verify`: is the database exactly what that seed writes? */
export default defineCommand({
  name: "verify",
  script: "db:verify",
  description:
    "is the database exactly what that seed writes? compares per-table fingerprints, then rows; writes nothing",
  flags: {
    profile: PROFILE,
    scale: SCALE,
    seed: SEED,
    data: DATA,
    regenerate: REGENERATE,
    json: JSON_FLAG,
    verbose: VERBOSE,
    "allow-remote": ALLOW_REMOTE,
    help: HELP,
  },
  run: (values, context) => {
    const options = planOptions(context.io, values);
    return withRun(context, "verify", options, async (run) => {
      const [{ verifyWith }, { formatVerify }] = await Promise.all([
        import("../api/verify.ts"),
        import("./summary.ts"),
      ]);
      const result = await verifyWith(() => run, values.regenerate ?? false);
      context.out(context.json ? JSON.stringify(result) : formatVerify(result));
      return result.identical ? EXIT_CODES.ok : EXIT_CODES.seedFailed;
    });
  },
});
