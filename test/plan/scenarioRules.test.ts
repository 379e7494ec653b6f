import { describe, expect, it } from "vitest";
import { buildPlan, emptyRows } from "../../src/plan/plan.ts";
import { checkScenarioRows } from "../../src/scenario/check.ts";
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

  it("counts no more when there are three", () => {
    const s = scenario();
    const secret = s.channel({ traits: ["private"] });
    for (let i = 0; i < 3; i++) s.message({ channel: secret, author: s.user() });
    const message = refusal(() => s.plan());
    expect(message.match(/author-is-member \(/g)).toHaveLength(3);
    expect(message).toMatch(
      /\); fix the override, or let a negative test break it with scenario\(\{ allow: \["author-is-member"\] \}\)\. Nothing was written$/,
    );
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

describe("the scenario's rule filter over the existing rows it touches", () => {
  // An existing DM, its two members and their users, as a scenario reads them from the database;
  // and two other users with a membership each, to join it.
  const existingDm = () => {
    const dev = buildPlan({ profile: "dev" }).rows;
    const dm = dev.Channel.find((c) => c.type === "dm")!;
    const members = dev.ChannelMember.filter((m) => m.channelId === dm.id);
    const inDm = new Set(members.map((m) => m.userId));
    const others = dev.User.filter((u) => !inDm.has(u.id)).slice(0, 2);
    const joins = others.map((u) => ({
      ...dev.ChannelMember.find((m) => m.userId === u.id && m.role === "member")!,
      channelId: dm.id,
    }));
    const context = {
      ...emptyRows(),
      Channel: [dm],
      ChannelMember: members,
      User: dev.User.filter((u) => inDm.has(u.id)),
    };
    return { dm, context, others, joins, contextPlaces: new Map([[dm.id, `channel "${dm.name}"`]]) };
  };
  const placesOf = (rows: { id: string }[][]) =>
    new Map(
      rows.flatMap((list, t) => list.map((row, i) => [row.id, `${["users", "channel_members"][t]}[${i}]`] as const)),
    );

  it("names an existing row the scenario's rows break, with the rows that reference it", () => {
    const { dm, context, others, joins, contextPlaces } = existingDm();
    const rows = { ...emptyRows(), User: others, ChannelMember: joins };
    const input = {
      rows,
      contextRows: context,
      places: placesOf([others, joins]),
      contextPlaces,
      allow: new Set<string>(),
    };
    expect(refusal(() => checkScenarioRows(input))).toBe(
      `scenario: channel "${dm.name}" (existing) with channel_members[0], channel_members[1]: dm-two-members (A dm channel has exactly two members); fix the override, or let a negative test break it with scenario({ allow: ["dm-two-members"] }). Nothing was written`,
    );
  });

  it("leaves to the existing rows what they break on their own", () => {
    const { context, others, joins, contextPlaces } = existingDm();
    const broken = {
      ...context,
      ChannelMember: [...context.ChannelMember, joins[0]!],
      User: [...context.User, others[0]!],
    };
    const rows = { ...emptyRows(), User: [others[1]!] };
    const input = {
      rows,
      contextRows: broken,
      places: placesOf([[others[1]!]]),
      contextPlaces,
      allow: new Set<string>(),
    };
    expect(() => checkScenarioRows(input)).not.toThrow();
  });
});
