import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { EXIT_GRACE_MS } from "../../src/cli/cli.ts";

/**
 * The command as a process with a handle that never closes (an interval, loaded before the
 * command as a library's stray timer would be): when and with what code it ends, timed from
 * its last line of output.
 */
function runWithLiveHandle(
  args: string[],
): Promise<{ code: number | null; signal: NodeJS.Signals | null; afterOutputMs: number; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), "live-handle-"));
  const preload = join(dir, "handle.mjs");
  writeFileSync(preload, "setInterval(() => {}, 1 << 30);\n");
  const child = spawn(process.execPath, ["--import", pathToFileURL(preload).href, "bin/chatgenius-seed.mjs", ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let lastOutput = Date.now();
  child.stdout.on("data", () => (lastOutput = Date.now()));
  child.stderr.on("data", (d) => ((stderr += d), (lastOutput = Date.now())));
  // Not a guard of the claim under test: a process that never ends fails the test instead of hanging it.
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  return new Promise((resolve) =>
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, afterOutputMs: Date.now() - lastOutput, stderr });
    }),
  );
}

describe("the command as a process", () => {
  it(`ends ${EXIT_GRACE_MS / 1000} s after its run when a handle is still open, with the run's exit code`, async () => {
    const run = await runWithLiveHandle(["seed", "--scale", "0"]);
    expect(run.stderr).toMatch(/^error: --scale must be a whole number from 1 to 1000, got '0'/);
    expect(run).toMatchObject({ code: 2, signal: null });
    // Not before the grace period (the interval kept it alive until then), and not much later.
    expect(run.afterOutputMs).toBeGreaterThanOrEqual(EXIT_GRACE_MS - 100);
    expect(run.afterOutputMs).toBeLessThan(EXIT_GRACE_MS + 8_000);
  });

  it("keeps a successful run's code 0 when it forces the exit", async () => {
    const run = await runWithLiveHandle(["--help"]);
    expect(run).toMatchObject({ code: 0, signal: null });
    expect(run.afterOutputMs).toBeGreaterThanOrEqual(EXIT_GRACE_MS - 100);
  });
});
