// npm run profile:generation -- [SCALE] [SLICES_PER_CHUNK]: what a first run's generation costs
// per row with no database and nothing else running: building the rows, checking them,
// encoding them as COPY text (the generator worker's work), then hashing them into
// fingerprints (the writer thread's). One line of JSON; add `node --cpu-prof` to see inside.
//   npx tsx scripts/profile-generation.ts 200
import { insertOrder } from "../src/core/datamodel.ts";
import { planChunks, SLICES_PER_CHUNK } from "../src/plan/plan.ts";
import { type ChunkTiming, validatedChunks } from "../src/plan/validate.ts";
import { encodeChunk } from "../src/write/copy.ts";
import { TableFingerprint } from "../src/write/fingerprint.ts";

const scale = Number(process.argv[2] ?? 200);
const slicesPerChunk = Number(process.argv[3] ?? SLICES_PER_CHUNK);
const timing: ChunkTiming = { generate: 0, validate: 0, encode: 0 };
const prints = new Map(insertOrder().map((t) => [t.name, new TableFingerprint(t)]));
let rows = 0;
let hashMs = 0;
const started = performance.now();
for (const chunk of validatedChunks(planChunks({ scale }, slicesPerChunk), timing)) {
  let t = performance.now();
  const encoded = encodeChunk(chunk);
  timing.encode! += performance.now() - t;
  t = performance.now();
  for (const part of encoded.tables) {
    rows += part.rows;
    if (part.fingerprintFromCopy) prints.get(part.name)!.addCopyLines(part.data);
  }
  hashMs += performance.now() - t;
}
const us = (ms: number) => Number(((ms * 1000) / rows).toFixed(2));
console.log(
  JSON.stringify({
    scale,
    slicesPerChunk,
    rows,
    seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
    microsecondsPerRow: {
      build: us(timing.generate),
      check: us(timing.validate),
      encode: us(timing.encode!),
      hash: us(hashMs),
      all: us(performance.now() - started),
    },
  }),
);
