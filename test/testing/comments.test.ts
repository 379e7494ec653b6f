import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import {
  commentFields,
  host,
  isStaleTestDatabase,
  READY_COMMENT,
  readyComment,
  TEMPLATE_COMMENT,
  TEST_DATABASE_COMMENT,
  templateComment,
  testDatabaseComment,
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

describe("the comments the kit writes", () => {
  it("read back as what was written: this process's test database is live, a ready clone names its template", () => {
    const comment = testDatabaseComment("app_tpl_0123");
    expect(comment.startsWith(`${TEST_DATABASE_COMMENT} `)).toBe(true);
    const fields = commentFields(comment);
    expect(fields).toMatchObject({ host: host(), pid: String(process.pid), template: "app_tpl_0123" });
    expect(Math.abs(Date.now() - Date.parse(fields.created ?? ""))).toBeLessThan(DAY);
    expect(isStaleTestDatabase(fields, DAY)).toBe(false);
    expect(readyComment("app_tpl_0123")).toBe(`${READY_COMMENT} template=app_tpl_0123`);
    expect(commentFields(readyComment("app_tpl_0123"))).toEqual({ template: "app_tpl_0123" });
    expect(templateComment("f".repeat(64))).toBe(`${TEMPLATE_COMMENT} ${"f".repeat(64)}`);
  });
});

describe("the kit's marks", () => {
  // The kit tells its templates, test databases and ready clones apart, and all three from any
  // other database, by the first words of the database's comment.
  const marks = [TEMPLATE_COMMENT, TEST_DATABASE_COMMENT, READY_COMMENT];

  it("are not the start of another's comment", () => {
    for (const mark of marks)
      for (const other of marks.filter((m) => m !== mark))
        expect(`${other} host=ada template=app_tpl_0123`.startsWith(mark)).toBe(false);
  });

  it("are not the start of a comment the kit did not write, nor of an empty one", () => {
    for (const mark of marks)
      for (const comment of ["", "nightly copy of production"]) expect(comment.startsWith(mark)).toBe(false);
  });
});

describe("isStaleTestDatabase", () => {
  it("writes this machine's name without characters a comment could not hold", () => {
    expect(host()).toMatch(/^[\w.-]+$/);
  });

  it.each([
    ["this machine, its process gone", true, { host: host(), pid: String(deadPid), created: ago(0) }],
    ["this machine, its process running", false, { host: host(), pid: String(process.pid), created: ago(0) }],
    ["this machine, no usable pid", true, { host: host(), pid: "none", created: ago(0) }],
    ["this machine, pid 0", true, { host: host(), pid: "0", created: ago(0) }],
    [
      "this machine, running but older than the limit",
      true,
      { host: host(), pid: String(process.pid), created: ago(DAY + 60_000) },
    ],
    // Another machine's process cannot be looked up from here: a pid that is dead (or alive) here says nothing.
    ["another machine, a pid dead here", false, { host: "elsewhere", pid: String(deadPid), created: ago(0) }],
    ["another machine, a pid alive here", false, { host: "elsewhere", pid: String(process.pid), created: ago(0) }],
    ["another machine, just under the limit", false, { host: "elsewhere", pid: "1", created: ago(DAY - 60_000) }],
    ["another machine, no creation date", false, { host: "elsewhere", pid: "1" }],
    ["another machine, older than the limit", true, { host: "elsewhere", pid: "1", created: ago(DAY + 60_000) }],
  ] as [string, boolean, Record<string, string>][])("%s: stale is %s", (_, stale, fields) => {
    expect(() => process.kill(deadPid!, 0)).toThrow();
    expect(isStaleTestDatabase({ ...fields }, DAY)).toBe(stale);
  });
});
