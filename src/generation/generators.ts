import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { encodeChunk, type EncodedChunk } from "../write/copy.ts";
import type { Rows } from "../core/datamodel.ts";
import { SeedError, type SeedErrorCode } from "../core/errors.ts";
import type { PlanOptions } from "../plan/plan.ts";
import type { ChunkTiming } from "../plan/validate.ts";

/**
 * Encodes chunks in this thread, as the writer asks for them: for small plans, where starting
 * a worker costs more than it saves.
 *
 * @example
 * await writeWithCopy(client, encodedChunks(chunks), log);
 */
export async function* encodedChunks(chunks: Iterable<Rows>, timing?: ChunkTiming): AsyncGenerator<EncodedChunk> {
  for (const rows of chunks) {
    const t = performance.now();
    const encoded = encodeChunk(rows);
    if (timing) timing.encode = (timing.encode ?? 0) + performance.now() - t;
    yield encoded;
  }
}

/**
 * The worker's code: from the TypeScript sources through a loader (tsx, or Vitest's), from the
 * build (dist/) its own compiled entry beside this chunk.
 */
const WORKER_URL = import.meta.url.endsWith(".ts")
  ? new URL("./generatorWorker.bootstrap.mjs", import.meta.url)
  : new URL("./generatorWorker.js", import.meta.url);

/**
 * Heap limits of each generator worker (old and young generation, MB): a chunk and its
 * encoding fit many times over, and small limits make the worker collect garbage early, so
 * the process stays flat at any scale. Measured with `npm run bench` at scale 100 (peak RSS of
 * the whole process, median of runs): 128/default 256 MB, 64/8 225 MB, no slower. A young
 * generation of 8 MB, though, had the worker spend a third of its time in scavenges (CPU
 * profile, first run at scale 100): 16 MB took a first run (SEED_CACHE=0, pair by pair) at
 * scale 100 from 5.1-6.7 s to 4.1-5.2 s (peak 139 to 144-150 MB) and at scale 1000 from
 * 43-49 s to 32-38 s (peak 160-163 MB either way).
 */
const WORKER_HEAP_MB = 64;
const WORKER_YOUNG_MB = 16;

/**
 * Generator workers for a bulk seed: one per core but one (PostgreSQL needs a core to load
 * what they build), at least one. SEED_WORKERS overrides it.
 *
 * @example
 * generatorCount({}); // 1 on a 2-core machine
 */
export function generatorCount(env: Record<string, string | undefined> = process.env): number {
  const wanted = Number(env.SEED_WORKERS);
  if (Number.isSafeInteger(wanted) && wanted >= 1) return Math.min(wanted, 16);
  return Math.max(1, availableParallelism() - 1);
}

type WorkerMessage =
  | { done: true; timing: ChunkTiming }
  | { chunk: EncodedChunk; timing: ChunkTiming }
  | { error: { code: SeedErrorCode; message: string } };

/** One generator worker and the messages it sent that were not read yet. */
class Generator {
  private readonly worker: Worker;
  private readonly inbox: WorkerMessage[] = [];
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  timing: ChunkTiming = { generate: 0, validate: 0, encode: 0 };

  constructor(workerData: unknown) {
    this.worker = new Worker(WORKER_URL, {
      workerData,
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: WORKER_YOUNG_MB },
    });
    // Never the reason the process stays alive: the writer stops it, and a leak must not hang.
    this.worker.unref();
    this.worker.on("message", (m: WorkerMessage) => {
      this.inbox.push(m);
      this.wake?.();
    });
    this.worker.on("error", (error) => {
      this.failure = error;
      this.wake?.();
    });
  }

  /** Asks for the next chunk: the worker builds it while the writer is busy with others. */
  request(): void {
    this.worker.postMessage("next");
  }

  async receive(): Promise<WorkerMessage> {
    while (this.inbox.length === 0) {
      if (this.failure)
        throw new SeedError("SEED_FAILED", `the row generator stopped: ${this.failure.message}`, {
          cause: this.failure,
        });
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    const message = this.inbox.shift()!;
    if ("timing" in message) this.timing = message.timing;
    return message;
  }

  async stop(): Promise<void> {
    await this.worker.terminate();
  }
}

/** Generator workers already at work, and the chunks they build in plan order. */
export interface StartedGenerators {
  readonly chunks: AsyncIterable<EncodedChunk>;
  /** Terminates the workers (also when the chunks were never read). */
  stop(): Promise<void>;
}

/**
 * Starts the generator workers now, so that their start-up and first chunks overlap whatever
 * the caller does before writing (connecting, checking the schema, taking the lock, the
 * cleanup). See workerChunks; the caller must call `stop()` whatever happens.
 *
 * @example
 * const generators = startGenerators({ scale: 100 });
 * try { await writeWithCopy(client, generators.chunks, log); } finally { await generators.stop(); }
 */
export function startGenerators(
  options: PlanOptions,
  timing?: ChunkTiming,
  slicesPerChunk?: number,
  workers = generatorCount(),
): StartedGenerators {
  const generators = Array.from(
    { length: workers },
    (_, index) => new Generator({ options, slicesPerChunk, part: { index, of: workers } }),
  );
  for (const g of generators) g.request();
  const report = () => {
    if (!timing) return;
    for (const key of ["generate", "validate", "encode"] as const)
      timing[key] = generators.reduce((sum, g) => sum + (g.timing[key] ?? 0), 0);
  };
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= Promise.all(generators.map((g) => g.stop())).then(() => {}));
  async function* chunks(): AsyncGenerator<EncodedChunk> {
    try {
      for (let k = 0; ; k = (k + 1) % workers) {
        const generator = generators[k]!;
        const message = await generator.receive();
        report();
        if ("error" in message) throw new SeedError(message.error.code, message.error.message);
        // Chunks go round the workers in plan order: the first worker out of chunks ends the plan.
        if ("done" in message) return;
        generator.request();
        yield message.chunk;
      }
    } finally {
      await stop();
    }
  }
  return { chunks: chunks(), stop };
}

/**
 * Builds, validates and encodes the plan in worker threads (generatorCount(), or `workers`),
 * each one chunk ahead of the writer, so that generating rows overlaps with the server
 * loading them. Worker k builds chunks k, k + n, k + 2n, …; they are handed on in plan order,
 * so the rows and their order are the same for any number of workers. Memory stays bounded:
 * at most two chunks per worker exist at once. `timing` receives the workers' summed time per
 * phase.
 *
 * @example
 * await writeWithCopy(client, workerChunks({ scale: 1000 }), log);
 */
export async function* workerChunks(
  options: PlanOptions,
  timing?: ChunkTiming,
  slicesPerChunk?: number,
  workers = generatorCount(),
): AsyncGenerator<EncodedChunk> {
  const generators = startGenerators(options, timing, slicesPerChunk, workers);
  try {
    yield* generators.chunks;
  } finally {
    await generators.stop();
  }
}
