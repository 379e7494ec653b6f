import { describe, expect, it } from "vitest";
import { TABLES, type Rows } from "../../src/core/datamodel.ts";
import { WINDOW_END } from "../../src/plan/builders/clock.ts";
import { buildPlan, emptyRows } from "../../src/plan/plan.ts";
import {
  AUTH0_ID,
  assertValidAddedRows,
  assertValidRows,
  validateChunk,
  validateRows,
  validatedChunks,
} from "../../src/plan/validate.ts";

// What the planner refuses before anything is written, one planted problem at a time on the
// minimal plan's rows (three users, #general, its members and two messages): each is named with
// its table, row, rule and detail, and nothing else is.
const minimal = buildPlan({ profile: "minimal" }).rows;
const clone = () => structuredClone(minimal);
const found = (violations: { rule: string; table: string; rowId: string; detail?: string }[]) =>
  violations.map((v) => `${v.table} ${v.rowId} ${v.rule}: ${v.detail}`);
const MISSING = "01JZZZZZZZZZZZZZZZZZZZZZZX";

describe("validateRows", () => {
  it("finds nothing in the minimal and dev plans", () => {
    expect(validateRows(minimal)).toEqual([]);
    expect(validateRows(buildPlan({ profile: "dev" }).rows)).toEqual([]);
  });

  const cases: [string, (r: Rows) => string][] = [
    [
      "a missing required value",
      (r) => {
        (r.User[1]!.fullName as unknown) = null;
        return `users ${r.User[1]!.id} required: full_name is required`;
      },
    ],
    [
      "an undefined required value",
      (r) => {
        delete (r.User[1] as { username?: string }).username;
        return `users ${r.User[1]!.id} required: username is required`;
      },
    ],
    [
      "a value one character too long",
      (r) => {
        r.User[1]!.username = "u".repeat(51);
        return `users ${r.User[1]!.id} length: username is longer than 50 characters`;
      },
    ],
    [
      "an id that is not a ULID",
      (r) => {
        r.UserStatus[0]!.id = "not-a-ulid";
        return "user_status not-a-ulid ulid: id is not a ULID";
      },
    ],
    [
      "an id a millisecond off its created_at",
      (r) => {
        r.UserStatus[0]!.createdAt = new Date(new Date(r.UserStatus[0]!.createdAt!).getTime() + 1);
        return `user_status ${r.UserStatus[0]!.id} ulid-time: id and created_at are not the same millisecond`;
      },
    ],
    [
      "a created_at that is no date",
      (r) => {
        (r.UserStatus[0]!.createdAt as unknown) = "2025-01-06T09:00:00.000Z";
        return `user_status ${r.UserStatus[0]!.id} ulid-time: id and created_at are not the same millisecond`;
      },
    ],
    [
      "a time after the fixture window",
      (r) => {
        r.UserStatus[0]!.updatedAt = new Date(WINDOW_END + 1);
        return `user_status ${r.UserStatus[0]!.id} past-window: updatedAt lies after the fixture window`;
      },
    ],
    [
      "a duplicate unique key",
      (r) => {
        r.UserStatus[1]!.userId = r.UserStatus[0]!.userId;
        return `user_status ${r.UserStatus[1]!.id} unique: duplicate userId`;
      },
    ],
    [
      "a reference to a missing row",
      (r) => {
        r.UserStatus[0]!.userId = MISSING;
        return `user_status ${r.UserStatus[0]!.id} reference: user_id points at a missing User`;
      },
    ],
    [
      "a field that is no column (the writer would drop it without a word)",
      (r) => {
        (r.User[1] as unknown as Record<string, unknown>).nickname = "ada";
        return `users ${r.User[1]!.id} unknown-field: nickname is no column of users (schema.prisma): the database would never get it`;
      },
    ],
    [
      "an email another user has in another case",
      (r) => {
        r.User[2]!.email = r.User[0]!.email.toUpperCase();
        return `users ${r.User[2]!.id} email-unique-ci: email is not unique case-insensitively`;
      },
    ],
    [
      "a malformed Auth0 id",
      (r) => {
        r.User[1]!.auth0Id = "auth0|XYZ";
        return `users ${r.User[1]!.id} auth0-id: auth0_id is not <connection>|<id>`;
      },
    ],
  ];
  it.each(cases)("names %s", (_, plant) => {
    const rows = clone();
    const expected = plant(rows);
    expect(found(validateRows(rows))).toEqual([expected]);
  });

  it("names an array element too long", () => {
    const rows = clone();
    const settings = rows.UserSettings[0]!;
    settings.mutedChannels = [rows.Channel[0]!.id!, "c".repeat(27)];
    expect(found(validateRows(rows))).toEqual(
      expect.arrayContaining([
        `user_settings ${settings.id} length: muted_channels has an element longer than 26 characters`,
      ]),
    );
  });

  it("lets a value of exactly its column's length through, counting characters, not UTF-16 units", () => {
    const rows = clone();
    rows.User[1]!.username = "u".repeat(50);
    rows.User[2]!.username = "😀".repeat(50);
    expect(validateRows(rows)).toEqual([]);
  });

  it("lets a time at the window's very end through, and other connections' ids", () => {
    const rows = clone();
    rows.UserStatus[0]!.updatedAt = new Date(WINDOW_END);
    rows.User[1]!.auth0Id = "github|ada.lovelace-1";
    rows.User[2]!.auth0Id = "google-oauth2|112233445566778899001";
    expect(validateRows(rows)).toEqual([]);
  });

  it("names a muted channel that does not exist, and the rule it breaks", () => {
    const rows = clone();
    const settings = rows.UserSettings[0]!;
    settings.mutedChannels = [MISSING];
    expect(found(validateRows(rows))).toEqual([
      `user_settings ${settings.id} reference: muted_channels names a missing channel`,
      `user_settings ${settings.id} muted-channels-joined: user_settings.muted_channels names only channels the user belongs to`,
    ]);
  });

  it("compares a unique key of several fields as the whole tuple, its fields kept apart", () => {
    // No table of the schema has one yet; the check is written for any schema.prisma.
    const tables = TABLES.map((t) =>
      t.name === "user_status" ? { ...t, uniqueKeys: [...t.uniqueKeys, ["statusText", "statusEmoji"]] } : t,
    );
    const rows = clone();
    const [a, b, c] = rows.UserStatus;
    Object.assign(a!, { statusText: "ab", statusEmoji: "c" });
    Object.assign(b!, { statusText: "a", statusEmoji: "bc" });
    Object.assign(c!, { statusText: "ab", statusEmoji: "d" });
    expect(validateRows(rows, tables)).toEqual([]);
    c!.statusEmoji = "c";
    expect(found(validateRows(rows, tables))).toEqual([
      `user_status ${c!.id} unique: duplicate statusText, statusEmoji`,
    ]);
  });

  it("checks only the tables it is given", () => {
    const rows = clone();
    rows.UserStatus[0]!.id = "not-a-ulid";
    expect(validateRows(rows, [])).toEqual([]);
  });
});

describe("AUTH0_ID", () => {
  it.each(["auth0|0123456789abcdef01234567", "google-oauth2|112233445566778899001", "samlp|a.b_c-d", "github|1"])(
    "takes %s",
    (id) => expect(AUTH0_ID.test(id)).toBe(true),
  );
  it.each([
    "auth0|0123456789abcdef0123456",
    "auth0|0123456789ABCDEF01234567",
    "google-oauth2|11223344556677889900",
    "google-oauth2|1122334455667788990011",
    "Github|1",
    "github|",
    "|abc",
    "github|a b",
  ])("refuses %s", (id) => expect(AUTH0_ID.test(id)).toBe(false));
});

describe("assertValidRows", () => {
  it("passes good rows and names the first three problems of bad ones", () => {
    expect(() => assertValidRows(minimal)).not.toThrow();
    const rows = clone();
    for (const s of rows.UserStatus) s.updatedAt = new Date(WINDOW_END + 1);
    rows.User[1]!.auth0Id = "auth0|XYZ";
    const [a, b, c] = rows.UserStatus.map((s) => s.id);
    expect(() => assertValidRows(rows)).toThrow(
      expect.objectContaining({
        code: "INVALID_FIXTURES",
        message: `the planned rows break 4 rule(s): user_status row ${a} breaks 'past-window' (updatedAt lies after the fixture window); user_status row ${b} breaks 'past-window' (updatedAt lies after the fixture window); user_status row ${c} breaks 'past-window' (updatedAt lies after the fixture window) and 1 more. Fix the row builder in src/plan/builders/ for that table; nothing was written`,
      }),
    );
  });

  it("does not say 'more' when there are three or fewer", () => {
    const rows = clone();
    rows.User[1]!.auth0Id = "auth0|XYZ";
    expect(() => assertValidRows(rows)).toThrow(
      `the planned rows break 1 rule(s): users row ${rows.User[1]!.id} breaks 'auth0-id' (auth0_id is not <connection>|<id>). Fix`,
    );
    for (const [i, u] of rows.User.entries()) u.auth0Id = `auth0|XYZ${i}`;
    expect(() => assertValidRows(rows)).toThrow(
      `'auth0-id' (auth0_id is not <connection>|<id>). Fix the row builder in src/plan/builders/ for that table; nothing was written`,
    );
  });
});

describe("validateChunk", () => {
  const chunk = (): Rows => ({ ...emptyRows(), UserStatus: structuredClone(minimal.UserStatus) });

  // First of the chunk tests on purpose: a table's checks are worked out on its first chunk and
  // kept, so this is the test that shows a wrong one (a mutant is run against the tests that ran
  // its line only).
  it("names each row's problem in a chunk of several, one problem a row", () => {
    const rows = chunk();
    const [a, b, c] = rows.UserStatus;
    a!.statusText = "s".repeat(101);
    b!.createdAt = new Date(new Date(b!.createdAt!).getTime() + 1);
    c!.updatedAt = new Date(WINDOW_END + 1);
    expect(found(validateChunk(rows, minimal))).toEqual([
      `user_status ${a!.id} length: status_text is longer than 100 characters`,
      `user_status ${b!.id} ulid-time: id is not a ULID of created_at's millisecond`,
      `user_status ${c!.id} past-window: updatedAt lies after the fixture window`,
    ]);
  });

  it("finds nothing in a good chunk, with or without the canonical rows", () => {
    expect(validateChunk(minimal)).toEqual([]);
    expect(validateChunk(chunk(), minimal)).toEqual([]);
  });

  const chunkCases: [string, (r: Rows) => string][] = [
    [
      "a value too long",
      (r) => {
        r.UserStatus[0]!.statusText = "s".repeat(101);
        return "length: status_text is longer than 100 characters";
      },
    ],
    [
      "an id off its created_at",
      (r) => {
        r.UserStatus[0]!.createdAt = new Date(0);
        return "ulid-time: id is not a ULID of created_at's millisecond";
      },
    ],
    [
      "an id that is no ULID",
      (r) => {
        r.UserStatus[0]!.id = "x";
        return "ulid-time: id is not a ULID of created_at's millisecond";
      },
    ],
    [
      "a time after the window",
      (r) => {
        r.UserStatus[0]!.updatedAt = new Date(WINDOW_END + 1);
        return "past-window: updatedAt lies after the fixture window";
      },
    ],
  ];
  it.each(chunkCases)("names %s", (_, plant) => {
    const rows = chunk();
    const expected = plant(rows);
    expect(found(validateChunk(rows, minimal))).toEqual([`user_status ${rows.UserStatus[0]!.id} ${expected}`]);
  });

  it("names a field that is no column, on the first row (every row of a chunk has the same fields)", () => {
    const rows = chunk();
    (rows.UserStatus[0] as unknown as Record<string, unknown>).mood = "fine";
    expect(found(validateChunk(rows, minimal))).toEqual([
      `user_status ${rows.UserStatus[0]!.id} unknown-field: mood is no column of user_status (schema.prisma): the database would never get it`,
    ]);
  });

  it("lets a time at the window's very end through", () => {
    const rows = chunk();
    rows.UserStatus[0]!.updatedAt = new Date(WINDOW_END);
    expect(validateChunk(rows, minimal)).toEqual([]);
  });

  it("names a muted channel that is missing among others that exist, whatever the other settings mute", () => {
    const muting = { ...structuredClone(minimal.UserSettings[0]!), mutedChannels: [minimal.Channel[0]!.id!, MISSING] };
    const none = { ...structuredClone(minimal.UserSettings[1]!), mutedChannels: [] };
    expect(found(validateChunk({ ...emptyRows(), UserSettings: [muting, none] }, minimal))).toEqual([
      `user_settings ${muting.id} reference: muted_channels names a missing channel`,
      `user_settings ${muting.id} muted-channels-joined: user_settings.muted_channels names only channels the user belongs to`,
    ]);
  });

  it("names an array element too long, a bad Auth0 id, an email of the canonical rows, a muted channel missing", () => {
    const rows = emptyRows();
    const user = {
      ...structuredClone(minimal.User[0]!),
      id: minimal.User[0]!.id,
      auth0Id: "auth0|nope",
      email: minimal.User[1]!.email.toUpperCase(),
    };
    rows.User.push(user);
    const settings = { ...structuredClone(minimal.UserSettings[0]!), mutedChannels: ["c".repeat(27)] };
    rows.UserSettings.push(settings);
    const names = found(validateChunk(rows, minimal)).map((v) => v.replace(/^\S+ \S+ /, ""));
    expect(names).toEqual(
      expect.arrayContaining([
        "length: muted_channels has an element longer than 26 characters",
        "email-unique-ci: email is not unique case-insensitively",
        "auth0-id: auth0_id is not <connection>|<id>",
        "reference: muted_channels names a missing channel",
      ]),
    );
  });

  it("takes a muted channel of the canonical rows, and checks the rules over both", () => {
    const rows = chunk();
    const settings = { ...structuredClone(minimal.UserSettings[0]!), mutedChannels: [minimal.Channel[0]!.id!] };
    expect(validateChunk({ ...emptyRows(), UserSettings: [settings] }, minimal)).toEqual([]);
    expect(found(validateChunk({ ...emptyRows(), UserSettings: [settings] }))).toEqual([
      `user_settings ${settings.id} reference: muted_channels names a missing channel`,
      `user_settings ${settings.id} muted-channels-joined: user_settings.muted_channels names only channels the user belongs to`,
    ]);
    expect(validateChunk(rows)).toEqual([]);
  });
});

describe("validatedChunks", () => {
  it("hands on good chunks, timing generation and validation, and refuses a bad one before it is handed on", () => {
    const good = { ...emptyRows(), UserStatus: structuredClone(minimal.UserStatus) };
    const bad = structuredClone(good);
    bad.UserStatus[0]!.createdAt = new Date(0);
    const timing = { generate: 0, validate: 0 };
    const handed: Rows[] = [];
    expect(() => {
      for (const rows of validatedChunks([minimal, good, bad], timing)) handed.push(rows);
    }).toThrow(
      expect.objectContaining({
        code: "INVALID_FIXTURES",
        message: expect.stringMatching(/^the planned rows break 1 rule\(s\): user_status row/),
      }),
    );
    expect(handed).toEqual([minimal, good]);
    expect(timing.generate).toBeGreaterThanOrEqual(0);
    expect(timing.validate).toBeGreaterThan(0);
  });

  it("times no more than the loop took: generation and validation are parts of it", () => {
    const timing = { generate: 0, validate: 0 };
    const start = performance.now();
    const later = { ...emptyRows(), UserStatus: structuredClone(minimal.UserStatus) };
    expect([...validatedChunks([minimal, later], timing)]).toEqual([minimal, later]);
    const took = performance.now() - start;
    expect(timing.generate + timing.validate).toBeLessThanOrEqual(took);
  });

  it("checks later chunks against the first (the canonical rows), or the ones it is given", () => {
    const settings = { ...structuredClone(minimal.UserSettings[0]!), mutedChannels: [minimal.Channel[0]!.id!] };
    const later = { ...emptyRows(), UserSettings: [settings] };
    expect([...validatedChunks([minimal, later])]).toHaveLength(2);
    expect([...validatedChunks([later], undefined, minimal)]).toHaveLength(1);
    expect(() => [...validatedChunks([later])]).toThrow(/muted_channels names a missing channel/);
  });
});

describe("assertValidAddedRows", () => {
  it("names only the added rows' problems, with the plan's users and channels to reference", () => {
    const added = emptyRows();
    const member = { ...structuredClone(minimal.ChannelMember[0]!) };
    added.ChannelMember.push(member);
    expect(() => assertValidAddedRows(added, { users: minimal.User, channels: minimal.Channel })).not.toThrow();
    member.userId = MISSING;
    expect(() => assertValidAddedRows(added, { users: minimal.User, channels: minimal.Channel })).toThrow(
      `channel_members row ${member.id} breaks 'reference' (user_id points at a missing User)`,
    );
  });

  it("says nothing of the referenced rows' own problems", () => {
    const added = emptyRows();
    added.ChannelMember.push(structuredClone(minimal.ChannelMember[0]!));
    const users = minimal.User.map((u) => ({ ...u, auth0Id: "auth0|nope" }));
    expect(() => assertValidAddedRows(added, { users, channels: minimal.Channel })).not.toThrow();
  });

  it("takes an added user in place of the plan's user of the same id", () => {
    const added = emptyRows();
    const user = { ...structuredClone(minimal.User[0]!), auth0Id: "auth0|nope" };
    added.User.push(user);
    expect(() => assertValidAddedRows(added, { users: minimal.User, channels: [] })).toThrow(
      `users row ${user.id} breaks 'auth0-id'`,
    );
  });
});
