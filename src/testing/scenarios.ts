import pg from "pg";
import type { Scenario } from "../scenario/scenario.ts";

/**
 * Writes the kit's scenarios, in order, into a freshly seeded database.
 *
 * @example
 * await writeScenarios(url, [world]);
 */
export async function writeScenarios(url: string, scenarios: readonly Scenario[]): Promise<void> {
  if (scenarios.length === 0) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const scenario of scenarios) await scenario.create(client);
  } finally {
    await client.end();
  }
}
