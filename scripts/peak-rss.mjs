// Loaded with `node --import` by the start-up bench: writes this process's peak resident set
// size (KiB, worker threads included) to the file PEAK_RSS_FILE names, as the process exits.
import { appendFileSync } from "node:fs";

const file = process.env.PEAK_RSS_FILE;
if (file) process.on("exit", () => appendFileSync(file, `${process.resourceUsage().maxRSS}\n`));
