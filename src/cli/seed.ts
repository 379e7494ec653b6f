import { defineCommand } from "./command.ts";
import { ALLOW_REMOTE, DATA, DRY_RUN, HELP, JSON_FLAG, PROFILE, SCALE, SEED, VERBOSE } from "./flags.ts";
import { planOptions, withRun, type CliContext } from "./context.ts";
import { EXIT_CODES } from "../core/errors.ts";

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

/**
 * seed and reset run as the spec's SeedScript, over the run the CLI resolved: its error goes
 * to the log once, and runCli prints the one line and returns the exit code.
 */
export async function seedOrReset(
  kind: "seed" | "reset",
  values: {
    profile?: string;
    scale?: number;
    seed?: number;
    data?: string;
    "dry-run"?: boolean;
    "allow-remote"?: boolean;
  },
  context: CliContext,
): Promise<number> {
  const options = {
    ...planOptions(context.io, values),
    dryRun: values["dry-run"] ?? false,
    cache: true,
  };
  return withRun(context, kind, options, async (run) => {
    const [{ scriptOf }, { formatSummary }] = await Promise.all([
      import("../api/seedScript.ts"),
      import("./summary.ts"),
    ]);
    const script = scriptOf(
      () => run,
      { log: context.log, signal: context.signal },
      () => run.local,
    );
    try {
      await script.runSeeds();
    } catch (error) {
      script.handleError(error as Error);
      throw error;
    }
    if (!context.json) context.out(formatSummary(script.summary!));
    return EXIT_CODES.ok;
  });
}
