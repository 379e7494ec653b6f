import { defineCommand } from "./command.ts";
import { cliOptions, withRun } from "./context.ts";
import { ALLOW_REMOTE, HELP, JSON_FLAG, LAST, STATES, VERBOSE } from "./flags.ts";
import { EXIT_CODES } from "../core/errors.ts";

/** `db:report`: run history and health. */
export default defineCommand({
  name: "report",
  script: "db:report",
  description:
    "run history (success rate, errors by code, durations and their trend per profile and scale), row counts, integrity, constraints",
  flags: { last: LAST, states: STATES, json: JSON_FLAG, verbose: VERBOSE, "allow-remote": ALLOW_REMOTE, help: HELP },
  run: (values, context) =>
    withRun(context, "report", cliOptions(context.io, values["allow-remote"]), async (run) => {
      const [{ reportWith }, { formatReport }, { formatStates }] = await Promise.all([
        import("../api/report.ts"),
        import("./summary.ts"),
        import("../monitoring/states.ts"),
      ]);
      const report = await reportWith(() => run, values.last ?? 20, values.states ?? false);
      const text = () => [formatReport(report), ...(report.states ? [formatStates(report.states)] : [])].join("\n\n");
      context.out(context.json ? JSON.stringify(report) : text());
      return EXIT_CODES.ok;
    }),
});
