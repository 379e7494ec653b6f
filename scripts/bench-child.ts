// One measured seed run in a process of its own, so that its peak RSS is its own:
// `tsx scripts/bench-child.ts URL SCALE METHOD` prints one JSON line.
import { seedDatabase } from "../src/api/seed.ts";

const [url, scale, method] = process.argv.slice(2);
const summary = await seedDatabase({ env: {}, databaseUrl: url, profile: "dev", scale: Number(scale), method: method as "copy" | "prisma" | "auto" });
process.stdout.write(
  `${JSON.stringify({ method: summary.method, totalRows: summary.totalRows, phases: summary.phases, failed: summary.integrity.filter((r) => r.violations > 0).length, maxRssKb: process.resourceUsage().maxRSS })}\n`,
);
