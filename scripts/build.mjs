// Builds dist/ from src/: one ESM bundle per entry point, code shared between them split into
// chunks, commands loaded lazily (dynamic imports become chunks), npm packages left external.
// `bin/chatgenius-seed.mjs` runs it whenever src/ changed since the last build, so an edited
// fixture is used by the next `npm run db:seed` with no build step to remember.
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package's own folder (scripts/..). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** What dist/ holds: output name → source. */
export const ENTRIES = {
  cli: "src/cli/cli.ts",
  prestart: "src/cli/prestart.ts",
  index: "src/index.ts",
  generatorWorker: "src/generation/generatorWorker.ts",
  testing: "src/testing/index.ts",
  scenario: "src/scenario/index.ts",
  "testing-global-setup": "src/testing/globalSetup.ts",
  "testing-setup": "src/testing/setup.ts",
  "testing-maintain": "src/testing/maintain.ts",
};

const STAMP = ".stamp.json";

/**
 * What the build is made from, cheaply: the newest modification time under src/ and the
 * number of files (a deleted file changes the count). Reads only directory entries and stats.
 */
export function sourceState(root = ROOT) {
  let newest = 0;
  let files = 0;
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        files += 1;
        newest = Math.max(newest, statSync(path).mtimeMs);
      }
    }
  };
  walk(join(root, "src"));
  return { newest, files };
}

/** Builds dist/ atomically (into a temporary folder, then renamed), returns its folder. */
export async function buildDist(root = ROOT, { carry = true } = {}) {
  const { build } = await import("esbuild");
  const state = sourceState(root);
  const tmp = join(root, `.dist-${process.pid}-${Date.now()}`);
  await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([out, src]) => [out, join(root, src)])),
    outdir: tmp,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20.19",
    packages: "external",
    chunkNames: "[name]-[hash]",
    sourcemap: "linked",
    // Failures are thrown with their messages: the launcher prints one line, the script the rest.
    logLevel: "silent",
  });
  writeFileSync(join(tmp, STAMP), JSON.stringify(state));
  const dist = join(root, "dist");
  if (carry) carryChunks(dist, tmp);
  const old = join(root, `.dist-old-${process.pid}-${Date.now()}`);
  try {
    renameSync(dist, old);
  } catch {
    // No dist yet.
  }
  try {
    renameSync(tmp, dist);
  } catch {
    // Another process put a build in place at the same moment: theirs is as current as ours.
    rmSync(tmp, { recursive: true, force: true });
  }
  rmSync(old, { recursive: true, force: true });
  return dist;
}

/**
 * A command started before this build may still load its remaining chunks (commands are loaded
 * lazily) from dist/: keep the previous build's chunks, whose names are hashes of their content,
 * for a day.
 */
function carryChunks(from, to) {
  let entries;
  try {
    entries = readdirSync(from);
  } catch {
    return;
  }
  const fresh = new Set(readdirSync(to));
  for (const name of entries) {
    const path = join(from, name);
    if (/^chunk-.*\.js$/.test(name) && !fresh.has(name) && Date.now() - statSync(path).mtimeMs < 24 * 3600_000)
      copyFileSync(path, join(to, name));
  }
}

/** True when dist/ was built from the sources as they are now. */
export function isCurrent(root = ROOT) {
  try {
    const stamp = JSON.parse(readFileSync(join(root, "dist", STAMP), "utf8"));
    const now = sourceState(root);
    return stamp.newest === now.newest && stamp.files === now.files;
  } catch {
    return false;
  }
}

/**
 * Type declarations for the package (dist/types), from tsc. Only `npm pack` needs them (about
 * 5 s), so the launcher's rebuilds skip them. Relative imports are rewritten from .ts to .js so
 * that a consumer's TypeScript finds the .d.ts beside each.
 */
export function buildTypes(root = ROOT) {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.types.json")], { stdio: "inherit" });
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (path.endsWith(".d.ts"))
        writeFileSync(
          path,
          readFileSync(path, "utf8").replace(/(from\s+|import\()(["'])(\.{1,2}\/[^"']+)\.ts\2/g, "$1$2$3.js$2"),
        );
    }
  };
  walk(join(root, "dist", "types"));
}

// `node scripts/build.mjs [--force] [--types]`: builds dist/ unless it is current, and with
// --types its type declarations. npm's prepare runs it after `npm ci`, and before `npm pack` /
// `npm publish`, which get a clean build (no carried chunks) with declarations.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t = performance.now();
  const packing = ["pack", "publish"].includes(process.env.npm_command ?? "");
  const types = packing || process.argv.includes("--types");
  const build = packing || process.argv.includes("--force") || !isCurrent();
  if (build) await buildDist(ROOT, { carry: !packing });
  if (types) buildTypes();
  console.log(
    `dist/ ${build ? "built" : "is current"}${types ? ", type declarations built" : ""} (${Math.round(performance.now() - t)} ms)`,
  );
}
