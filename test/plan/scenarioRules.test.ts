import { describe, expect, it } from "vitest";
import { scenario } from "../../src/scenario/index.ts";

// The scenario's rule filter (the planner's last step, before anything is written): which
// violations of its own rows it refuses, how it words them, and what `allow` lets through.
// Planned without a database (no existing rows named). test/scenario/ covers the rest.
const refusal = (plan: () => unknown): string => {
  try {
    plan();
  } catch (error) {
    expect(error).toMatchObject({ name: "SeedError", code: "INVALID_SCENARIO" });
    return (error as Error).message;
  }
  throw new Error("planned without a refusal");
};
const AUTHOR = "author-is-member (A message's author is a member of its channel)";

describe("the scenario's rule filter", () => {
  it("names the row's place, the rule and its text once, and says how to allow it", () => {
    const s = scenario();
    s.message({ channel: s.channel({ traits: ["private"] }), author: s.user() });
    expect(refusal(() => s.plan())).toMatch(
      new RegExp(
        `^scenario: messages\\[0\\][^;]*: ${AUTHOR.replace(/[()]/g, "\\$&")}; fix the override, or let a negative test break it with scenario\\(\\{ allow: \\["author-is-member"\\] \\}\\)\\. Nothing was written$`,
      ),
    );
  });

  it("lets through what allow names, and only that", () => {
    const build = (allow: string[]) => {
      const s = scenario({ allow });
      s.message({ channel: s.channel({ traits: ["private"] }), author: s.user() });
      return s;
    };
    expect(() => build(["author-is-member"]).plan()).not.toThrow();
    expect(refusal(() => build(["channel-name"]).plan())).toContain("author-is-member");
  });

  it("shows three rows and counts the rest, and names every rule broken in the hint", () => {
    const s = scenario();
    const secret = s.channel({ traits: ["private"] });
    for (let i = 0; i < 4; i++) s.message({ channel: secret, author: s.user() });
    s.channel({ name: "Release Train" });
    const message = refusal(() => s.plan());
    expect(message.match(/author-is-member \(/g)).toHaveLength(3);
    expect(message).toMatch(
      / and 2 more; fix the override, or let a negative test break it with scenario\(\{ allow: \["[a-z-]+", "[a-z-]+"\] \}\)\. Nothing was written$/,
    );
    expect(message).toContain('"author-is-member"');
    expect(message).toContain('"channel-name"');
  });

  it("offers no allow for what no rule names (a unique key)", () => {
    const s = scenario();
    s.channel();
    s.user({ email: "test1@example.com" });
    expect(refusal(() => s.plan())).toBe(
      "scenario: users[0]: unique (duplicate email); users[0]: email-unique-ci (email is not unique case-insensitively); fix the override. Nothing was written",
    );
  });

  it("does not hold a time after the fixture window against a scenario's row", () => {
    const s = scenario();
    s.message({ createdAt: new Date("2031-01-01T00:00:00Z") });
    expect(() => s.plan()).not.toThrow();
  });
});
