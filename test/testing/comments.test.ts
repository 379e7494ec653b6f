import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  commentFields,
  host,
  isStaleTestDatabase,
  READY_COMMENT,
  TEST_DATABASE_COMMENT,
} from "../../src/testing/comments.ts";

// What the kit's cleanup decides from a database's comment alone (no server): which of its test
// databases a crashed run left. test/testing/kit.test.ts drops them on the real server.
const DAY = 24 * 3600_000;
const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
/** A pid that is not running on this machine (a process that has just ended). */
const { pid: deadPid } = spawnSync(process.execPath, ["-e", ""]);

describe("commentFields", () => {
  it("reads the key=value fields of a test database's and a ready clone's comment", () => {
    expect(
      commentFields(`${TEST_DATABASE_COMMENT} host=ada pid=12 created=2026-01-01T00:00:00Z template=app_tpl_0123`),
    ).toEqual({ host: "ada", pid: "12", created: "2026-01-01T00:00:00Z", template: "app_tpl_0123" });
    expect(commentFields(`${READY_COMMENT} template=app_tpl_0123`)).toEqual({ template: "app_tpl_0123" });
  });

  it("keeps a value that holds '=' whole and skips words without one", () => {
    expect(commentFields(`${TEST_DATABASE_COMMENT} note run=a=b stray`)).toEqual({ run: "a=b" });
  });
});

describe("isStaleTestDatabase", () => {
  it("writes this machine's name without characters a comment could not hold", () => {
    expect(host()).toMatch(/^[\w.-]+$/);
  });

  it.each([
    ["this machine, its process gone", { host: host(), pid: String(deadPid), created: ago(0) }, true],
    ["this machine, its process running", { host: host(), pid: String(process.pid), created: ago(0) }, false],
    ["this machine, no usable pid", { host: host(), pid: "none", created: ago(0) }, true],
    ["this machine, pid 0", { host: host(), pid: "0", created: ago(0) }, true],
    [
      "this machine, running but older than the limit",
      { host: host(), pid: String(process.pid), created: ago(DAY + 60_000) },
      true,
    ],
    // Another machine's process cannot be looked up from here: a pid that is dead (or alive) here says nothing.
    ["another machine, a pid dead here", { host: "elsewhere", pid: String(deadPid), created: ago(0) }, false],
    ["another machine, a pid alive here", { host: "elsewhere", pid: String(process.pid), created: ago(0) }, false],
    ["another machine, just under the limit", { host: "elsewhere", pid: "1", created: ago(DAY - 60_000) }, false],
    ["another machine, no creation date", { host: "elsewhere", pid: "1" }, false],
    ["another machine, older than the limit", { host: "elsewhere", pid: "1", created: ago(DAY + 60_000) }, true],
  ] as const)("%s: stale is %s", (_, fields, stale) => {
    expect(() => process.kill(deadPid!, 0)).toThrow();
    expect(isStaleTestDatabase({ ...fields }, DAY)).toBe(stale);
  });
});
