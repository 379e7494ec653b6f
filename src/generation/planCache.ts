import { createHash } from "node:crypto";
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { hashPackageFiles, planCodeFolders } from "../core/codeHash.ts";
import { insertOrder, type Rows } from "../core/datamodel.ts";
import type { EventLog } from "../core/log.ts";
import type { PlanOptions } from "../plan/plan.ts";
import type { EncodedChunk } from "../write/copy.ts";
import { TableFingerprint, type TableFingerprintPart } from "../write/fingerprint.ts";

/**
 * Where large plans are kept once built, and how much of the disk they may take. A plan is
 * the same bytes for the same options and code (the seed is deterministic), so a second seed
 * of the same scale streams the stored chunks instead of generating, validating and encoding
 * two million rows again: the client's work, which was the bottleneck, becomes reading a file.
 * A run's resolved value holds it (SEED_CACHE, SEED_CACHE_DIR, SEED_CACHE_MB).
 */
export interface PlanCache {
  readonly dir: string;
  readonly maxBytes: number;
}

/**
 * The key of a plan: a sha256 of everything that decides its bytes: the options, the code that
 * plans and encodes the rows, the schema, faker's version and Node's.
 *
 * @example
 * planKey({ profile: "dev", seed: 1, scale: 100 }).length; // 64
 */
export function planKey(options: Required<PlanOptions>): string {
  const hash = createHash("sha256");
  const { profile, seed, scale } = options;
  hash.update(
    JSON.stringify({
      format: FORMAT_VERSION,
      profile,
      seed,
      scale,
      node: process.version,
      faker: fakerVersion(),
    }),
  );
  return hashPackageFiles(hash, planCodeFolders(["src/write", "src/generated/datamodel.ts"])).digest("hex");
}

function fakerVersion(): string {
  try {
    return (createRequire(import.meta.url)("@faker-js/faker/package.json") as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** Bumped whenever the file layout below changes. */
const FORMAT_VERSION = 3;
const MAGIC = Buffer.from("CGPLAN01");
/** Each part of a chunk: table index, last-part flag, rows, byte length, crc32 of the bytes. */
const FRAME_HEADER = 16;
const LAST_PART = 1;

/** What the end of a plan file says about it. */
interface Trailer {
  version: number;
  key: string;
  rows: number;
  chunks: number;
  /** Each table's fingerprint sums, as the writer computed them from the stream. */
  fingerprints: Record<string, TableFingerprintPart>;
}

/** A stored plan, checked whole and ready to stream. */
export interface CachedPlan {
  readonly file: string;
  readonly rows: number;
  readonly bytes: number;
  /** The chunks as the generators made them; each table's fingerprint rides on its first part. */
  chunks(): AsyncGenerator<EncodedChunk>;
  close(): void;
}

const fileOf = (cache: PlanCache, key: string) => join(cache.dir, `${key.slice(0, 32)}.plan`);

/**
 * Opens the stored plan of `key`, after checking every part's crc32 and the trailer; null when
 * there is none. A damaged or foreign file is removed (and null returned): the run then
 * generates the plan as if there had been none.
 *
 * @example
 * const plan = openCachedPlan(cache, planKey(options));
 */
export function openCachedPlan(cache: PlanCache, key: string): CachedPlan | null {
  const file = fileOf(cache, key);
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const found = readTrailer(fd, size);
    const trailer = found?.trailer;
    if (
      !found ||
      !trailer ||
      trailer.key !== key ||
      trailer.version !== FORMAT_VERSION ||
      !framesIntact(fd, found.end, trailer.rows)
    ) {
      closeSync(fd);
      rmSync(file, { force: true });
      return null;
    }
    // Most recently used first when the cache is trimmed.
    const now = new Date();
    utimesSync(file, now, now);
    return {
      file,
      rows: trailer.rows,
      bytes: size,
      chunks: () => readChunks(fd, trailer, found.end),
      close: () => closeQuietly(fd),
    };
  } catch {
    closeQuietly(fd);
    return null;
  }
}

function closeQuietly(fd: number) {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

/** The trailer, and where the parts end (where it begins). */
function readTrailer(fd: number, size: number): { trailer: Trailer; end: number } | null {
  if (size < MAGIC.length + 4) return null;
  const tail = Buffer.alloc(MAGIC.length + 4);
  readSync(fd, tail, 0, tail.length, size - tail.length);
  if (!tail.subarray(4).equals(MAGIC)) return null;
  const length = tail.readUInt32LE(0);
  if (length > size - tail.length) return null;
  const json = Buffer.alloc(length);
  const end = size - tail.length - length;
  readSync(fd, json, 0, length, end);
  try {
    return { trailer: JSON.parse(json.toString("utf8")) as Trailer, end };
  } catch {
    return null;
  }
}

/** Every part's bytes against its crc32, and the rows against the trailer's count. */
function framesIntact(fd: number, end: number, expectedRows: number): boolean {
  const header = Buffer.alloc(FRAME_HEADER);
  let data = Buffer.alloc(1 << 20);
  let rows = 0;
  for (let at = 0; at < end; ) {
    if (readSync(fd, header, 0, FRAME_HEADER, at) !== FRAME_HEADER) return false;
    const length = header.readUInt32LE(8);
    if (header[0]! >= insertOrder().length || at + FRAME_HEADER + length > end) return false;
    if (length > data.length) data = Buffer.alloc(length);
    if (readSync(fd, data, 0, length, at + FRAME_HEADER) !== length) return false;
    if (crc32(data.subarray(0, length)) !== header.readUInt32LE(12)) return false;
    rows += header.readUInt32LE(4);
    at += FRAME_HEADER + length;
  }
  return rows === expectedRows;
}

async function* readChunks(fd: number, trailer: Trailer, end: number): AsyncGenerator<EncodedChunk> {
  const order = insertOrder();
  const seen = new Set<string>();
  const header = Buffer.alloc(FRAME_HEADER);
  let tables: EncodedChunk["tables"] = [];
  for (let at = 0; at < end; ) {
    readSync(fd, header, 0, FRAME_HEADER, at);
    const length = header.readUInt32LE(8);
    // A buffer of its own per part: the writer may still be sending the previous one.
    const data = Buffer.allocUnsafeSlow(length);
    readSync(fd, data, 0, length, at + FRAME_HEADER);
    at += FRAME_HEADER + length;
    const name = order[header[0]!]!.name;
    const fingerprint = seen.has(name) ? undefined : trailer.fingerprints[name];
    seen.add(name);
    tables.push({ name, rows: header.readUInt32LE(4), data, ...(fingerprint ? { fingerprint } : {}) });
    if (header[1]! & LAST_PART) {
      yield { tables };
      tables = [];
    }
  }
}

/** Writes a plan to the cache while it streams to the database; kept only if the run commits. */
export interface PlanRecorder {
  /** Passes every chunk on unchanged, writing a copy of it to the cache file. */
  record(source: AsyncIterable<EncodedChunk>): AsyncGenerator<EncodedChunk>;
  /** Completes the file with the tables' fingerprints and puts it in place; returns its size, or null when nothing was kept. */
  commit(fingerprints: Record<string, TableFingerprintPart>): number | null;
  /** Removes the unfinished file (a failed or interrupted run). */
  discard(): void;
}

/**
 * Records the chunks of a plan being generated, into a file of its own that becomes the
 * cache entry only on commit (renamed into place: a crash leaves no entry, only a temporary
 * file that a later run removes). The cache never fails a seed: a write error (a full disk)
 * stops the recording, says so once, and the seed goes on.
 *
 * @example
 * const recorder = recordPlan(cache, key, log);
 * await writeWithCopy(client, recorder.record(generators.chunks), log);
 */
export function recordPlan(cache: PlanCache, key: string, log: EventLog): PlanRecorder {
  const final = fileOf(cache, key);
  const temp = `${final}.tmp-${process.pid}-${Date.now()}`;
  const order = new Map(insertOrder().map((t, i) => [t.name, i]));
  let fd: number | null = null;
  let at = 0;
  let rows = 0;
  let chunks = 0;
  let complete = false;
  const stop = (reason: unknown) => {
    if (fd !== null) closeQuietly(fd);
    fd = null;
    rmSync(temp, { force: true });
    if (reason)
      log.emit("complete", {
        step: "cache",
        action: "skipped",
        message: `plan not cached: ${(reason as Error).message ?? String(reason)}`,
      });
  };
  // The file is opened when the chunks start to flow: a run refused before that leaves nothing.
  const start = () => {
    try {
      mkdirSync(cache.dir, { recursive: true });
      removeStaleTemporaries(cache);
      fd = openSync(temp, "w");
    } catch (error) {
      stop(error);
    }
  };
  const write = (bytes: Uint8Array) => {
    if (fd === null) return;
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, at + done);
      at += bytes.length;
    } catch (error) {
      stop(error);
    }
  };
  return {
    async *record(source) {
      start();
      for await (const chunk of source) {
        chunk.tables.forEach((part, i) => {
          const header = Buffer.alloc(FRAME_HEADER);
          header[0] = order.get(part.name)!;
          header[1] = i === chunk.tables.length - 1 ? LAST_PART : 0;
          header.writeUInt32LE(part.rows, 4);
          header.writeUInt32LE(part.data.length, 8);
          header.writeUInt32LE(crc32(part.data), 12);
          write(header);
          write(part.data);
          rows += part.rows;
        });
        chunks += 1;
        yield chunk;
      }
      complete = true;
    },
    commit(fingerprints) {
      if (fd === null || !complete) {
        stop(null);
        return null;
      }
      const trailer: Trailer = { version: FORMAT_VERSION, key, rows, chunks, fingerprints };
      const json = Buffer.from(JSON.stringify(trailer));
      const tail = Buffer.alloc(4);
      tail.writeUInt32LE(json.length, 0);
      write(json);
      write(tail);
      write(MAGIC);
      if (fd === null) return null;
      try {
        closeSync(fd);
        fd = null;
        renameSync(temp, final);
        trimPlanCache(cache, final);
        log.emit("complete", { step: "cache", action: "saved", file: final, bytes: at, rows });
        return at;
      } catch (error) {
        stop(error);
        return null;
      }
    },
    discard: () => stop(null),
  };
}

/** Temporary files of runs that died (SIGKILL, power loss) more than an hour ago. */
function removeStaleTemporaries(cache: PlanCache) {
  const hourAgo = Date.now() - 3_600_000;
  for (const name of readdirSync(cache.dir)) {
    if (!name.includes(".plan.tmp-")) continue;
    const path = join(cache.dir, name);
    try {
      if (statSync(path).mtimeMs < hourAgo) rmSync(path, { force: true });
    } catch {
      // another run removed it
    }
  }
}

/**
 * Keeps the cache under its size: removes the least recently used plans first, never `keep`
 * (the plan just written).
 *
 * @example
 * trimPlanCache({ dir: ".chatgenius/cache", maxBytes: 2 ** 31 });
 */
export function trimPlanCache(cache: PlanCache, keep?: string): void {
  const plans = readdirSync(cache.dir)
    .filter((name) => name.endsWith(".plan"))
    .map((name) => {
      const path = join(cache.dir, name);
      const stat = statSync(path);
      return { path, bytes: stat.size, used: stat.mtimeMs };
    })
    .sort((a, b) => (a.path === keep ? -1 : b.path === keep ? 1 : b.used - a.used));
  let total = 0;
  for (const plan of plans) {
    total += plan.bytes;
    if (total > cache.maxBytes && plan.path !== keep) rmSync(plan.path, { force: true });
  }
}

/**
 * The fingerprint sums of a stream less those of `rows` that were written with it (the local
 * accounts, which are not part of the cached plan). The sums add up row by row in any order,
 * so taking a row's part away leaves exactly the rest's.
 *
 * @example
 * recorder.commit(fingerprintsWithout(result.fingerprints, local.rows));
 */
export function fingerprintsWithout(
  fingerprints: Record<string, TableFingerprintPart>,
  rows: Rows | undefined,
): Record<string, TableFingerprintPart> {
  if (!rows) return fingerprints;
  const out: Record<string, TableFingerprintPart> = {};
  for (const table of insertOrder()) {
    const total = fingerprints[table.name];
    if (!total) continue;
    const local = new TableFingerprint(table);
    for (const row of rows[table.model] as unknown as Record<string, unknown>[]) local.add(row);
    const part = local.part();
    out[table.name] = {
      rows: total.rows - part.rows,
      sum: (BigInt(total.sum) - BigInt(part.sum)).toString(),
      unsupported: total.unsupported || part.unsupported,
    };
  }
  return out;
}
