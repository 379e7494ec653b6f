import { describe, expect, it } from "vitest";
import { COMMANDS } from "../../src/cli/cli.ts";
import { type AnyCommand, allFlags, type Flag, flagUsage, parseArgv, usageLine } from "../../src/cli/command.ts";

// The command line as the CLI reads it, before anything runs: the command, each flag's value,
// and the one line every mistake gets. test/cli/cli.test.ts runs the same lines through the CLI.
const parse = (...argv: string[]) => {
  const { command, values } = parseArgv(argv, COMMANDS);
  return { command: command.name, values };
};
const refusal = (...argv: string[]) => {
  try {
    parseArgv(argv, COMMANDS);
  } catch (error) {
    expect(error).toMatchObject({ code: "INVALID_USAGE" });
    return (error as Error).message;
  }
  throw new Error(`accepted ${argv.join(" ")}`);
};

describe("parseArgv", () => {
  it("runs the first command, seed, when none is named", () => {
    expect(parse()).toEqual({ command: "seed", values: {} });
    expect(parse("--json")).toEqual({ command: "seed", values: { json: true } });
  });

  it("reads every command by name", () => {
    for (const command of COMMANDS) expect(parse(command.name).command).toBe(command.name);
  });

  it("reads a value after the flag or after '=', trimmed when it is a number", () => {
    expect(parse("seed", "--scale", "2", "--seed=42", "--profile", "minimal")).toEqual({
      command: "seed",
      values: { scale: 2, seed: 42, profile: "minimal" },
    });
    expect(parse("seed", "--scale= 3 ").values).toEqual({ scale: 3 });
    expect(parse("seed", "--data=a=b.json").values).toEqual({ data: "a=b.json" });
    expect(parse("seed", "--data", "-1.json").values).toEqual({ data: "-1.json" });
    expect(parse("report", "--last", "100000").values).toEqual({ last: 100000 });
    expect(parse("seed", "--scale", "1000", "--seed", "0").values).toEqual({ scale: 1000, seed: 0 });
    expect(parse("seed", "--seed", "9007199254740991").values).toEqual({ seed: Number.MAX_SAFE_INTEGER });
  });

  it("takes boolean flags alone, the short -h too", () => {
    expect(parse("seed", "--dry-run", "--verbose", "--allow-remote").values).toEqual({
      "dry-run": true,
      verbose: true,
      "allow-remote": true,
    });
    expect(parse("-h")).toEqual({ command: "seed", values: { help: true } });
  });

  it("answers --help whatever else is wrong with the line after the flags are read", () => {
    expect(parse("report", "--scale", "0", "--help")).toEqual({ command: "report", values: { help: true } });
    expect(parse("migrate", "--help", "--profile", "nope")).toEqual({ command: "migrate", values: { help: true } });
  });

  it.each([
    [["seed", "--bogus"], "unknown flag '--bogus': run with --help to see the flags"],
    [["seed", "-x"], "unknown flag '-x': run with --help to see the flags"],
    [["seed", "-x--json"], "unknown flag '-x--json': run with --help to see the flags"],
    [["sow"], "unknown command 'sow': use one of seed, migrate, reset, report, verify, serve (see --help)"],
    [
      ["seed", "migrate"],
      "unknown command 'seed migrate': use one of seed, migrate, reset, report, verify, serve (see --help)",
    ],
    [["seed", "-"], "unknown command 'seed -': use one of seed, migrate, reset, report, verify, serve (see --help)"],
    [
      ["seed", "--", "--scale"],
      "unknown command 'seed --scale': use one of seed, migrate, reset, report, verify, serve (see --help)",
    ],
    [["seed", "--json=1"], "--json takes no value, got '1': write --json alone"],
    [["seed", "--json="], "--json takes no value, got '': write --json alone"],
    [["seed", "--scale"], "flag '--scale' needs a value, e.g. --scale 2: run with --help to see the flags"],
    [["seed", "--scale", "--json"], "flag '--scale' needs a value, e.g. --scale 2: run with --help to see the flags"],
    [["seed", "--scale", "--2"], "flag '--scale' needs a value, e.g. --scale 2: run with --help to see the flags"],
    [["report", "--scale", "2"], "--scale does not apply to 'report': run with --help to see its flags"],
    [["seed", "--profile", "huge"], "--profile must be one of minimal, dev, edge, got 'huge': e.g. --profile minimal"],
    [["seed", "--scale", "0"], "--scale must be a whole number from 1 to 1000, got '0': e.g. --scale 2"],
    [["seed", "--scale", "1001"], "--scale must be a whole number from 1 to 1000, got '1001': e.g. --scale 2"],
    [["seed", "--scale", "2.5"], "--scale must be a whole number from 1 to 1000, got '2.5': e.g. --scale 2"],
    [["seed", "--scale=1e2"], "--scale must be a whole number from 1 to 1000, got '1e2': e.g. --scale 2"],
    [["seed", "--seed", "-1"], "--seed must be a whole number ≥ 0, got '-1': e.g. --seed 42"],
    [["seed", "--seed", "lots"], "--seed must be a whole number ≥ 0, got 'lots': e.g. --seed 42"],
    [["seed", "--seed", ""], "--seed must be a whole number ≥ 0, got '': e.g. --seed 42"],
    [["seed", "--seed", "1e20"], "--seed must be a whole number ≥ 0, got '1e20': e.g. --seed 42"],
    [
      ["seed", "--seed", "9007199254740993"],
      "--seed must be a whole number ≥ 0 and at most 9007199254740991, got '9007199254740993': e.g. --seed 42",
    ],
    [
      ["seed", "--seed= 9007199254740993"],
      "--seed must be a whole number ≥ 0 and at most 9007199254740991, got ' 9007199254740993': e.g. --seed 42",
    ],
    [["serve", "--port", "65536"], "--port must be a whole number from 1 to 65535, got '65536': e.g. --port 5499"],
    [["report", "--last", "0"], "--last must be a whole number from 1 to 100000, got '0': e.g. --last 50"],
  ])("refuses %j with one line that says how to fix it", (argv, message) => {
    expect(refusal(...argv)).toBe(message);
  });
});

describe("parseArgv, with flag records the CLI has none of yet", () => {
  // Every record field is optional to a command: no example, no max, a short name for a valued flag.
  const tool: AnyCommand = {
    name: "tool",
    script: "tool",
    description: "a tool",
    flags: {
      count: { type: "integer", description: "how many", value: "N", min: 2 },
      limit: { type: "integer", description: "at most", min: 3, max: Number.MAX_SAFE_INTEGER, example: "--limit 5" },
      level: { type: "integer", description: "how deep", short: "n", example: "--level 1" },
      mode: { type: "choice", description: "how", choices: ["a", "b"] },
    },
    run: async () => 0,
  };
  const message = (...argv: string[]) => {
    try {
      parseArgv(argv, [tool]);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error(`accepted ${argv.join(" ")}`);
  };

  it("reads a valued flag by its short name, and an integer without a largest value", () => {
    expect(parseArgv(["-n", "4", "--count", "99999999999"], [tool]).values).toEqual({ level: 4, count: 99999999999 });
  });

  it("says the range and gives no example where the record has none", () => {
    expect(message("--count", "1")).toBe("--count must be a whole number ≥ 2, got '1'");
    expect(message("--count")).toBe("flag '--count' needs a value: run with --help to see the flags");
    expect(message("--mode", "c")).toBe("--mode must be one of a, b, got 'c'");
    expect(message("--limit", "2")).toBe("--limit must be a whole number ≥ 3, got '2': e.g. --limit 5");
    expect(message("--level", "-1")).toBe("--level must be a whole number ≥ 0, got '-1': e.g. --level 1");
  });

  it("lists a flag two commands declare with the first one's record", () => {
    const other = {
      ...tool,
      name: "other",
      flags: { count: { type: "integer", description: "other count" } },
    } as const;
    expect(allFlags([tool, other]).find(([name]) => name === "count")?.[1].description).toBe("how many");
  });
});

describe("the flags as --help and the README write them", () => {
  it("writes each flag's usage from its record", () => {
    const flags = Object.fromEntries(allFlags(COMMANDS));
    expect(flagUsage("scale", flags.scale!)).toBe("--scale N");
    expect(flagUsage("profile", flags.profile!)).toBe("--profile minimal|dev|edge");
    expect(flagUsage("help", flags.help!)).toBe("-h, --help");
    expect(flagUsage("json", flags.json!)).toBe("--json");
    expect(flagUsage("data", flags.data!)).toBe("--data FILE");
    expect(flagUsage("name", { type: "string", description: "a name" } as Flag)).toBe("--name VALUE");
  });

  it("lists every flag once, in the order the commands name them", () => {
    const names = allFlags(COMMANDS).map(([name]) => name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.slice(0, 3)).toEqual(Object.keys(COMMANDS[0]!.flags).slice(0, 3));
    for (const command of COMMANDS) for (const name of Object.keys(command.flags)) expect(names).toContain(name);
  });

  it("writes a command's usage line without --help, padded to the widest script", () => {
    const report = COMMANDS.find((c) => c.name === "report")!;
    const line = usageLine(report, 12);
    expect(line).toMatch(/^ {2}npm run db:report {4}-- \[/);
    expect(line).not.toContain("--help");
    expect(line).toContain("[--last N]");
    // One space between the flags.
    expect(line.split(" -- ")[1]).toMatch(/^\[[^\]]+\]( \[[^\]]+\])+$/);
    expect(line).toBe(line.trimEnd());
  });
});
