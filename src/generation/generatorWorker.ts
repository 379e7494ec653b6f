// Worker thread of workerChunks(): builds, validates and encodes the plan's chunks one ahead
// of the writer, on the second core, so generation overlaps the server's loading.
import { parentPort, workerData } from "node:worker_threads";
import { encodeChunk } from "../write/copy.ts";
import { canonicalChunk, planChunks, type ChunkPart, type PlanOptions } from "../plan/plan.ts";
import { validatedChunks, type ChunkTiming } from "../plan/validate.ts";

const { options, slicesPerChunk, part } = workerData as {
  options: PlanOptions;
  slicesPerChunk?: number;
  part: ChunkPart;
};
const timing: ChunkTiming = { generate: 0, validate: 0, encode: 0 };
// Every generator but the first checks its chunks against the canonical rows it does not write.
const source = validatedChunks(
  planChunks(options, slicesPerChunk, part),
  timing,
  part.index === 0 ? undefined : canonicalChunk(),
);

parentPort!.on("message", (message: string) => {
  if (message !== "next") return;
  try {
    const next = source.next();
    if (next.done) {
      parentPort!.postMessage({ done: true, timing });
      return;
    }
    const t = performance.now();
    const chunk = encodeChunk(next.value);
    timing.encode! += performance.now() - t;
    parentPort!.postMessage(
      { chunk, timing },
      chunk.tables.map((x) => x.data.buffer as ArrayBuffer),
    );
  } catch (error) {
    const e = error as { code?: string; message?: string };
    parentPort!.postMessage({ error: { code: e.code ?? "SEED_FAILED", message: e.message ?? String(error) } });
  }
});
