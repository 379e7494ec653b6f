// npm run generate:schema: writes prisma/seed.local.schema.json from the validator's own
// definition (src/localSeed.ts). A test fails when the committed file is out of date.
import { writeFileSync } from "node:fs";
import { localSeedJsonSchema } from "../src/plan/localSeed.ts";

export const LOCAL_SCHEMA_FILE = "prisma/seed.local.schema.json";

writeFileSync(
  new URL(`../${LOCAL_SCHEMA_FILE}`, import.meta.url),
  `${JSON.stringify(localSeedJsonSchema(), null, 2)}\n`,
);
console.log(`wrote ${LOCAL_SCHEMA_FILE}`);
