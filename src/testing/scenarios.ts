import pg from "pg";
import { kitScenarios, type KitOptions } from "./options.ts";

/**
 * Writes the kit's scenarios, in order, into a freshly seeded database.
 *
 * @example
 * await writeScenarios(url, { scenario: world });
 */
export async function writeScenarios(url: string, options: KitOptions): Promise<void> {
  const scenarios = kitScenarios(options);
  if (scenarios.length === 0) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const scenario of scenarios) await scenario.create(client);
  } finally {
    await client.end();
  }
}
