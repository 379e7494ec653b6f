import { isServerConfigured, type Env } from "../db/config.ts";
import { embeddedDir, startEmbeddedEarly } from "../db/embedded.ts";

/**
 * The first thing a command does (bin/chatgenius-seed.mjs, before the CLI's code loads): with
 * nothing configured, the project's embedded PostgreSQL starts now, so that it boots while the
 * CLI loads (about as long as a start) instead of after. Every command but `db:serve` (which
 * starts it on its own port) and `--help` opens the embedded database; the command then joins
 * this server as the one that started it, and a command that ends before it needs it (a wrong
 * flag) stops it on its way out (releaseEarly). Nothing here fails a command: anything wrong is
 * left to the command, which says what.
 *
 * @example
 * prestart(process.argv.slice(2)); // returns at once
 */
export function prestart(argv: readonly string[], env: Env = process.env, cwd: string = process.cwd()): void {
  if (argv.some((arg) => arg === "serve" || arg === "--help" || arg === "-h")) return;
  try {
    if (!isServerConfigured(env, cwd)) startEmbeddedEarly(embeddedDir(cwd));
  } catch {
    // The command reads the same configuration, and reports it.
  }
}
