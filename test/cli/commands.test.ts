import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { COMMANDS, helpText } from "../../src/cli/cli.ts";
import { allFlags, flagTable, flagUsage, parseArgv } from "../../src/cli/command.ts";

describe("commands as data", () => {
  it("the README's flag table is the one the command records make", () => {
    const readme = readFileSync("README.md", "utf8");
    const section = readme.slice(readme.indexOf("### Flags"), readme.indexOf("### Exit codes"));
    const table = section
      .split("\n")
      .filter((line) => line.startsWith("|"))
      .join("\n");
    expect(table).toBe(flagTable(COMMANDS));
  });

  it("has one file per command under src/cli/, and --help lists each command and flag", () => {
    const help = helpText();
    for (const command of COMMANDS) {
      expect(existsSync(`src/cli/${command.name}.ts`)).toBe(true);
      expect(help).toContain(`npm run ${command.script}`);
    }
    for (const [name, flag] of allFlags(COMMANDS)) expect(help).toContain(flagUsage(name, flag));
  });

  it("gives every flag that takes a value an example of its own, which parses", () => {
    for (const [name, flag] of allFlags(COMMANDS)) {
      if (flag.type === "boolean") continue;
      expect(flag.example, name).toMatch(new RegExp(`^--${name} \\S+$`));
      const command = COMMANDS.find((c) => c.flags[name])!;
      expect(() => parseArgv([command.name, ...flag.example!.split(" ")], COMMANDS), name).not.toThrow();
    }
  });

  it("parses each type as its record says, and --help over anything else on the line", () => {
    expect(parseArgv(["seed", "--scale=3", "--seed", "0", "--profile", "dev", "--json"], COMMANDS).values).toEqual({
      scale: 3,
      seed: 0,
      profile: "dev",
      json: true,
    });
    expect(parseArgv(["report", "--last", "5"], COMMANDS)).toMatchObject({
      command: { name: "report" },
      values: { last: 5 },
    });
    expect(parseArgv(["migrate", "--scale", "x", "-h"], COMMANDS).values).toEqual({ help: true });
    expect(parseArgv([], COMMANDS).command.name).toBe("seed");
  });
});
