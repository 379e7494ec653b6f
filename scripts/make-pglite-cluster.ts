// npm run make:pglite-cluster: writes assets/pglite-<version>-initdb.tar.gz, a fresh cluster's
// files for the PGlite version installed (the lockfile's), which every new embedded database
// folder starts from instead of running PGlite's initdb (630 MB and about 3 s). Run it after
// upgrading PGlite; test/db/embedded.test.ts fails until the file for the new version exists.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { clusterFileName, initdbFiles } from "../src/db/embedded.ts";
import { packageRoot } from "../src/core/paths.ts";

const name = clusterFileName();
if (!name) throw new Error("cannot find the installed @electric-sql/pglite: run npm ci first");
const dir = join(packageRoot(), "assets");
mkdirSync(dir, { recursive: true });
// One file: the one for the PGlite version installed now.
for (const old of readdirSync(dir)) if (/^pglite-.*-initdb\.tar\.gz$/.test(old)) rmSync(join(dir, old));
const files = await initdbFiles(PGlite);
writeFileSync(join(dir, name), files);
console.log(`assets/${name}: ${(files.length / 1e6).toFixed(1)} MB`);
