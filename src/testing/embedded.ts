import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { migrateDatabase } from "../api/reset.ts";
import { seedDatabase } from "../api/seed.ts";
import { startEmbedded } from "../db/embedded.ts";
import { KEEP_TEMPLATES, type KitOptions } from "./options.ts";
import { writeScenarios } from "./scenarios.ts";

/** Where embedded templates live, per project: `.chatgenius/templates/<key>`. */
export const EMBEDDED_TEMPLATES = ".chatgenius/templates";

/** A migrated, seeded PGlite data directory, copied per test file. */
export interface EmbeddedTemplate {
  readonly dir: string;
  readonly reused: boolean;
  readonly key: string;
}

/**
 * The embedded (PGlite) template for these options, with no PostgreSQL server: a data directory
 * migrated and seeded once, reused while its key is the same. Concurrent builders wait for one
 * another (a lock folder) and the directory appears only when complete. Building one removes
 * the older templates beyond the newest `keepTemplates` (3, the new one included): each test
 * file's copy is independent of its template, so none is in use.
 *
 * @example
 * const template = await prepareEmbeddedTemplate({ profile: "minimal" }, key);
 */
export async function prepareEmbeddedTemplate(options: KitOptions, key: string): Promise<EmbeddedTemplate> {
  const root = resolve(options.cwd ?? process.cwd(), EMBEDDED_TEMPLATES);
  const dir = join(root, key.slice(0, 12));
  const ready = join(dir, "chatgenius-template-ready");
  if (existsSync(ready)) return { dir, reused: true, key };
  mkdirSync(root, { recursive: true });
  const lock = `${dir}.lock`;
  for (let waited = 0; ; waited += 100) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(ready)) return { dir, reused: true, key };
      if (waited > 120_000) rmSync(lock, { recursive: true, force: true }); // a builder that died
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    if (existsSync(ready)) return { dir, reused: true, key };
    const building = `${dir}.build`;
    rmSync(building, { recursive: true, force: true });
    const db = await startEmbedded({ dir: building });
    try {
      await migrateDatabase({ env: {}, databaseUrl: db.url });
      await seedDatabase({
        env: {},
        databaseUrl: db.url,
        profile: options.profile,
        seed: options.seed,
        scale: options.scale,
        dataFile: options.dataFile,
        cwd: options.cwd,
      });
      await writeScenarios(db.url, options);
    } finally {
      await db.stop();
    }
    rmSync(dir, { recursive: true, force: true });
    renameSync(building, dir);
    writeFileSync(ready, key);
    pruneEmbeddedTemplates(root, options.keepTemplates ?? KEEP_TEMPLATES);
    return { dir, reused: false, key };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Removes complete templates in `root` beyond the newest `keep` (by when each was completed). */
function pruneEmbeddedTemplates(root: string, keep: number): void {
  const complete = readdirSync(root, { withFileTypes: true })
    .filter(
      (entry) =>
        entry.isDirectory() &&
        /^[0-9a-f]{12}$/.test(entry.name) &&
        existsSync(join(root, entry.name, "chatgenius-template-ready")),
    )
    .map((entry) => ({
      dir: join(root, entry.name),
      at: statSync(join(root, entry.name, "chatgenius-template-ready")).mtimeMs,
    }))
    .sort((a, b) => b.at - a.at);
  for (const { dir } of complete.slice(Math.max(1, keep))) {
    // Not while another process is (re)building it.
    if (!existsSync(`${dir}.lock`)) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A copy of the embedded template, served on a port of its own for one test file; drop()
 * stops it and deletes the copy.
 *
 * @example
 * const db = await createEmbeddedTestDatabase(template);
 */
export async function createEmbeddedTestDatabase(
  template: EmbeddedTemplate,
): Promise<{ name: string; url: string; prepared: boolean; drop(): Promise<void> }> {
  const copy = join(mkdtempSync(join(tmpdir(), "chatgenius-test-")), "pglite");
  cpSync(template.dir, copy, { recursive: true });
  const db = await startEmbedded({ dir: copy });
  return {
    name: copy,
    url: db.url,
    prepared: false,
    drop: async () => {
      await db.stop();
      rmSync(resolve(copy, ".."), { recursive: true, force: true });
    },
  };
}
