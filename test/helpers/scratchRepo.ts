import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { expect } from "vitest";
import { projectFolder } from "./cli.ts";

const REPO = resolve(import.meta.dirname, "../..");

/** What a copy holds that a recipe never writes: installed, generated or built. */
const NOT_SOURCE = new Set(["node_modules", "dist", ".chatgenius", "src/generated", "reports", ".tsbuildinfo"]);

/** A command's outcome in a scratch repository. */
export interface Run {
  readonly code: number;
  readonly output: string;
}

/**
 * A copy of this checkout in a new folder, as it is now (every tracked or new file, the
 * uncommitted changes included; the generated Prisma client and datamodel; node_modules linked),
 * on which a recipe of docs/architecture.md is performed.
 */
export interface ScratchRepo {
  readonly root: string;
  /** Reads a file of the copy. */
  read(path: string): string;
  /** Rewrites a file of the copy (or writes a new one). */
  write(path: string, text: string): void;
  /** Runs a command in the copy with only PATH, HOME and `env`; never throws. */
  run(command: string, args: readonly string[], env?: Record<string, string>): Run;
  /** The source files the recipe added, changed or removed since the copy was made, sorted. */
  changed(ignore?: readonly string[]): string[];
  /** Removes the copy. */
  remove(): void;
}

function hashes(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const rel = relative(root, path);
      if (NOT_SOURCE.has(rel) || NOT_SOURCE.has(entry.name)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) out.set(rel, createHash("sha1").update(readFileSync(path)).digest("hex"));
    }
  };
  walk(root);
  return out;
}

/**
 * Copies this checkout into a scratch folder.
 *
 * @example
 * const repo = scratchRepo("recipe-table-");
 * repo.run("npm", ["run", "typecheck"]);
 */
export function scratchRepo(prefix: string): ScratchRepo {
  const root = projectFolder(prefix);
  const files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: REPO,
    encoding: "utf8",
  })
    .split("\0")
    .filter((f) => f !== "" && existsSync(join(REPO, f)));
  for (const file of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    cpSync(join(REPO, file), join(root, file));
  }
  cpSync(join(REPO, "src", "generated"), join(root, "src", "generated"), { recursive: true });
  symlinkSync(join(REPO, "node_modules"), join(root, "node_modules"), "dir");
  const before = hashes(root);
  return {
    root,
    read: (path) => readFileSync(join(root, path), "utf8"),
    write: (path, text) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    },
    run(command, args, env = {}) {
      const result = spawnSync(command, args, {
        cwd: root,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", ...env },
        encoding: "utf8",
        timeout: 240_000,
      });
      return { code: result.status ?? -1, output: `${result.stdout ?? ""}${result.stderr ?? ""}${result.error ?? ""}` };
    },
    changed(ignore = []) {
      const after = hashes(root);
      const paths = new Set([...before.keys(), ...after.keys()]);
      return [...paths].filter((p) => before.get(p) !== after.get(p) && !ignore.includes(p)).sort();
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** A step of a recipe: text a fenced block adds to a file and where, or a command line. */
export type Step =
  | {
      readonly kind: "snippet";
      /** The file, from the block's first line: `// prisma/schema.prisma: at the end`. */
      readonly path: string;
      /** Where in it (see applySnippet). */
      readonly where: string;
      readonly code: string;
    }
  | {
      readonly kind: "command";
      readonly line: string;
      /** `# fails in FILE: TEXT` after the command: it must fail there, saying TEXT. */
      readonly fails?: { readonly file: string; readonly text: string };
    };

/**
 * The recipe under a heading of docs/architecture.md (up to the next heading of its level or
 * above), in the page's order: the snippets of its `text` blocks whose first line names a file,
 * and the lines of its `sh` blocks.
 *
 * @example
 * recipe("How to add a model").filter((s) => s.kind === "command").map((s) => s.line);
 */
export function recipe(heading: string): Step[] {
  const page = readFileSync(join(REPO, "docs", "architecture.md"), "utf8");
  const start = page.search(new RegExp(`^#+ ${heading}$`, "m"));
  if (start < 0) throw new Error(`docs/architecture.md has no heading '${heading}'`);
  const level = /^#+/.exec(page.slice(start))![0];
  const rest = page.slice(start + level.length);
  const end = rest.search(new RegExp(`^#{1,${level.length}} `, "m"));
  const section = end < 0 ? rest : rest.slice(0, end);
  const steps: Step[] = [];
  for (const [, margin, lang, body] of section.matchAll(/^( *)```(\w+)[^\n]*\n([\s\S]*?)^\1```$/gm)) {
    const lines = body!
      .replace(/\n$/, "")
      .split("\n")
      .map((l) => (l.startsWith(margin!) ? l.slice(margin!.length) : l));
    if (lang === "sh") {
      for (const line of lines.filter((l) => l.trim() !== "" && !l.startsWith("#"))) {
        const fails = /\s#\s*fails in (\S+): (.+)$/.exec(line);
        steps.push({
          kind: "command",
          line: line.replace(/\s#.*$/, ""),
          ...(fails ? { fails: { file: fails[1]!, text: fails[2]! } } : {}),
        });
      }
    }
    const target = lang === "text" ? /^\/\/ (\S+): (.+)$/.exec(lines[0] ?? "") : null;
    if (target) steps.push({ kind: "snippet", path: target[1]!, where: target[2]!, code: lines.slice(1).join("\n") });
  }
  return steps;
}

const indent = (code: string, by: string) =>
  code
    .split("\n")
    .map((l) => (l === "" ? l : by + l))
    .join("\n");

/**
 * Adds a snippet to a file's text where it says: `at the end` or `at the top`; after the
 * opening line of each `in model X` it names; `in NAME`, before the line that closes the
 * declaration or property NAME (`const NAME = {`, `NAME: {`: the first `}`/`]` line at its
 * indentation); `replacing ENTRY in NAME`, in place of that entry; `replacing the line \`L\``.
 */
export function applySnippet(text: string, snippet: { path: string; where: string; code: string }): string {
  const { where, code } = snippet;
  if (where === "at the end") return `${text.trimEnd()}\n\n${code}\n`;
  if (where === "at the top") return `${code}\n${text}`;
  const lines = text.split("\n");
  const line = /^replacing the line `(.*)`$/.exec(where);
  if (line) {
    const at = lines.indexOf(line[1]!);
    if (at < 0) throw new Error(`${snippet.path} has no line '${line[1]}'`);
    lines.splice(at, 1, indent(code, /^\s*/.exec(line[1]!)![0]));
    return lines.join("\n");
  }
  const models = [...where.matchAll(/in model (\w+)/g)].map((m) => m[1]!);
  if (models.length > 0) {
    for (const model of models) {
      const at = lines.findIndex((l) => l.startsWith(`model ${model} {`));
      if (at < 0) throw new Error(`${snippet.path} has no model ${model}`);
      lines.splice(at + 1, 0, indent(code, "  "));
    }
    return lines.join("\n");
  }
  const declaration = /^(?:replacing (\w+) )?in (\w+)$/.exec(where);
  if (!declaration) throw new Error(`${snippet.path}: cannot read where '${where}'`);
  const [, entry, name] = declaration;
  const open = lines.findIndex((l) => new RegExp(`(\\b(const|let|var) ${name}\\b.*[{[]$|^\\s*${name}: [{[]$)`).test(l));
  if (open < 0) throw new Error(`${snippet.path} declares no ${name}`);
  const base = /^\s*/.exec(lines[open]!)![0];
  const close = lines.findIndex((l, i) => i > open && /^[}\]][;,]?$/.test(l.slice(base.length)) && l.startsWith(base));
  if (entry === undefined) {
    lines.splice(close, 0, indent(code, `${base}  `));
    return lines.join("\n");
  }
  const from = lines.findIndex((l, i) => i > open && i < close && l.startsWith(`${base}  ${entry}: `));
  if (from < 0) throw new Error(`${name} in ${snippet.path} has no entry ${entry}`);
  const to = lines[from]!.trimEnd().endsWith("},") ? from : lines.findIndex((l, i) => i > from && l === `${base}  },`);
  lines.splice(from, to - from + 1, indent(code, `${base}  `));
  return lines.join("\n");
}

/** The text of a recipe's section of docs/architecture.md, from its heading to the next. */
export function recipeSection(heading: string): string {
  const page = readFileSync(join(REPO, "docs", "architecture.md"), "utf8");
  const start = page.indexOf(`### ${heading}\n`);
  if (start < 0) throw new Error(`docs/architecture.md has no heading '### ${heading}'`);
  const end = page.indexOf("\n#", start + 1);
  return page.slice(start, end < 0 ? undefined : end);
}

const tail = (text: string) => text.split("\n").slice(-30).join("\n");

/**
 * Performs a recipe on a scratch repository in the page's order: each snippet added where it
 * says, each command run with `env` (failing where the page says it fails, with what it says).
 * `after` is called with each command's run, to act on its output. Returns how long each
 * command took, for the test's report.
 */
export function performRecipe(
  repo: ScratchRepo,
  steps: readonly Step[],
  env: Record<string, string>,
  after: (step: Step & { kind: "command" }, run: Run) => void = () => {},
): string[] {
  const took: string[] = [];
  for (const step of steps) {
    if (step.kind === "snippet") {
      repo.write(step.path, applySnippet(repo.read(step.path), step));
      continue;
    }
    const started = performance.now();
    const run = repo.run("sh", ["-c", step.line], env);
    took.push(`${step.line.slice(0, 40)}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    if (step.fails) {
      expect(run.code, `${step.line} should fail\n${tail(run.output)}`).not.toBe(0);
      expect(run.output).toContain(`${step.fails.file}(`);
      expect(run.output).toContain(step.fails.text);
    } else expect(run.code, `${step.line}\n${tail(run.output)}`).toBe(0);
    after(step, run);
  }
  return took;
}
