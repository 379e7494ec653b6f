import type { Hash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "./paths.ts";

/**
 * Feeds `hash` with every file under the package's `folders` (paths relative to the package,
 * then contents, in a fixed order), so the hash changes when the code that decides the rows
 * does: the TypeScript sources in a checkout, the build (`dist/`) in an installed copy.
 *
 * @example
 * const hash = createHash("sha256");
 * hashPackageFiles(hash, ["src/plan", "prisma/schema.prisma"]);
 */
export function hashPackageFiles(hash: Hash, folders: readonly string[]): Hash {
  const root = packageRoot();
  for (const folder of folders)
    for (const file of filesUnder(join(root, folder))) hash.update(file.slice(root.length)).update(readFileSync(file));
  return hash;
}

/**
 * The folders whose code decides what a seed writes: the sources in a checkout, the build in
 * an installed copy (which ships no sources), and the schema either way.
 */
export function planCodeFolders(extra: readonly string[] = []): string[] {
  const checkout = existsSync(join(packageRoot(), "src", "plan"));
  return [...(checkout ? ["src/plan", "src/core", ...extra] : ["dist"]), "prisma/schema.prisma"];
}

function filesUnder(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((entry) => filesUnder(join(path, entry.name)));
}
