// Entry point of `npx prisma db seed` (prisma.config.ts → migrations.seed). Flags after `--`
// are passed on: `npx prisma db seed -- --profile minimal`.
import { runCli } from "../src/cli.ts";

process.exitCode = await runCli(["seed", ...process.argv.slice(2)], { env: process.env, cwd: process.cwd(), stdout: process.stdout, stderr: process.stderr });
