#!/usr/bin/env node
// The `chatgenius-seed` command (and every `npm run db:*` script). It runs the compiled CLI in
// dist/; in a checkout it first rebuilds dist/ when anything under src/ changed since the last
// build (a few stats; a rebuild takes about half a second), so edited code is always what runs.
import { existsSync } from "node:fs";

const build = new URL("../scripts/build.mjs", import.meta.url);
if (existsSync(new URL("../src/cli/cli.ts", import.meta.url)) && existsSync(build)) {
  const { buildDist, isCurrent } = await import(build.href);
  if (!isCurrent()) {
    try {
      await buildDist();
    } catch (error) {
      // An edit that does not compile: say where, as esbuild does, and change nothing.
      const first = error.errors?.[0];
      const where = first?.location ? `${first.location.file}:${first.location.line}:${first.location.column}: ` : "";
      process.stderr.write(`error: src/ does not compile, nothing was run: ${where}${first?.text ?? error.message}\n`);
      process.exit(1);
    }
  }
}
// With nothing configured, the embedded PostgreSQL starts now and boots while the CLI loads.
const early = await import("../dist/prestart.js").catch(() => null);
early?.prestart(process.argv.slice(2));
// Another command may be putting its fresh build in place this very moment: try once more.
const { runProcess } = await import("../dist/cli.js").catch(() =>
  new Promise((resolve) => setTimeout(resolve, 200)).then(() => import(`../dist/cli.js?retry`)),
);
await runProcess(process.argv.slice(2));
