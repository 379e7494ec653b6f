// A ChatGenius test suite on the test kit: each test file gets a database of its own, cloned
// from a seeded template that is built once and reused while nothing changed.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["*.test.ts"],
    globalSetup: ["chatgenius-seed/testing/global-setup"],
    setupFiles: ["chatgenius-seed/testing/setup"],
    // Test files run in parallel, each against its own database.
    fileParallelism: true,
  },
});
