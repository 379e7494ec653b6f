import { fileURLToPath } from "node:url";

/** Where scripts/sql-mutation.ts leaves the mutant under test for scripts/sql-mutation-setup.ts. */
export const MUTANT_FILE = fileURLToPath(new URL("../reports/sql-mutation/mutant.json", import.meta.url));
