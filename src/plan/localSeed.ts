import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import { createRequire } from "node:module";
import type * as Zod from "zod";
import type { RowOf, Rows } from "../core/datamodel.ts";
import { SeedError } from "../core/errors.ts";
import { DEFAULT_NOTIFICATIONS, DEFAULT_OFFLINE_SYNC } from "./builders/canonical.ts";
import { HOUR, MINUTE, WINDOW_START, at } from "./builders/clock.ts";
import { GOOGLE_ID, dmChannelName } from "./validators.ts";
import { MemberRole, Presence, Theme } from "../generated/prisma/enums.ts";
import type { Env } from "../db/config.ts";
import { emptyRows, planDirectory, type PlanOptions } from "./plan.ts";
import { Random } from "./random.ts";
import { ulid } from "./ulid.ts";
import { AUTH0_ID, assertValidAddedRows } from "./validate.ts";

/** Where the CLI looks for a developer's own accounts when no file is named. Git-ignored. */
export const DEFAULT_DATA_FILE = "prisma/seed.local.json";

const AUTH0_EXPECTED =
  "an Auth0 id: auth0| and 24 lowercase hex digits, google-oauth2| and 21 digits starting with 1, or <connection>|<id>";

/**
 * The local file's validator, built on first use: zod is loaded only by runs that have a local
 * seed file (or ask for its JSON Schema), so every other command starts without it.
 */
function schemas(): Schemas {
  cached ??= buildSchemas((createRequire(import.meta.url)("zod") as typeof Zod).z);
  return cached;
}
let cached: Schemas | undefined;
type Schemas = ReturnType<typeof buildSchemas>;

function buildSchemas(z: typeof Zod.z) {
  /** One developer's account in the local seed file. */
  const LocalUserSchema = z
    .object({
      auth0_id: z
        .string({ error: `expected ${AUTH0_EXPECTED}` })
        .max(128, { error: "expected at most 128 characters" })
        .regex(AUTH0_ID, { error: `expected ${AUTH0_EXPECTED}` })
        .refine((id) => !id.startsWith("google-oauth2|") || GOOGLE_ID.test(id), {
          error: "expected a Google subject id: google-oauth2| and 21 digits, the first of them 1",
        }),
      email: z
        .email({ error: "expected an email address of at most 255 characters" })
        .max(255, { error: "expected at most 255 characters" }),
      username: z
        .string({ error: "expected a username (text)" })
        .min(1, { error: "expected a non-empty username" })
        .max(50, { error: "expected at most 50 characters" })
        .regex(/^[a-z0-9._-]+$/, { error: "expected lowercase letters, digits, '.', '_' or '-'" }),
      full_name: z
        .string({ error: "expected a full name (text)" })
        .min(1, { error: "expected a non-empty full name" })
        .max(100, { error: "expected at most 100 characters" }),
      avatar_url: z.url({ error: "expected an http(s) URL" }).optional(),
      presence: z.enum(Presence, { error: `expected one of ${Object.values(Presence).join(", ")}` }).optional(),
      theme: z.enum(Theme, { error: `expected one of ${Object.values(Theme).join(", ")}` }).optional(),
      channels: z
        .array(
          z
            .object({
              name: z
                .string({ error: "expected a channel name (text)" })
                .min(1, { error: "expected a non-empty channel name" })
                .max(80, { error: "expected at most 80 characters" }),
              role: z.enum(MemberRole, { error: `expected one of ${Object.values(MemberRole).join(", ")}` }).optional(),
            })
            .strict(),
          { error: "expected a list of { name, role }" },
        )
        .optional(),
      dm_partners: z
        .array(
          z.string({ error: "expected a username (text)" }).min(1).max(50, { error: "expected at most 50 characters" }),
          { error: "expected a list of usernames" },
        )
        .optional(),
    })
    .strict();

  /** The local seed file: `prisma/seed.local.json`, `--data FILE` or SEED_DATA_FILE. */
  const LocalSeedFileSchema = z
    .object({
      $schema: z.string().optional(),
      users: z.array(LocalUserSchema, { error: "expected a list of users" }),
    })
    .strict();
  return { LocalUserSchema, LocalSeedFileSchema, z };
}

export type LocalUser = Zod.infer<Schemas["LocalUserSchema"]>;

/**
 * The JSON Schema of the local seed file, generated from the same definition the validator
 * uses (committed as prisma/seed.local.schema.json, so editors can complete it).
 */
export function localSeedJsonSchema(): Record<string, unknown> {
  return {
    ...schemas().z.toJSONSchema(schemas().LocalSeedFileSchema, { target: "draft-2020-12" }),
    $id: "https://chatgenius.example/schemas/seed.local.schema.json",
    title: "ChatGenius local seed accounts",
    description:
      "Developers' own Auth0 accounts, added to the seed. Generated from src/plan/localSeed.ts by `npm run generate:schema`.",
  };
}

/** A loaded, well-formed local seed file. */
export interface LocalSeed {
  /** The file, relative to the working directory when inside it. */
  readonly file: string;
  readonly users: readonly LocalUser[];
}

/**
 * Reads and checks the local seed file. Returns null when no file is named and the default one
 * is absent. A file named explicitly must exist. Every problem is reported at once in one
 * SeedError (INVALID_DATA_FILE, exit 2) with the file, the JSON path and what is expected.
 *
 * @example
 * const local = loadLocalSeed({ cwd: process.cwd(), file: process.env.SEED_DATA_FILE });
 */
export function loadLocalSeed(options: { cwd: string; file?: string }): LocalSeed | null {
  const explicit = options.file !== undefined && options.file !== "";
  const path = resolve(options.cwd, explicit ? options.file! : DEFAULT_DATA_FILE);
  const shown = isAbsolute(options.file ?? "") ? path : relative(options.cwd, path) || path;
  if (!existsSync(path)) {
    if (!explicit) return null;
    throw new SeedError(
      "INVALID_DATA_FILE",
      `${shown}: no such file. Create it (see prisma/seed.local.example.json) or fix --data / SEED_DATA_FILE`,
    );
  }
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (cause) {
    const reason = (cause as Error).message.split("\n")[0];
    throw new SeedError(
      "INVALID_DATA_FILE",
      `${shown}: not valid JSON (${reason}): fix the syntax; an editor using prisma/seed.local.schema.json shows where`,
      { cause },
    );
  }
  const parsed = schemas().LocalSeedFileSchema.safeParse(data);
  if (!parsed.success) {
    throw problems(
      shown,
      parsed.error.issues.map((issue) => ({ path: jsonPath(issue.path), expected: issue.message })),
    );
  }
  return { file: shown, users: parsed.data.users };
}

/** The users and channels of a profile that local entries may name, and collide with. */
export interface Directory {
  readonly users: readonly RowOf<"User">[];
  readonly channels: readonly RowOf<"Channel">[];
}

/**
 * Turns the local accounts into ordinary rows (user, settings, status, memberships, two-member
 * DMs) after checking them against the profile: no unique key (auth0 id, email
 * case-insensitively, username) collides with canonical, generated or other local rows, and
 * every named channel and DM partner exists. Ids derive from Auth0 ids only, so rows are stable
 * across runs and machines, whatever the order of the entries, and adding or removing an entry
 * changes no other row.
 *
 * @example
 * const rows = buildLocalRows(local, directoryOf(plan.rows));
 */
export function buildLocalRows(local: LocalSeed, directory: Directory): Rows {
  const issues: { path: string; expected: string }[] = [];
  const byAuth0 = new Map(directory.users.map((u) => [u.auth0Id, u]));
  const byEmail = new Map(directory.users.map((u) => [u.email.toLowerCase(), u]));
  const byUsername = new Map(directory.users.map((u) => [u.username, u]));
  const channels = new Map(directory.channels.filter((c) => c.type !== "dm").map((c) => [c.name, c]));
  const seen = {
    auth0: new Map<string, number>(),
    email: new Map<string, number>(),
    username: new Map<string, number>(),
  };
  local.users.forEach((u, i) => {
    const at = `users[${i}]`;
    const clash = (key: keyof typeof seen, field: string, value: string, existing: RowOf<"User"> | undefined) => {
      if (existing)
        issues.push({
          path: `${at}.${field}`,
          expected: `a value no other user has: '${value}' belongs to ${existing.username}`,
        });
      const other = seen[key].get(value);
      if (other !== undefined)
        issues.push({
          path: `${at}.${field}`,
          expected: `a value no other entry has: '${value}' is also users[${other}].${field}`,
        });
      seen[key].set(value, i);
    };
    clash("auth0", "auth0_id", u.auth0_id, byAuth0.get(u.auth0_id));
    clash("email", "email", u.email.toLowerCase(), byEmail.get(u.email.toLowerCase()));
    clash("username", "username", u.username, byUsername.get(u.username));
  });
  const localNames = new Set(local.users.map((u) => u.username));
  local.users.forEach((u, i) => {
    const names = new Set<string>();
    u.channels?.forEach((c, j) => {
      if (!channels.has(c.name))
        issues.push({
          path: `users[${i}].channels[${j}].name`,
          expected: `a channel of this profile (${[...channels.keys()].slice(0, 8).join(", ")}${channels.size > 8 ? ", …" : ""}), not '${c.name}'`,
        });
      if (names.has(c.name))
        issues.push({
          path: `users[${i}].channels[${j}].name`,
          expected: `each channel once: '${c.name}' is listed twice`,
        });
      names.add(c.name);
    });
    u.dm_partners?.forEach((p, j) => {
      if (p === u.username)
        issues.push({
          path: `users[${i}].dm_partners[${j}]`,
          expected: "another user's username, not the entry's own",
        });
      else if (!byUsername.has(p) && !localNames.has(p))
        issues.push({
          path: `users[${i}].dm_partners[${j}]`,
          expected: `the username of a user of this profile or of another entry, not '${p}'`,
        });
    });
  });
  if (issues.length > 0) throw problems(local.file, issues);
  return toRows(local, byUsername, channels);
}

/** Local accounts are created 30 minutes into the fixture window, after #general. */
const LOCAL_AT = WINDOW_START + 30 * MINUTE;

function toRows(
  local: LocalSeed,
  byUsername: Map<string, RowOf<"User">>,
  channels: Map<string, RowOf<"Channel">>,
): Rows {
  const rows = emptyRows();
  // Sorted by Auth0 id: the order of the entries in the file changes nothing.
  const entries = [...local.users].sort((a, b) => (a.auth0_id < b.auth0_id ? -1 : a.auth0_id > b.auth0_id ? 1 : 0));
  const ids = (key: string) => new Random(0, `local:${key}`);
  const users = new Map<string, RowOf<"User">>();
  for (const u of entries) {
    const user: RowOf<"User"> = {
      id: ulid(LOCAL_AT, ids(u.auth0_id)),
      auth0Id: u.auth0_id,
      email: u.email,
      username: u.username,
      fullName: u.full_name,
      avatarUrl: u.avatar_url ?? null,
      createdAt: at(LOCAL_AT),
      updatedAt: at(LOCAL_AT),
      deletedAt: null,
    };
    users.set(u.username, user);
    rows.User.push(user);
    rows.UserSettings.push({
      id: ulid(LOCAL_AT, ids(`${u.auth0_id}:settings`)),
      userId: user.id,
      theme: u.theme ?? "light",
      notifications: { ...DEFAULT_NOTIFICATIONS },
      offlineSync: { ...DEFAULT_OFFLINE_SYNC },
      createdAt: at(LOCAL_AT),
      updatedAt: at(LOCAL_AT),
    });
    rows.UserStatus.push({
      id: ulid(LOCAL_AT, ids(`${u.auth0_id}:status`)),
      userId: user.id,
      presence: u.presence ?? "online",
      statusText: null,
      statusEmoji: null,
      statusExpiry: null,
      createdAt: at(LOCAL_AT),
      updatedAt: at(LOCAL_AT),
    });
    for (const c of u.channels ?? []) {
      const channel = channels.get(c.name)!;
      const joinedAt = Math.max(LOCAL_AT, new Date(channel.createdAt!).getTime()) + MINUTE;
      rows.ChannelMember.push({
        id: ulid(joinedAt, ids(`${u.auth0_id}:member:${channel.id}`)),
        channelId: channel.id,
        userId: user.id,
        role: c.role ?? "member",
        createdAt: at(joinedAt),
        updatedAt: at(joinedAt),
      });
    }
  }
  const pairs = new Set<string>();
  for (const u of entries) {
    for (const partnerName of u.dm_partners ?? []) {
      const me = users.get(u.username)!;
      const partner = users.get(partnerName) ?? byUsername.get(partnerName)!;
      const key = [me.auth0Id, partner.auth0Id].sort().join(" ");
      if (pairs.has(key)) continue; // both entries asked for the same DM
      pairs.add(key);
      const createdAt = Math.max(LOCAL_AT, new Date(partner.createdAt!).getTime()) + HOUR;
      const channel: RowOf<"Channel"> = {
        id: ulid(createdAt, ids(`dm:${key}`)),
        name: dmChannelName(me.username, partner.username),
        description: null,
        type: "dm",
        createdBy: me.id,
        archivedAt: null,
        archivedBy: null,
        createdAt: at(createdAt),
        updatedAt: at(createdAt),
        deletedAt: null,
      };
      rows.Channel.push(channel);
      rows.ChannelMember.push(
        {
          id: ulid(createdAt, ids(`dm:${key}:${me.auth0Id}`)),
          channelId: channel.id,
          userId: me.id,
          role: "owner",
          createdAt: at(createdAt),
          updatedAt: at(createdAt),
        },
        {
          id: ulid(createdAt, ids(`dm:${key}:${partner.auth0Id}`)),
          channelId: channel.id,
          userId: partner.id,
          role: "member",
          createdAt: at(createdAt),
          updatedAt: at(createdAt),
        },
      );
    }
  }
  return rows;
}

function jsonPath(path: readonly PropertyKey[]): string {
  return (
    path.reduce<string>(
      (out, key) => (typeof key === "number" ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
      "",
    ) || "(file)"
  );
}

function problems(file: string, list: { path: string; expected: string }[]): SeedError {
  const shown = list.map((p) => `${p.path}: ${p.expected}`).join("; ");
  return new SeedError("INVALID_DATA_FILE", `${file}: ${list.length} problem(s): ${shown}. Nothing was written`, {
    problems: list,
  });
}

/** Local accounts resolved for a run: their rows, the summary's list, and a hash for run history. */
export interface ResolvedLocal {
  rows: Rows;
  accounts: { file: string; users: { username: string; auth0Id: string }[] };
  /** sha256 of the rows: runs with the same local accounts compare equal in history. */
  hash: string;
}

/**
 * The local accounts of a run as rows, checked against the profile, or null without a file:
 * `dataFile` names one (must exist), `"default"` means prisma/seed.local.json when present;
 * SEED_DATA_FILE in `env` names one too.
 */
export function resolveLocalRows(
  options: { dataFile?: string; cwd?: string },
  env: Env,
  planOptions: PlanOptions,
): ResolvedLocal | null {
  const named =
    options.dataFile && options.dataFile !== "default" ? options.dataFile : env.SEED_DATA_FILE?.trim() || undefined;
  if (!named && options.dataFile !== "default") return null;
  const local = loadLocalSeed({ cwd: options.cwd ?? process.cwd(), file: named });
  if (!local) return null;
  const directory = planDirectory(planOptions);
  const rows = buildLocalRows(local, directory);
  assertValidAddedRows(rows, directory);
  return {
    rows,
    accounts: { file: local.file, users: rows.User.map((u) => ({ username: u.username, auth0Id: u.auth0Id })) },
    hash: createHash("sha256").update(JSON.stringify(rows)).digest("hex"),
  };
}
