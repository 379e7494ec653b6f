import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import type { Env } from "../../src/db/config.ts";
import { runCli } from "../../src/cli/cli.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: new Writable({
      write(chunk, _enc, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
    text: () => chunks.join(""),
  };
}

/**
 * Runs the CLI in this process with captured output. `cwd` (default: a new empty folder) decides
 * which `.env` is read; `tty` makes stdout a terminal (the live progress line).
 */
export async function cli(
  argv: string[],
  env: Env,
  cwd = projectFolder("cli-cwd-"),
  options: { tty?: boolean } = {},
): Promise<CliRun> {
  const out = collector();
  if (options.tty) Object.assign(out.stream, { isTTY: true });
  const err = collector();
  const code = await runCli(argv, { env, cwd, stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

/**
 * A new project folder that the embedded server can use: as root it runs as the `postgres` user,
 * who must be able to enter it (mkdtemp makes folders only their owner may enter).
 */
export function projectFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** Runs a command as a child process, as a user would, with only `env` (plus PATH). */
export function spawn(command: string, args: string[], env: Env, cwd = process.cwd()): CliRun {
  const result = spawnSync(command, args, {
    cwd,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}
