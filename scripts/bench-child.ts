// One measured run in a process of its own, so that its peak RSS is its own. Prints one JSON line.
//   tsx scripts/bench-child.ts URL SCALE METHOD            seedDatabase() against a server
//   tsx scripts/bench-child.ts --embedded DIR COMMAND SCALE the CLI on the embedded PostgreSQL of project DIR
// Each branch imports only what it runs: the peak RSS measured is the command's own.
import { Writable } from "node:stream";

const args = process.argv.slice(2);
if (args[0] === "--embedded") {
  const [{ runCli }, { SERVER_VARIABLES }] = await Promise.all([
    import("../src/cli/cli.ts"),
    import("../src/db/config.ts"),
  ]);
  const [, dir, command, scale] = args;
  // Nothing configured: the CLI uses the embedded database of `dir`, as on a fresh clone.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !(SERVER_VARIABLES as readonly string[]).includes(name)),
  );
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const code = await runCli([command!, "--scale", scale!, "--json"], {
    env,
    cwd: dir!,
    stdout: sink,
    stderr: process.stderr,
  });
  process.stdout.write(`${JSON.stringify({ code, maxRssKb: process.resourceUsage().maxRSS })}\n`);
  process.exit(code);
}
const [url, scale, method] = args;
const { seedDatabase } = await import("../src/api/seed.ts");
const summary = await seedDatabase({
  env: {},
  databaseUrl: url,
  profile: "dev",
  scale: Number(scale),
  method: method as "copy" | "prisma" | "auto",
});
process.stdout.write(
  `${JSON.stringify({ method: summary.method, totalRows: summary.totalRows, phases: summary.phases, failed: summary.integrity.filter((r) => r.violations > 0).length, maxRssKb: process.resourceUsage().maxRSS })}\n`,
);
