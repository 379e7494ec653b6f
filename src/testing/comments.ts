import { isProcessAlive } from "../core/process.ts";
import { hostname } from "node:os";

/** Comments the kit puts on its databases: it drops nothing that does not carry one. */
export const TEMPLATE_COMMENT = "chatgenius-seed template";
export const TEST_DATABASE_COMMENT = "chatgenius-seed test database";
/** The comment of a clone made ahead, waiting to be handed over. */
export const READY_COMMENT = "chatgenius-seed ready clone";

/**
 * This machine's name as the kit writes it into comments.
 *
 * @example
 * `chatgenius-seed test database host=${host()}`;
 */
export const host = (): string => hostname().replace(/[^\w.-]/g, "");

/**
 * The comment of the template built for `key` (the sha256 of what decides its rows).
 *
 * @example
 * templateComment(template.key); // "chatgenius-seed template 3f0c…"
 */
export const templateComment = (key: string): string => `${TEMPLATE_COMMENT} ${key}`;

/**
 * The comment of a clone made ahead of `template`, waiting to be handed over.
 *
 * @example
 * readyComment("chatgenius_test_tpl_3f0c1a2b3c4d"); // "chatgenius-seed ready clone template=chatgenius_test_tpl_3f0c1a2b3c4d"
 */
export const readyComment = (template: string): string => `${READY_COMMENT} template=${template}`;

/**
 * The comment of a test database of this process, cloned from `template`: what cleanupStale()
 * and pruneTemplates() read back with commentFields().
 *
 * @example
 * commentFields(testDatabaseComment("chatgenius_test_tpl_3f0c1a2b3c4d")).pid; // String(process.pid)
 */
export function testDatabaseComment(template: string): string {
  return `${TEST_DATABASE_COMMENT} host=${host()} pid=${process.pid} created=${new Date().toISOString()} template=${template}`;
}

/**
 * The `key=value` fields of a kit comment (`host`, `pid`, `created`, `template`, `run`).
 *
 * @example
 * commentFields("chatgenius-seed test database host=ada pid=12 created=2026-01-01T00:00:00Z"); // { host: "ada", pid: "12", … }
 */
export function commentFields(comment: string): Record<string, string> {
  // The comment's first words, the kit's mark, hold no '=': they drop out with every other such word.
  return Object.fromEntries(
    comment
      .split(/\s+/)
      .filter((f) => f.includes("="))
      .map((f) => [f.slice(0, f.indexOf("=")), f.slice(f.indexOf("=") + 1)]),
  );
}

/**
 * True when a test database's owner is gone: its process on this machine is not running, or it
 * is older than `maxAgeMs` (a process on another machine cannot be checked).
 *
 * @example
 * if (isStaleTestDatabase(commentFields(comment), 24 * 3600_000)) drop(name);
 */
export function isStaleTestDatabase(fields: Record<string, string>, maxAgeMs: number): boolean {
  return (
    (fields.host === host() && !isProcessAlive(Number(fields.pid))) ||
    Date.now() - Date.parse(fields.created ?? "") > maxAgeMs
  );
}
