import { SeedError } from "./errors.ts";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const NAME = "chatgenius-seed";

/**
 * The package's own folder, found by walking up from this code: the same answer from the
 * TypeScript sources (src/core/), the build (dist/) and an installed copy
 * (node_modules/chatgenius-seed/), whose files (migrations, the schema) live beside it.
 *
 * @example
 * join(packageRoot(), "prisma", "migrations");
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === NAME)
      return (root = dir);
    const parent = dirname(dir);
    if (parent === dir)
      throw new SeedError(
        "INVALID_CONFIG",
        `${NAME}: no package.json named ${NAME} above ${fileURLToPath(import.meta.url)}`,
      );
    dir = parent;
  }
}
let root: string | undefined;
