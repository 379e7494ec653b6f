// The test kit's pool upkeep, run detached after a Vitest run (see releasePool()): drops the
// run's used databases and makes the next run's clones. Failures are silent: a database it
// could not drop is dropped by the next run's cleanupStale(), a missing clone made on demand.
import { maintainPool, POOL_JOB, type PoolJob } from "./pool.ts";

const job = process.env[POOL_JOB];
if (job) await maintainPool(JSON.parse(job) as PoolJob).catch(() => {});
