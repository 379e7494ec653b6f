// Entry point of `npx prisma db seed` (prisma.config.ts → migrations.seed). Flags after `--`
// are passed on: `npx prisma db seed -- --profile minimal`.
import { main } from "../src/cli/cli.ts";

process.exitCode = await main(["seed", ...process.argv.slice(2)]);
