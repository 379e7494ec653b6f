import { describe, expect, it } from "vitest";
import { buildPlan } from "../../src/plan/plan.ts";
import { checkRules, RULES } from "../../src/plan/rules.ts";
import { LEFT_MEMBER_VIOLATIONS, VIOLATIONS } from "../helpers/violations.ts";

const dev = buildPlan({ profile: "dev" }).rows;

describe("the application rules' row checks", () => {
  it("have one planted violation each (a new rule without one fails here)", () => {
    expect(Object.keys(VIOLATIONS).sort()).toEqual(RULES.map((r) => r.id).sort());
  });

  it("find nothing in the dev plan", () => {
    expect(checkRules(dev)).toEqual([]);
  });

  it.each(RULES.map((r) => [r.id, r] as const))("%s names exactly the one row that breaks it", (id, rule) => {
    const rows = structuredClone(dev);
    const rowId = VIOLATIONS[id]!.rows(rows);
    expect(checkRules(rows)).toEqual([{ rule: id, table: rule.table, rowId, detail: rule.text }]);
  });

  it.each(Object.keys(LEFT_MEMBER_VIOLATIONS).map((id) => [id, RULES.find((r) => r.id === id)!] as const))(
    "%s names exactly the one row that breaks it through a member who left",
    (id, rule) => {
      const rows = structuredClone(dev);
      const rowId = LEFT_MEMBER_VIOLATIONS[id]!.rows(rows);
      expect(checkRules(rows)).toEqual([{ rule: id, table: rule.table, rowId, detail: rule.text }]);
    },
  );
});

describe("the row checks on rows the dev plan does not have", () => {
  const clone = () => structuredClone(dev);
  const ids = (rows: typeof dev) => checkRules(rows).map((v) => `${v.rule} ${v.rowId}`);
  const outsiderOf = (rows: typeof dev, channelId: string) => {
    const members = new Set(rows.ChannelMember.filter((m) => m.channelId === channelId).map((m) => m.userId));
    return rows.User.find((u) => !members.has(u.id!))?.id;
  };

  it("let anyone react, upload and read in a public channel, member or not", () => {
    const rows = clone();
    // Public channels some user is not a member of (everyone is in #general).
    const publicIds = new Set(
      rows.Channel.filter((c) => c.type === "public" && outsiderOf(rows, c.id!)).map((c) => c.id),
    );
    const channelOf = (messageId: string) => rows.Message.find((m) => m.id === messageId)!.channelId;
    const reaction = rows.Reaction.find((r) => publicIds.has(channelOf(r.messageId)))!;
    reaction.userId = outsiderOf(rows, channelOf(reaction.messageId))!;
    const file = rows.File.find((f) => publicIds.has(channelOf(f.messageId)))!;
    file.userId = outsiderOf(rows, channelOf(file.messageId))!;
    const read = rows.MessageRead.find((r) => publicIds.has(r.channelId))!;
    read.userId = outsiderOf(rows, read.channelId)!;
    expect(checkRules(rows)).toEqual([]);
  });

  it("allow a second owner in a public channel (only a DM's is limited)", () => {
    const rows = clone();
    const channel = rows.Channel.find((c) => c.type === "public")!;
    rows.ChannelMember.find((m) => m.channelId === channel.id && m.userId !== channel.createdBy)!.role = "owner";
    expect(checkRules(rows)).toEqual([]);
  });

  it("do not count a soft-deleted membership", () => {
    const rows = clone();
    const dm = rows.Channel.find((c) => c.type === "dm")!;
    const other = rows.ChannelMember.find((m) => m.channelId === dm.id && m.userId !== dm.createdBy)!;
    other.deletedAt = new Date("2025-01-01T00:00:00Z");
    expect(ids(rows)).toContain(`dm-two-members ${dm.id}`);
  });

  it("take a reference to a row the plan does not hold for a violation, never a crash", () => {
    const rows = clone();
    const missing = "01JZZZZZZZZZZZZZZZZZZZZZZX";
    // A DM without members, a membership, message and read marker in a channel that does not
    // exist, a reply to a root that does not exist, a muted channel that does not exist.
    const dm = rows.Channel.find((c) => c.type === "dm")!;
    rows.ChannelMember = rows.ChannelMember.filter((m) => m.channelId !== dm.id);
    for (const m of rows.Message) if (m.channelId === dm.id) m.channelId = missing;
    for (const r of rows.MessageRead) if (r.channelId === dm.id) r.channelId = missing;
    rows.UserSettings = rows.UserSettings.filter(
      (s) => !((s.mutedChannels as string[] | undefined) ?? []).includes(dm.id!),
    );
    const orphan = rows.ChannelMember[0]!;
    orphan.channelId = "01JZZZZZZZZZZZZZZZZZZZZZZW";
    orphan.role = "owner";
    const reply = rows.Message.find((m) => m.threadId && m.channelId !== missing)!;
    reply.threadId = missing;
    const settings = rows.UserSettings[0]!;
    settings.mutedChannels = [missing];
    const found = ids(rows);
    expect(found).toEqual(
      expect.arrayContaining([
        `dm-two-members ${dm.id}`,
        `creator-is-owner ${dm.id}`,
        `reply-same-channel ${reply.id}`,
        `muted-channels-joined ${settings.id}`,
      ]),
    );
    const inMissing = rows.Message.filter((m) => m.channelId === missing);
    expect(inMissing.length).toBeGreaterThan(0);
    for (const m of inMissing) expect(found).toContain(`author-is-member ${m.id}`);
    const reactionsThere = rows.Reaction.filter((r) => inMissing.some((m) => m.id === r.messageId));
    expect(reactionsThere.length).toBeGreaterThan(0);
    for (const r of reactionsThere) expect(found).toContain(`reaction-user-sees-channel ${r.id}`);
    expect(found).not.toContain(`root-not-reply ${reply.id}`);
    expect(found).not.toContain(`dm-owner-is-creator ${orphan.id}`);
  });
});
