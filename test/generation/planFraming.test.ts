import {
  closeSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { TABLES, insertOrder, type Rows } from "../../src/core/datamodel.ts";
import { createEventLog, type SeedLogEvent } from "../../src/core/log.ts";
import { buildPlan } from "../../src/plan/plan.ts";
import { encodeChunk, type EncodedChunk } from "../../src/write/copy.ts";
import { openCachedPlan, recordPlan } from "../../src/generation/planCache.ts";
import type { TableFingerprintPart } from "../../src/write/fingerprint.ts";

// The plan cache's file format on its own, no database: each part framed with its table, a
// last-part flag, its rows, its length and a crc32; a trailer with the key, counts and
// fingerprints; a magic at the end. Every damage must make the file unusable (and removed).
const KEY = "k".repeat(64);
const rows = buildPlan({ profile: "minimal" }).rows;
/** Two chunks: the minimal plan, then its users and channels again (a chunk of fewer tables). */
const CHUNKS: EncodedChunk[] = [
  encodeChunk(rows),
  encodeChunk(
    Object.fromEntries(
      TABLES.map((t) => [t.model, t.model === "User" || t.model === "Channel" ? rows[t.model] : []]),
    ) as unknown as Rows,
  ),
];
const FINGERPRINTS: Record<string, TableFingerprintPart> = {
  users: { rows: 6, sum: "12345", unsupported: false },
  channels: { rows: 2, sum: "678", unsupported: false },
};
const TOTAL_ROWS = CHUNKS.flatMap((c) => c.tables).reduce((sum, t) => sum + t.rows, 0);

const made: string[] = [];
/** A new cache folder, removed after the file's tests (Stryker runs them once per mutant). */
const tempDir = (): string => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "plan-framing-")));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

async function drain<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of source) out.push(item);
  return out;
}
async function* from(chunks: EncodedChunk[]) {
  yield* chunks;
}

/** A cache folder holding the two chunks recorded and committed; returns it and the events. */
async function recorded() {
  const dir = tempDir();
  const cache = { dir, maxBytes: 1 << 30 };
  const events: SeedLogEvent[] = [];
  const recorder = recordPlan(
    cache,
    KEY,
    createEventLog((e) => events.push(e)),
  );
  const passed = await drain(recorder.record(from(CHUNKS)));
  const bytes = recorder.commit(FINGERPRINTS);
  const file = join(dir, `${KEY.slice(0, 32)}.plan`);
  return { cache, file, bytes, passed, events };
}

/** The file with `change` applied to its bytes, opened again. */
async function damaged(change: (bytes: Buffer) => Buffer) {
  const { cache, file } = await recorded();
  writeFileSync(file, change(readFileSync(file)));
  return { plan: openCachedPlan(cache, KEY), file };
}

describe("the plan cache file", () => {
  it("passes every chunk on unchanged and reads back the same chunks, parts and fingerprints", async () => {
    const { cache, file, bytes, passed, events } = await recorded();
    expect(passed).toEqual(CHUNKS);
    expect(bytes).toBe(statSync(file).size);
    expect(readdirSync(cache.dir)).toEqual([`${KEY.slice(0, 32)}.plan`]);
    expect(events.map((e) => [e.operation, e.details])).toEqual([
      ["complete", { step: "cache", action: "saved", file, bytes, rows: TOTAL_ROWS }],
    ]);
    // The end of the file: the trailer (JSON), its length, the magic.
    const whole = readFileSync(file);
    expect(whole.subarray(-8).toString("latin1")).toBe("CGPLAN01");
    const length = whole.readUInt32LE(whole.length - 12);
    expect(JSON.parse(whole.subarray(whole.length - 12 - length, whole.length - 12).toString("utf8"))).toEqual({
      version: 3,
      key: KEY,
      rows: TOTAL_ROWS,
      chunks: 2,
      fingerprints: FINGERPRINTS,
    });
    const plan = openCachedPlan(cache, KEY)!;
    expect(plan).toMatchObject({ file, rows: TOTAL_ROWS, bytes });
    const back = await drain(plan.chunks());
    plan.close();
    expect(back.map((c) => c.tables.map((t) => [t.name, t.rows]))).toEqual(
      CHUNKS.map((c) => c.tables.map((t) => [t.name, t.rows])),
    );
    back.forEach((chunk, i) => {
      chunk.tables.forEach((t, j) => {
        expect(Buffer.from(t.data).equals(Buffer.from(CHUNKS[i]!.tables[j]!.data))).toBe(true);
      });
    });
    // A table's fingerprint rides on its first part only.
    expect(back[0]!.tables.filter((t) => t.fingerprint).map((t) => [t.name, t.fingerprint])).toEqual([
      ["users", FINGERPRINTS.users],
      ["channels", FINGERPRINTS.channels],
    ]);
    expect(back[1]!.tables.some((t) => t.fingerprint)).toBe(false);
  });

  it("is found only under its key", async () => {
    const { cache, file } = await recorded();
    expect(openCachedPlan(cache, "x".repeat(64))).toBeNull();
    expect(existsSync(file)).toBe(true);
    // Another key whose file name (its first 32 characters) is the same: the trailer tells them apart.
    expect(openCachedPlan(cache, `${KEY.slice(0, 32)}${"y".repeat(32)}`)).toBeNull();
    expect(existsSync(file)).toBe(false);
  });

  it("is not there when nothing was recorded", () => {
    expect(openCachedPlan({ dir: tempDir(), maxBytes: 1 }, KEY)).toBeNull();
  });

  it.each([
    ["a byte of row data changed", (b: Buffer) => ((b[20] = b[20]! ^ 1), b)],
    ["a part's row count changed", (b: Buffer) => (b.writeUInt32LE(b.readUInt32LE(4) + 1, 4), b)],
    ["a part's length changed", (b: Buffer) => (b.writeUInt32LE(b.readUInt32LE(8) + 1, 8), b)],
    ["a part's crc changed", (b: Buffer) => (b.writeUInt32LE((b.readUInt32LE(12) ^ 1) >>> 0, 12), b)],
    ["a table index out of range", (b: Buffer) => ((b[0] = insertOrder().length), b)],
    ["the file cut short", (b: Buffer) => b.subarray(0, b.length - 1)],
    ["the trailer's length too large", (b: Buffer) => (b.writeUInt32LE(b.length, b.length - 12), b)],
    ["the trailer unreadable", (b: Buffer) => ((b[b.length - 13] = 0x7b), b)],
    ["the magic changed", (b: Buffer) => ((b[b.length - 1] = 0x30), b)],
    ["only the magic left", (b: Buffer) => b.subarray(b.length - 8)],
    [
      "a trailer of another version",
      (b: Buffer) => Buffer.from(b.toString("latin1").replace('"version":3', '"version":4'), "latin1"),
    ],
    [
      "a trailer that is JSON null",
      (b: Buffer) => {
        const length = b.readUInt32LE(b.length - 12);
        const tail = Buffer.alloc(12);
        tail.writeUInt32LE(4, 0);
        b.copy(tail, 4, b.length - 8);
        return Buffer.concat([b.subarray(0, b.length - 12 - length), Buffer.from("null"), tail]);
      },
    ],
    [
      "a first part header cut in half",
      (b: Buffer) => Buffer.concat([b.subarray(0, 8), b.subarray(b.length - (b.readUInt32LE(b.length - 12) + 12))]),
    ],
  ])("is refused and removed with %s", async (_name, change) => {
    const { plan, file } = await damaged(change);
    expect(plan).toBeNull();
    expect(existsSync(file)).toBe(false);
  });

  it("reads back a part larger than a mebibyte, and a plan of no chunks", async () => {
    const dir = tempDir();
    const cache = { dir, maxBytes: 1 << 30 };
    const big: EncodedChunk = {
      tables: [{ name: "users", rows: 1, data: Buffer.alloc(1.5 * 1024 * 1024, 0x61) }],
    };
    const recorder = recordPlan(
      cache,
      KEY,
      createEventLog(() => {}),
    );
    await drain(recorder.record(from([big])));
    recorder.commit({});
    const plan = openCachedPlan(cache, KEY)!;
    const [chunk] = await drain(plan.chunks());
    plan.close();
    expect(Buffer.from(chunk!.tables[0]!.data).equals(Buffer.from(big.tables[0]!.data))).toBe(true);

    const empty = recordPlan(
      cache,
      KEY,
      createEventLog(() => {}),
    );
    await drain(empty.record(from([])));
    empty.commit({});
    const none = openCachedPlan(cache, KEY)!;
    expect(none.rows).toBe(0);
    expect(await drain(none.chunks())).toEqual([]);
    none.close();
  });

  it("keeps nothing when the run ends before the last chunk, or is discarded", async () => {
    const dir = tempDir();
    const cache = { dir, maxBytes: 1 << 30 };
    const early = recordPlan(
      cache,
      KEY,
      createEventLog(() => {}),
    );
    const iterator = early.record(from(CHUNKS));
    await iterator.next();
    expect(readdirSync(dir)).toHaveLength(1);
    expect(early.commit(FINGERPRINTS)).toBeNull();
    expect(readdirSync(dir)).toEqual([]);
    const discarded = recordPlan(
      cache,
      KEY,
      createEventLog(() => {}),
    );
    await drain(discarded.record(from(CHUNKS)));
    discarded.discard();
    expect(readdirSync(dir)).toEqual([]);
  });

  it.runIf(process.platform === "linux")(
    "says once that the plan is not kept when its trailer cannot be written",
    async () => {
      const dir = tempDir();
      const events: SeedLogEvent[] = [];
      const recorder = recordPlan(
        { dir, maxBytes: 1 << 30 },
        KEY,
        createEventLog((e) => events.push(e)),
      );
      await drain(recorder.record(from(CHUNKS)));
      // The temporary file's descriptor, closed under the recorder: writing the trailer fails (EBADF), as on a full disk.
      const temp = join(dir, `${KEY.slice(0, 32)}.plan.tmp-`);
      const fd = readdirSync("/proc/self/fd")
        .map(Number)
        .find((n) => {
          try {
            return readlinkSync(`/proc/self/fd/${n}`).startsWith(temp);
          } catch {
            return false;
          }
        });
      closeSync(fd!);
      expect(recorder.commit(FINGERPRINTS)).toBeNull();
      expect(events.map((e) => e.details)).toEqual([
        { step: "cache", action: "skipped", message: expect.stringMatching(/^plan not cached: EBADF/) },
      ]);
      expect(readdirSync(dir)).toEqual([]);
    },
  );
});
