import { describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildPlan, emptyRows, planDirectory } from "../../src/plan/plan.ts";
import { buildLocalRows, loadLocalSeed } from "../../src/plan/localSeed.ts";
import {
  APP_VALIDATORS,
  CHANNEL_NAME,
  FILE_LIMITS,
  checkAppValidators,
  dmChannelName,
} from "../../src/plan/validators.ts";

const count = (rows: ReturnType<typeof buildPlan>["rows"]) => {
  const byRule: Record<string, number> = {};
  for (const v of checkAppValidators(rows)) byRule[v.rule] = (byRule[v.rule] ?? 0) + 1;
  return byRule;
};

describe("the app's validators on the planned rows", () => {
  it.each([
    ["minimal", 20250106, 1],
    ["dev", 20250106, 1],
    ["dev", 1, 1],
    ["dev", 42, 3],
  ] as const)("%s (seed %i, scale %i) holds no row the app refuses or hides", (profile, seed, scale) => {
    const { rows } = buildPlan({ profile, seed, scale });
    expect(count(rows)).toEqual({});
    for (const c of rows.Channel) expect(c.name).toMatch(CHANNEL_NAME);
    expect(rows.File.length).toBeGreaterThan(profile === "dev" ? 10 : -1);
    for (const f of rows.File) {
      expect(FILE_LIMITS.types).toContain(f.type);
      expect(BigInt(f.size)).toBeLessThanOrEqual(BigInt(FILE_LIMITS.maxBytes));
    }
  });

  it("breaks every validator on purpose in the edge profile", () => {
    const broken = count(buildPlan({ profile: "edge" }).rows);
    expect(Object.keys(broken).sort()).toEqual(APP_VALIDATORS.map((v) => v.id).sort());
  });

  it("finds a planted violation of each validator", () => {
    const { rows } = buildPlan({ profile: "minimal" });
    const [user] = rows.User;
    const [message] = rows.Message;
    const file = (n: number, fields: Partial<(typeof rows.File)[number]> = {}) => ({
      id: `F${n}`,
      messageId: message!.id,
      userId: user!.id,
      name: "a.png",
      type: "image/png",
      size: 10n,
      url: "https://files.example/a.png",
      ...fields,
    });
    const planted = {
      ...emptyRows(),
      ...rows,
      Channel: [...rows.Channel, { ...rows.Channel[0]!, id: "C1", name: "Sarai.Larson--testuser3" }],
    };
    expect(checkAppValidators(planted).map((v) => [v.rule, v.rowId])).toEqual([["channel-name", "C1"]]);
    const files = {
      ...rows,
      File: [file(1, { size: BigInt(FILE_LIMITS.maxBytes) + 1n }), file(2, { type: "video/mp4" })],
    };
    expect(checkAppValidators(files).map((v) => [v.rule, v.rowId])).toEqual([
      ["file-size", "F1"],
      ["file-type", "F2"],
    ]);
    const six = { ...rows, File: [1, 2, 3, 4, 5, 6].map((n) => file(n)) };
    expect(checkAppValidators(six).filter((v) => v.rule === "files-per-message")).toHaveLength(6);
    const google = {
      ...rows,
      User: [...rows.User, { ...user!, id: "U1", auth0Id: "google-oauth2|012345678901234567890" }],
    };
    expect(checkAppValidators(google).map((v) => [v.rule, v.rowId])).toEqual([["google-id", "U1"]]);
    const root = { ...message!, id: "M1", deletedAt: new Date(message!.createdAt!) };
    const reply = { ...message!, id: "M2", threadId: "M1" };
    expect(checkAppValidators({ ...rows, Message: [root, reply] }).map((v) => [v.rule, v.rowId])).toEqual([
      ["reply-reachable", "M2"],
    ]);
  });
});

describe("the app's validators at their limits", () => {
  const { rows } = buildPlan({ profile: "minimal" });
  const [user] = rows.User;
  const [message] = rows.Message;
  const file = (n: number, fields: Partial<(typeof rows.File)[number]> = {}) => ({
    id: `F${n}`,
    messageId: message!.id,
    userId: user!.id,
    name: "a.png",
    type: "image/png",
    size: 10n,
    url: "https://files.example/a.png",
    ...fields,
  });
  const named = (changed: Partial<typeof rows>) =>
    checkAppValidators({ ...rows, ...changed }).map((v) => [v.rule, v.rowId]);

  it("takes a file of exactly the size limit, or empty, and refuses a negative size", () => {
    expect(named({ File: [file(1, { size: BigInt(FILE_LIMITS.maxBytes) }), file(2, { size: 0n })] })).toEqual([]);
    expect(named({ File: [file(3, { size: -1n })] })).toEqual([["file-size", "F3"]]);
  });

  it("takes as many live files as a message may carry, and does not count deleted ones", () => {
    const five = [1, 2, 3, 4, 5].map((n) => file(n));
    expect(named({ File: five })).toEqual([]);
    expect(named({ File: [...five, file(6, { deletedAt: new Date(message!.createdAt!) })] })).toEqual([]);
  });

  it("refuses a channel name or Google id with anything after a valid one", () => {
    expect(named({ Channel: [{ ...rows.Channel[0]!, name: "general!" }] })).toEqual([
      ["channel-name", rows.Channel[0]!.id],
    ]);
    expect(named({ User: [{ ...user!, auth0Id: "google-oauth2|112233445566778899001x" }] })).toEqual([
      ["google-id", user!.id],
    ]);
  });

  it("takes a live reply whose root the rows do not hold (nothing hides it)", () => {
    expect(named({ Message: [{ ...message!, id: "M2", threadId: "M-missing" }] })).toEqual([]);
  });
});

describe("dmChannelName", () => {
  it("turns each run of other characters into one hyphen, trims them, and names an empty part 'user'", () => {
    expect(dmChannelName("a..b", "c")).toBe("dm-a-b--c");
    expect(dmChannelName("___", "x")).toBe("dm-user--x");
    expect(dmChannelName("..ab..", "c")).toBe("dm-ab--c");
  });

  it("names a DM inside the validator for any two usernames, the same for either order", () => {
    expect(dmChannelName("testuser3", "sarai.larson")).toBe("dm-sarai-larson--testuser3");
    expect(dmChannelName("sarai.larson", "testuser3")).toBe("dm-sarai-larson--testuser3");
    for (const [a, b] of [
      ["ñandú-東京-".repeat(5), "\u202Eresu-ltr"],
      ["a".repeat(50), "b".repeat(50)],
      ["___", "9lives"],
      ["robert'); drop table users;--", "x"],
    ]) {
      expect(dmChannelName(a!, b!)).toMatch(CHANNEL_NAME);
    }
  });

  it("names local accounts' DMs inside the validator and refuses a Google id that does not start with 1", () => {
    const dir = mkdtempSync(join(tmpdir(), "local-dm-"));
    writeFileSync(
      join(dir, "seed.local.json"),
      JSON.stringify({
        users: [
          {
            auth0_id: "auth0|0123456789abcdef01234567",
            email: "ada@example.com",
            username: "ada.lovelace_1",
            full_name: "Ada",
            dm_partners: ["testuser1"],
          },
        ],
      }),
    );
    const rows = buildLocalRows(
      loadLocalSeed({ cwd: dir, file: "seed.local.json" })!,
      planDirectory({ profile: "minimal" }),
    );
    const dms = rows.Channel.filter((c) => c.type === "dm");
    expect(dms.map((c) => c.name)).toEqual(["dm-ada-lovelace-1--testuser1"]);
    writeFileSync(
      join(dir, "google.json"),
      JSON.stringify({
        users: [
          { auth0_id: "google-oauth2|012345678901234567890", email: "g@example.com", username: "g", full_name: "G" },
        ],
      }),
    );
    expect(() => loadLocalSeed({ cwd: dir, file: "google.json" })).toThrow(/users\[0\]\.auth0_id.*the first of them 1/);
  });
});
