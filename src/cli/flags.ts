import { DEFAULT_PROFILE, DEFAULT_SEED, MAX_SCALE, PROFILES } from "../plan/plan.ts";
import { DEFAULT_DATA_FILE } from "../plan/localSeed.ts";
import { flag } from "./command.ts";

// The flags of the commands, one record each; a command lists those it takes.

/** Port db:serve listens on unless --port says otherwise. */
export const SERVE_PORT = 5499;

export const PROFILE = flag({
  type: "choice",
  choices: PROFILES,
  description:
    "minimal: canonical data only; dev: a realistic workspace; edge: every boundary and hostile string, for QA",
  default: DEFAULT_PROFILE,
  example: "--profile minimal",
});
export const SCALE = flag({
  type: "integer",
  value: "N",
  min: 1,
  max: MAX_SCALE,
  description: "multiply the generated part of dev (not with minimal or edge)",
  default: "1",
  example: "--scale 2",
});
export const SEED = flag({
  type: "integer",
  value: "N",
  min: 0,
  max: Number.MAX_SAFE_INTEGER,
  description: "random seed; same seed, same rows (the canonical rows never change)",
  default: String(DEFAULT_SEED),
  example: "--seed 42",
});
export const JSON_FLAG = flag({
  type: "boolean",
  description: "one JSON SeedLogEvent per line on stdout and nothing else there",
});
export const DRY_RUN = flag({
  type: "boolean",
  description: "validate and print the plan (tables in order, row counts); write nothing",
});
export const VERBOSE = flag({
  type: "boolean",
  description:
    "every step (per-table cleanup and insert lines, transaction steps) and, on failure, the underlying error",
});
export const ALLOW_REMOTE = flag({
  type: "boolean",
  description: "allow a database host other than this machine (loopback or Unix socket); also SEED_ALLOW_REMOTE=1",
});
export const DATA = flag({
  type: "string",
  value: "FILE",
  description: "your own accounts (JSON, see prisma/seed.local.example.json); also SEED_DATA_FILE",
  default: `${DEFAULT_DATA_FILE} when present`,
  example: "--data prisma/seed.local.json",
});
export const LAST = flag({
  type: "integer",
  value: "N",
  min: 1,
  max: 100_000,
  description: "how many recent runs to list and compute rates over",
  default: "20",
  example: "--last 50",
});
export const STATES = flag({
  type: "boolean",
  description:
    "also where each state the app has code for is (docs/dev-workspace.md): named states, every nullable column NULL and set, enum values, booleans",
});
export const PORT = flag({
  type: "integer",
  value: "N",
  min: 1,
  max: 65535,
  description: "the port to listen on",
  default: String(SERVE_PORT),
  example: "--port 5499",
});
export const REGENERATE = flag({
  type: "boolean",
  description: "compare with regenerated rows even when the recorded fingerprints match",
});
export const HELP = flag({ type: "boolean", short: "h", description: "show this help" });
