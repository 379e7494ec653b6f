import { SeedError } from "../core/errors.ts";
import type { CliContext } from "./context.ts";

/**
 * One flag, as data: its type, range, default and an example of its own. Parsing, `--help`,
 * the error lines and the README's flag table are all made from these records.
 */
export interface Flag {
  readonly type: "boolean" | "string" | "integer" | "choice";
  /** One line for `--help` and the README's table. */
  readonly description: string;
  /** The value's placeholder in `--help` (N, FILE, NAME). */
  readonly value?: string;
  /** The default as shown (the code's default is decided where the value is used). */
  readonly default?: string;
  /** integer: the smallest and largest value taken. */
  readonly min?: number;
  readonly max?: number;
  /** choice: the values taken. */
  readonly choices?: readonly string[];
  /** A use of this flag, shown in its error lines, e.g. `--scale 2`. */
  readonly example?: string;
  readonly short?: string;
}

export type Flags = Readonly<Record<string, Flag>>;

/**
 * A flag record with its literal type kept (so that its parsed value is typed).
 *
 * @example
 * export const LAST = flag({ type: "integer", value: "N", min: 1, description: "runs to list", example: "--last 50" });
 */
export function flag<const F extends Flag>(record: F): F {
  return record;
}

/** What a flag parses to: booleans to true, integers to numbers, the rest to strings. */
export type FlagValue<F extends Flag> = F["type"] extends "boolean"
  ? boolean
  : F["type"] extends "integer"
    ? number
    : string;
export type Values<F extends Flags> = { -readonly [K in keyof F]?: FlagValue<F[K]> };

/** One command, as data (after citty's defineCommand): its name, description, flags and run. */
export interface Command<F extends Flags = Flags> {
  readonly name: string;
  /** The npm script that runs it (`db:seed`), for `--help`'s usage lines. */
  readonly script: string;
  readonly description: string;
  readonly flags: F;
  run(values: Values<F>, context: CliContext): Promise<number>;
}

/** A command of any flags, as the CLI lists them. */
export interface AnyCommand {
  readonly name: string;
  readonly script: string;
  readonly description: string;
  readonly flags: Flags;
  run(values: Record<string, string | number | boolean>, context: CliContext): Promise<number>;
}

/**
 * Declares a command; the identity, for the types (as citty's defineCommand).
 *
 * @example
 * export default defineCommand({ name: "report", script: "db:report", description: "run history", flags: { last: LAST }, run: async (values, ctx) => 0 });
 */
export function defineCommand<F extends Flags>(command: Command<F>): Command<F> {
  return command;
}

const hint = "run with --help to see the flags";

/**
 * A flag as `--help` and the README write it.
 *
 * @example
 * flagUsage("scale", SCALE); // "--scale N"
 */
export function flagUsage(name: string, flag: Flag): string {
  const value =
    flag.type === "boolean" ? "" : ` ${flag.type === "choice" ? flag.choices!.join("|") : (flag.value ?? "VALUE")}`;
  return `${flag.short ? `-${flag.short}, ` : ""}--${name}${value}`;
}

/** The error line of a bad value: what it must be, the value exactly as typed, the flag's own example. */
function badValue(name: string, flag: Flag, raw: string): SeedError {
  const past = flag.max !== undefined && /^\d+$/.test(raw.trim()) && Number(raw.trim()) > flag.max;
  const range =
    flag.max === undefined || flag.max === Number.MAX_SAFE_INTEGER
      ? `≥ ${flag.min ?? 0}${past ? ` and at most ${flag.max}` : ""}`
      : `from ${flag.min ?? 0} to ${flag.max}`;
  // Only integers and choices can be bad (convert takes any string as it is).
  const must = flag.type === "integer" ? `a whole number ${range}` : `one of ${flag.choices!.join(", ")}`;
  return new SeedError(
    "INVALID_USAGE",
    `--${name} must be ${must}, got '${raw}'${flag.example ? `: e.g. ${flag.example}` : ""}`,
  );
}

/** A flag's value from its text, checked against the flag's type and range. */
function convert(name: string, flag: Flag, raw: string): string | number {
  if (flag.type === "choice") {
    if (!flag.choices!.includes(raw)) throw badValue(name, flag, raw);
    return raw;
  }
  if (flag.type !== "integer") return raw;
  const text = raw.trim();
  const n = Number(text);
  // The check is on the text as typed: a number past 2^53 would otherwise be echoed rounded.
  if (
    !/^\d+$/.test(text) ||
    !Number.isSafeInteger(n) ||
    n < (flag.min ?? 0) ||
    (flag.max !== undefined && n > flag.max)
  )
    throw badValue(name, flag, raw);
  return n;
}

/**
 * Parses argv against the commands: the command (default: the first), then its flags,
 * `--name value`, `--name=value` or `-h`. A value may start with `-` (`--seed -1` is a bad
 * seed, not a missing one). Every mistake is one SeedError INVALID_USAGE naming the flag.
 *
 * @example
 * parseArgv(["seed", "--scale", "2"], COMMANDS); // { command: seed, values: { scale: 2 } }
 */
export function parseArgv(
  argv: readonly string[],
  commands: readonly AnyCommand[],
): { command: AnyCommand; values: Record<string, string | number | boolean> } {
  const positionals: string[] = [];
  const given: [name: string, raw: string | undefined, shown: string][] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const long = /^--([^=]+)(?:=(.*))?$/s.exec(arg);
    const name = long
      ? long[1]!
      : [...commands.flatMap((c) => Object.entries(c.flags))].find(([, f]) => f.short === arg.slice(1))?.[0];
    if (!name) throw new SeedError("INVALID_USAGE", `unknown flag '${arg}': ${hint}`);
    const flag = commands.map((c) => c.flags[name]).find(Boolean);
    if (!flag) throw new SeedError("INVALID_USAGE", `unknown flag '--${name}': ${hint}`);
    if (flag.type === "boolean") {
      if (long?.[2] !== undefined)
        throw new SeedError("INVALID_USAGE", `--${name} takes no value, got '${long[2]}': write --${name} alone`);
      given.push([name, undefined, arg]);
      continue;
    }
    let raw = long?.[2];
    if (raw === undefined) {
      const next = argv[i + 1];
      // A number with a minus sign is a (bad) value; another flag means the value is missing.
      if (next === undefined || (next.startsWith("-") && !/^-\d/.test(next))) {
        throw new SeedError(
          "INVALID_USAGE",
          `flag '--${name}' needs a value${flag.example ? `, e.g. ${flag.example}` : ""}: ${hint}`,
        );
      }
      raw = next;
      i += 1;
    }
    given.push([name, raw, arg]);
  }
  const name = positionals[0] ?? commands[0]!.name;
  const command = commands.find((c) => c.name === name);
  if (!command || positionals.length > 1) {
    throw new SeedError(
      "INVALID_USAGE",
      `unknown command '${positionals.join(" ")}': use one of ${commands.map((c) => c.name).join(", ")} (see --help)`,
    );
  }
  const values: Record<string, string | number | boolean> = {};
  // --help answers whatever else is wrong with the line.
  if (given.some(([n]) => n === "help")) return { command, values: { help: true } };
  for (const [flagName, raw] of given) {
    const flag = command.flags[flagName];
    if (!flag)
      throw new SeedError(
        "INVALID_USAGE",
        `--${flagName} does not apply to '${command.name}': run with --help to see its flags`,
      );
    values[flagName] = raw === undefined ? true : convert(flagName, flag, raw);
  }
  return { command, values };
}

/**
 * Every flag of the commands once, in the order the commands name them.
 *
 * @example
 * allFlags(COMMANDS).map(([name]) => name); // ["profile", "scale", …]
 */
export function allFlags(commands: readonly AnyCommand[]): [string, Flag][] {
  const seen = new Map<string, Flag>();
  for (const command of commands)
    for (const [name, flag] of Object.entries(command.flags)) if (!seen.has(name)) seen.set(name, flag);
  return [...seen];
}

/**
 * The usage line of a command in `--help`.
 *
 * @example
 * usageLine(report, 10); // "  npm run db:report  -- [--last N] [--json] …"
 */
export function usageLine(command: AnyCommand, width: number): string {
  const flags = Object.entries(command.flags)
    .filter(([name]) => name !== "help")
    .map(([name, flag]) => `[${flagUsage(name, flag)}]`)
    .join(" ");
  return `  npm run ${command.script.padEnd(width)} -- ${flags}`.trimEnd();
}

/**
 * The README's flag table, made from the records (a test holds the README to it).
 *
 * @example
 * flagTable(COMMANDS).split("\n")[0]; // "| flag | meaning | default | example | commands |"
 */
export function flagTable(commands: readonly AnyCommand[]): string {
  const escapeCell = (text: string) => text.replace(/\|/g, "\\|");
  const rows = allFlags(commands).map(([name, flag]) => {
    const takers = commands.filter((c) => c.flags[name]).map((c) => c.name);
    const which = takers.length === commands.length ? "all" : takers.join(", ");
    return `| \`${escapeCell(flagUsage(name, flag))}\` | ${escapeCell(flag.description)} | ${flag.default ? escapeCell(flag.default) : ""} | ${flag.example ? `\`${flag.example}\`` : ""} | ${which} |`;
  });
  return ["| flag | meaning | default | example | commands |", "|---|---|---|---|---|", ...rows].join("\n");
}
