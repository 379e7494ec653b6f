// Loads the TypeScript worker in a worker thread, whatever loader (tsx, Vitest) its parent
// runs under.
import { tsImport } from "tsx/esm/api";

await tsImport("./generatorWorker.ts", import.meta.url);
