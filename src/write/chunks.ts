import { Worker } from "node:worker_threads";
import { encodeChunk, type BulkFormat, type EncodedChunk } from "./copy.ts";
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
export async function* encodedChunks(chunks: Iterable<Rows>, timing?: ChunkTiming, format: BulkFormat = "copy"): AsyncGenerator<EncodedChunk> {
  for (const rows of chunks) {
    const t = performance.now();
    const encoded = encodeChunk(rows, format);
    if (timing) timing.encode = (timing.encode ?? 0) + performance.now() - t;
    yield encoded;
  }
}

/**
 * The worker's code: from the TypeScript sources through a loader (tsx, or Vitest's), from the
 * build (dist/) its own compiled entry beside this chunk.
 */
const WORKER_URL = import.meta.url.endsWith(".ts") ? new URL("./chunkWorker.bootstrap.mjs", import.meta.url) : new URL("./chunkWorker.js", import.meta.url);

/** Old-generation heap of the generator worker: a chunk and its encoding fit many times over. */
const WORKER_HEAP_MB = 128;

type WorkerMessage = { done: true; timing: ChunkTiming } | { chunk: EncodedChunk; timing: ChunkTiming } | { error: { code: SeedErrorCode; message: string } };

/**
 * Builds, validates and encodes the plan in a worker thread, one chunk ahead of the writer,
 * so that generating rows overlaps with the server loading them. Memory stays bounded: at
 * most two chunks exist at once. `timing` receives the worker's time per phase.
 *
 * @example
 * await writeWithCopy(client, workerChunks({ scale: 1000 }), log);
 */
export async function* workerChunks(options: PlanOptions, timing?: ChunkTiming, slicesPerChunk?: number, format: BulkFormat = "copy"): AsyncGenerator<EncodedChunk> {
  // A small old generation keeps the worker collecting garbage early: memory must not grow with the seed.
  const worker = new Worker(WORKER_URL, { workerData: { options, slicesPerChunk, format }, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
  // Never the reason the process stays alive: the writer terminates it, and a leak must not hang.
  worker.unref();
  const inbox: WorkerMessage[] = [];
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  worker.on("message", (m: WorkerMessage) => {
    inbox.push(m);
    wake?.();
  });
  worker.on("error", (error) => {
    failure = error;
    wake?.();
  });
  const receive = async (): Promise<WorkerMessage> => {
    while (inbox.length === 0) {
      if (failure) throw new SeedError("SEED_FAILED", `the row generator stopped: ${failure.message}`, { cause: failure });
      await new Promise<void>((resolve) => (wake = resolve));
    }
    return inbox.shift()!;
  };
  try {
    worker.postMessage("next");
    for (;;) {
      const message = await receive();
      if (timing && "timing" in message) Object.assign(timing, message.timing);
      if ("error" in message) throw new SeedError(message.error.code, message.error.message);
      if ("done" in message) return;
      worker.postMessage("next");
      yield message.chunk;
    }
  } finally {
    await worker.terminate();
  }
}
