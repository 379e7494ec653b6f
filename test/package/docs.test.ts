import { spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/cli/cli.ts";
import { parseArgv } from "../../src/cli/command.ts";
import { withDatabase } from "../../src/db/config.ts";
import { resolveLocalRows } from "../../src/plan/localSeed.ts";
import { query, serverConfig, useTestDatabase } from "../helpers/db.ts";

// Every fenced block of the README and of docs/ is code a reader will copy, so each one is run
// or checked here, as the reader would use it:
// - ts: all blocks type-checked in one program, `chatgenius-seed/*` mapped to src/. The blocks of
//   a page (or of one `project=NAME` of it) form a scratch project, each block at the path its
//   first line names (`// test/x.test.ts`); the project's test files run in its own Vitest (with
//   its vitest.config.ts when it has one), its `scripts/*.ts` run with tsx, against databases of
//   this file's own. The package is reached by its name, the build in dist/ (which `npm test`
//   builds first), as the app does.
// - sh: every `npm run` script exists and every flag of a command parses with the CLI's own
//   parser; then the block runs in this checkout against this file's seeded test database.
// - json: parses; a local seed file is checked by the project's own validator.
// A block that cannot run says why in its fence (```sh no-run: the reason) and is counted and
// printed; its commands are still checked.
const root = resolve(".");
const packageJson = JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> };

interface Block {
  readonly page: string;
  /** Line of the opening fence, 1-based. */
  readonly line: number;
  readonly lang: "ts" | "sh" | "json" | "text";
  readonly code: string;
  /** Why it does not run, when it does not. */
  readonly noRun?: string;
  /** Scratch project of a ts block: the page, or the page's `project=NAME`. */
  readonly project: string;
  /** ts: where the block lives in its project. */
  readonly path: string;
}

const LANGS: Record<string, Block["lang"]> = {
  ts: "ts",
  typescript: "ts",
  sh: "sh",
  bash: "sh",
  shell: "sh",
  json: "json",
  text: "text",
};

const pages = [
  "README.md",
  ...readdirSync("docs")
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`),
];

/** The fenced blocks of a page, with the problems of their fences (no language, no reason). */
function blocksOf(page: string, text: string): { blocks: Block[]; problems: string[] } {
  const lines = text.split("\n");
  const blocks: Block[] = [];
  const problems: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, info] = open as unknown as [string, string, string, string];
    const end = lines.findIndex((l, j) => j > i && l.trim() === fence);
    if (end < 0) {
      problems.push(`${page}:${i + 1}: a fence that is never closed`);
      break;
    }
    const code = lines
      .slice(i + 1, end)
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
      .join("\n");
    const at = `${page}:${i + 1}`;
    const word = info.split(/\s+/)[0] ?? "";
    const lang = LANGS[word];
    const noRun = /\bno-run\b:?\s*(.*)$/.exec(info);
    if (!lang) problems.push(`${at}: the fence says '${word}': name its language (${Object.keys(LANGS).join(", ")})`);
    else if (noRun && noRun[1]!.trim().length < 10) problems.push(`${at}: no-run without a reason: 'no-run: why'`);
    else {
      const project = /\bproject=(\S+)/.exec(info)?.[1] ?? "page";
      const named = /^\/\/ ([\w./-]+\.m?ts)\b/.exec(code)?.[1];
      blocks.push({
        page,
        line: i + 1,
        lang,
        code: `${code}\n`,
        noRun: noRun ? noRun[1]!.trim() : undefined,
        project: `${page.replace(/^docs\//, "").replace(/\.md$/, "")}${project === "page" ? "" : `-${project}`}`,
        path: named ?? `block-${i + 1}.ts`,
      });
    }
    i = end;
  }
  return { blocks, problems };
}

const parsed = pages.map((page) => blocksOf(page, readFileSync(page, "utf8")));
const blocks = parsed.flatMap((p) => p.blocks);
const fenceProblems = parsed.flatMap((p) => p.problems);
const where = (b: Block) => `${b.page}:${b.line}`;

/** A shell line's commands (split at &&, ||, ;, |), each as its words, quotes removed. */
function commandsOf(script: string): string[][] {
  const commands: string[][] = [];
  for (const line of script.split("\n")) {
    let words: string[] = [];
    let word: string | null = null;
    let quote: string | null = null;
    const flush = () => {
      if (word !== null) words.push(word);
      word = null;
    };
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (quote) {
        if (c === quote) quote = null;
        else word = (word ?? "") + c;
      } else if (c === "'" || c === '"') {
        quote = c;
        word ??= "";
      } else if (c === "#" && word === null) break;
      else if (/\s/.test(c)) flush();
      else if (c === "&" || c === "|" || c === ";") {
        flush();
        if (words.length) commands.push(words);
        words = [];
        if (line[i + 1] === c) i++;
      } else word = (word ?? "") + c;
    }
    flush();
    if (words.length) commands.push(words);
  }
  return commands.map((words) => words.slice(words.findIndex((w) => !/^[A-Z_][A-Z0-9_]*=/.test(w))));
}

/** What is wrong with one command of a sh block: unknown scripts, flags the CLI refuses. */
function commandProblem(words: string[]): string | null {
  const [program, sub, ...rest] = words;
  const parse = (argv: string[]) => {
    try {
      parseArgv(argv, COMMANDS);
      return null;
    } catch (error) {
      return `${words.join(" ")}: ${(error as Error).message}`;
    }
  };
  if (program === "npm" && (sub === "test" || sub === "ci")) {
    return sub === "test" && !packageJson.scripts.test ? "npm test: package.json has no test script" : null;
  }
  if (program === "npm" && sub === "run") {
    const [script, ...args] = rest;
    const body = packageJson.scripts[script ?? ""];
    if (!body) return `npm run ${script}: package.json has no such script`;
    const separator = args.indexOf("--");
    if (separator !== 0 && args.length > 0)
      return `${words.join(" ")}: npm takes flags before '--' itself; write npm run ${script} -- ${args.join(" ")}`;
    const cli = /^node bin\/chatgenius-seed\.mjs (\w+)$/.exec(body);
    return cli ? parse([cli[1]!, ...args.slice(1)]) : null;
  }
  if (program === "npx" && sub === "chatgenius-seed") return parse(rest);
  if (program === "npx" && sub === "prisma" && rest[0] === "db" && rest[1] === "seed")
    return parse(["seed", ...rest.slice(rest.indexOf("--") + 1 || rest.length)]);
  if (program === "npx" && !existsSync(join("node_modules", ".bin", sub ?? "")))
    return `npx ${sub}: not among this project's dependencies`;
  return null;
}

/** Commands a block may only show, never run here: they reinstall, run the suite, or never end. */
const NEVER_RUN = /^npm (ci|install|test)\b|^npm run (bench|test|db:serve|profile:)|^npx chatgenius-seed\b/;

const tsBlocks = blocks.filter((b) => b.lang === "ts");
const projects = [...new Set(tsBlocks.map((b) => b.project))].map((name) => {
  const own = tsBlocks.filter((b) => b.project === name);
  const tests = own.filter((b) => b.path.endsWith(".test.ts") && !b.noRun);
  const scripts = own.filter((b) => b.path.startsWith("scripts/") && !b.noRun);
  // A block that is neither a test file, nor a script, nor marked no-run is a module of the
  // project's tests (its config, setup, shared rows): it runs only where there are tests.
  const idle = tests.length > 0 ? [] : own.filter((b) => !b.noRun && !scripts.includes(b));
  return { name, blocks: own, tests, scripts, idle };
});
type Project = (typeof projects)[number];
const runnableSh = blocks.filter((b) => b.lang === "sh" && !b.noRun);

// Databases of this file's own: one seeded (a clone of the suite's template) for the commands,
// and a base name under which the examples' test kits build their templates and clones.
const db = useTestDatabase("docs");
// The scripts of the examples write a seed of their own: not into the commands' database.
const scriptsDb = useTestDatabase("docs_scripts");
let scratch: string;
/** Each project's run, started in beforeAll: they run side by side while the commands run. */
const projectRuns = new Map<string, Promise<string[]>>();

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "docs-blocks-"));
  for (const project of projects) {
    const dir = join(scratch, project.name);
    // An app's project: its package.json, its node_modules (this checkout's, and the package
    // itself by its name), its generated Prisma client where this repository keeps it.
    mkdirSync(join(dir, "node_modules"), { recursive: true });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "docs-example", private: true, type: "module" }));
    for (const entry of readdirSync(join(root, "node_modules")))
      if (!entry.startsWith(".")) symlinkSync(join(root, "node_modules", entry), join(dir, "node_modules", entry));
    symlinkSync(root, join(dir, "node_modules", "chatgenius-seed"), "dir");
    mkdirSync(join(dir, "src", "generated"), { recursive: true });
    symlinkSync(join(root, "src", "generated", "prisma"), join(dir, "src", "generated", "prisma"), "dir");
    for (const block of project.blocks) {
      const file = join(dir, block.path);
      if (existsSync(file)) throw new Error(`${where(block)}: ${block.path} is named twice in ${project.name}`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, block.code);
    }
  }
  for (const project of projects) projectRuns.set(project.name, runProject(project));
});

afterAll(async () => {
  // A run that no test awaited (a filtered run) still finishes before its databases go.
  await Promise.allSettled(projectRuns.values());
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  // The templates and clones the examples' test kits made under this file's base name.
  const admin = withDatabase(serverConfig(), "postgres");
  for (const { name } of await query<{ name: string }>(
    admin,
    `SELECT datname AS name FROM pg_database WHERE datname LIKE $1 AND shobj_description(oid, 'pg_database') LIKE 'chatgenius-seed %'`,
    [`${db.database}\\_%`],
  )) {
    await query(admin, `ALTER DATABASE "${name}" WITH IS_TEMPLATE false`);
    await query(admin, `DROP DATABASE "${name}" WITH (FORCE)`);
  }
}, 300_000);

/** The environment of a command run here: this file's databases, nothing of the caller's. */
function envOf(env: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", DATABASE_URL: db.url, ...env };
}

/** The last lines of a command's output, for a failure message. */
const tail = (output: string) => output.split("\n").slice(-40).join("\n");

/** Runs a command, resolving (never rejecting) with its exit code and output. */
function runAsync(command: string, args: string[], cwd: string, env: Record<string, string>) {
  return new Promise<{ code: number | null; output: string }>((done) => {
    const child = spawn(command, args, { cwd, env: envOf(env) });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill("SIGKILL"), 240_000);
    child.on("error", (error) => (output += String(error)));
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, output });
    });
  });
}

/** A project's scripts (tsx), then its tests (its own Vitest): the problems found, or none. */
async function runProject(project: Project): Promise<string[]> {
  const dir = join(scratch, project.name);
  const problems: string[] = [];
  for (const script of project.scripts) {
    const result = await runAsync(process.execPath, ["--import", "tsx", script.path], dir, {
      DATABASE_URL: scriptsDb.url,
    });
    if (result.code !== 0)
      problems.push(`${where(script)} ${script.path} exited ${result.code}:\n${tail(result.output)}`);
  }
  if (project.tests.length > 0) {
    // The examples' test kits work under this file's base name (their templates, their clones).
    const base = withDatabase(serverConfig(), `${db.database}_${project.name.replace(/\W/g, "_")}`).url;
    const result = await runAsync(process.execPath, [join(root, "node_modules", "vitest", "vitest.mjs"), "run"], dir, {
      TEST_DATABASE_URL: base,
      DATABASE_URL: base,
      // The kit's upkeep done before Vitest exits, not left to a detached process; the examples
      // need only the canonical rows.
      CHATGENIUS_SEED_POOL_BACKGROUND: "0",
      CHATGENIUS_SEED_PROFILE: "minimal",
    });
    const passed = new RegExp(`Test Files\\s+${project.tests.length} passed`).test(result.output);
    if (result.code !== 0 || !passed)
      problems.push(`${project.tests.map(where).join(", ")} exited ${result.code}:\n${tail(result.output)}`);
  }
  return problems;
}

describe("the code blocks of the README and docs/", () => {
  it("name their language, and say why when they do not run", () => {
    expect(fenceProblems).toEqual([]);
    expect(tsBlocks.length).toBeGreaterThan(0);
  });

  it("type-check: every TypeScript block against the package's sources", () => {
    const config = ts.getParsedCommandLineOfConfigFile("tsconfig.json", {}, ts.sys as never)!;
    const entries = {
      "chatgenius-seed": "src/index.ts",
      "chatgenius-seed/scenario": "src/scenario/index.ts",
      "chatgenius-seed/testing": "src/testing/index.ts",
      "chatgenius-seed/testing/global-setup": "src/testing/globalSetup.ts",
      "chatgenius-seed/testing/setup": "src/testing/setup.ts",
    };
    const files = new Map(tsBlocks.map((b) => [join(scratch, b.project, b.path), b]));
    const program = ts.createProgram([...files.keys()], {
      ...config.options,
      paths: Object.fromEntries(Object.entries(entries).map(([name, path]) => [name, [join(root, path)]])),
      typeRoots: [join(root, "node_modules", "@types")],
    });
    // Only the blocks' own diagnostics: the sources they import are type-checked by `npm run typecheck`.
    const errors = [
      ...program.getOptionsDiagnostics(),
      ...program.getGlobalDiagnostics(),
      ...[...files.keys()].flatMap((file) => {
        const source = program.getSourceFile(file)!;
        return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)];
      }),
    ].map((d) => {
      const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      if (!d.file || d.start === undefined) return message;
      const block = files.get(resolve(d.file.fileName))!;
      const { line } = d.file.getLineAndCharacterOfPosition(d.start);
      return `${block.page}:${block.line + 1 + line} (${block.path}): ${message}`;
    });
    expect(errors).toEqual([]);
  }, 120_000);

  it.each(blocks.filter((b) => b.lang === "sh").map((b) => [where(b), b] as const))(
    "check: the commands of %s exist and their flags parse",
    (_, block) => {
      const commands = commandsOf(block.code);
      expect(commands.length).toBeGreaterThan(0);
      expect(commands.map(commandProblem).filter(Boolean)).toEqual([]);
      if (!block.noRun)
        expect(
          commands.map((c) => c.join(" ")).filter((c) => NEVER_RUN.test(c)),
          "mark this block no-run, with the reason",
        ).toEqual([]);
    },
  );

  it.each(runnableSh.map((b) => [where(b), b] as const))(
    "run: %s, against a seeded test database",
    (_, block) => {
      const result = spawnSync("bash", ["-e", "-o", "pipefail", "-c", block.code], {
        cwd: root,
        encoding: "utf8",
        timeout: 120_000,
        env: envOf({}),
      });
      expect(result.status, `${block.code}\n${tail(`${result.stdout}\n${result.stderr}`)}`).toBe(0);
    },
    120_000,
  );

  it.each(blocks.filter((b) => b.lang === "json").map((b) => [where(b), b] as const))(
    "check: %s parses, and a local seed file passes the project's validator",
    (_, block) => {
      const data = JSON.parse(block.code) as { $schema?: string; users?: unknown };
      if (data.users === undefined && !data.$schema?.includes("seed.local")) return;
      const file = join(scratch, `seed-local-${block.line}.json`);
      writeFileSync(file, block.code);
      expect(resolveLocalRows({ dataFile: file }, {}, { profile: "dev" })?.rows.User.length).toBeGreaterThan(0);
    },
  );

  // Last: the projects have run beside the commands above since beforeAll.
  it.each(projects.map((p) => [p.name, p] as const))(
    "run: the TypeScript of %s",
    async (name, project) => {
      expect(
        project.idle.map(where),
        "a ts block is a test file, a scripts/ file, a module of a page's tests or no-run",
      ).toEqual([]);
      expect(await projectRuns.get(name)).toEqual([]);
    },
    300_000,
  );

  it("count and print the blocks that do not run", () => {
    const notRun = blocks.filter((b) => b.noRun);
    const count = (lang: Block["lang"]) => blocks.filter((b) => b.lang === lang).length;
    console.log(
      [
        `${blocks.length} code blocks in ${pages.length} pages: ${count("ts")} ts (${projects.length} projects), ${count("sh")} sh (${runnableSh.length} run), ${count("json")} json, ${count("text")} text`,
        `${notRun.length} not run:`,
        ...notRun.map((b) => `  ${where(b)} (${b.lang}): ${b.noRun}`),
      ].join("\n"),
    );
    // Every block that does not run is one of these, each with its reason.
    expect(notRun.every((b) => b.noRun!.length >= 10)).toBe(true);
  });
});

describe("the README's map and the links of the README and docs/", () => {
  it("names every page of docs/ in the README's map", () => {
    const readme = readFileSync("README.md", "utf8");
    const map = readme.slice(readme.indexOf("## Map"), readme.indexOf("\n## ", readme.indexOf("## Map") + 1));
    expect(pages.filter((page) => page !== "README.md" && !map.includes(page))).toEqual([]);
  });

  /** GitHub's anchor for a heading. */
  const slug = (heading: string) =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
  const anchors = (page: string) =>
    new Set(
      readFileSync(page, "utf8")
        .split("\n")
        .filter((l) => /^#{1,6} /.test(l))
        .map((l) => slug(l.replace(/^#+ /, ""))),
    );

  it("point at files and headings that exist", () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(page, "utf8").replace(/```[\s\S]*?```/g, "");
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        const [file, anchor] = target!.split("#") as [string, string | undefined];
        const path = file ? relative(root, resolve(dirname(page), file)) : page;
        if (!existsSync(path)) broken.push(`${page}: ${target} (no such file)`);
        else if (anchor && path.endsWith(".md") && !anchors(path).has(anchor))
          broken.push(`${page}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
