import { describe, expect, it } from "vitest";
import { preparePlan } from "../../src/generation/planSource.ts";
import { checkPlanOptions } from "../../src/plan/plan.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { verifyDatabase } from "../../src/api/verify.ts";
import { useTestDatabase } from "../helpers/db.ts";

const db = useTestDatabase("prepared");
const seed = (seed: number) => seedDatabase({ env: {}, databaseUrl: db.url, profile: "dev", seed });
const identical = async (seed: number) =>
  (await verifyDatabase({ env: {}, databaseUrl: db.url, profile: "dev", seed, regenerate: true })).identical;

describe("preparePlan (a plan built while the embedded server starts)", () => {
  it("is the plan its seed writes, taken only by a seed of the same options", async () => {
    preparePlan(checkPlanOptions({ profile: "dev", seed: 11 }));
    await seed(12);
    expect(await identical(12)).toBe(true);
    const summary = await seed(11);
    expect(await identical(11)).toBe(true);
    // Its time is the run's: built ahead, still counted.
    expect(summary.phases.generate).toBeGreaterThan(0);
  });
});
