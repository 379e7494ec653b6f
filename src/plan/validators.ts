import type { RowOf, Rows } from "../core/datamodel.ts";
import { indexRows, type RuleIndex, type Violation } from "./rules.ts";

/**
 * Channel names the ChatGenius server accepts, DMs included: lowercase letters, digits and
 * hyphens, 3 to 50 characters, a letter first and a letter or digit last (every version of
 * the app accepts this; early ones did not need the leading letter).
 */
export const CHANNEL_NAME = /^[a-z][a-z0-9-]{1,48}[a-z0-9]$/;

/** The client's upload limits: bytes per file, files per message, and the types it takes. */
export const FILE_LIMITS = {
  maxBytes: 10 * 1024 * 1024,
  perMessage: 5,
  types: ["image/jpeg", "image/png", "image/gif", "application/pdf"],
} as const;

/** A Google account's Auth0 id: `google-oauth2|` and a 21-digit subject id that starts with 1. */
export const GOOGLE_ID = /^google-oauth2\|1[0-9]{20}$/;

/**
 * The name of the DM channel between two users, inside the app's channel-name validator:
 * `dm-` and both usernames (sorted, lowercased, every run of other characters a hyphen, each at
 * most 22 characters), e.g. `dm-sarai-larson--testuser3`. The same pair always gets the same name.
 *
 * @example
 * dmChannelName("testuser3", "sarai.larson"); // "dm-sarai-larson--testuser3"
 */
export function dmChannelName(a: string, b: string): string {
  const part = (username: string) =>
    username
      .normalize("NFKD")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+/, "")
      .slice(0, 22)
      .replace(/-+$/, "") || "user";
  const [first, second] = [part(a), part(b)].sort();
  return `dm-${first}--${second}`;
}

/**
 * One rule of "What the application's validators accept" in the ChatGenius schema document:
 * what the server or its client refuses or hides. Realistic profiles (`minimal`, `dev`, local
 * accounts, scenarios) stay inside them; the `edge` profile breaks them on purpose. Like the
 * rules, each is declared once: a check on planned rows and the same check in SQL.
 */
export interface AppValidator {
  readonly id: string;
  readonly text: string;
  readonly table: string;
  /** Selects the ids of offending rows. */
  readonly sql: string;
  check(index: RuleIndex): Iterable<string>;
}

const liveFiles = (files: readonly RowOf<"File">[]) => files.filter((f) => !f.deletedAt);

export const APP_VALIDATORS: readonly AppValidator[] = [
  {
    id: "channel-name",
    text: "A channel's name is 3 to 50 lowercase letters, digits and hyphens, a letter first and a letter or digit last",
    table: "channels",
    sql: `SELECT c.id FROM channels c WHERE c.name !~ '${CHANNEL_NAME.source}'`,
    *check(ix) {
      for (const c of ix.rows.Channel) if (!CHANNEL_NAME.test(c.name)) yield c.id;
    },
  },
  {
    id: "file-size",
    text: `A file is at most ${FILE_LIMITS.maxBytes / 1024 / 1024} MB`,
    table: "files",
    sql: `SELECT f.id FROM files f WHERE f.size > ${FILE_LIMITS.maxBytes} OR f.size < 0`,
    *check(ix) {
      for (const f of ix.rows.File)
        if (BigInt(f.size) > BigInt(FILE_LIMITS.maxBytes) || BigInt(f.size) < 0n) yield f.id;
    },
  },
  {
    id: "file-type",
    text: `A file's type is one of ${FILE_LIMITS.types.join(", ")}`,
    table: "files",
    sql: `SELECT f.id FROM files f WHERE f.type NOT IN (${FILE_LIMITS.types.map((t) => `'${t}'`).join(", ")})`,
    *check(ix) {
      for (const f of ix.rows.File) if (!(FILE_LIMITS.types as readonly string[]).includes(f.type)) yield f.id;
    },
  },
  {
    id: "files-per-message",
    text: `A message carries at most ${FILE_LIMITS.perMessage} files`,
    table: "files",
    sql: `SELECT f.id FROM files f WHERE f.deleted_at IS NULL AND (SELECT count(*) FROM files o WHERE o.message_id = f.message_id AND o.deleted_at IS NULL) > ${FILE_LIMITS.perMessage}`,
    *check(ix) {
      const perMessage = new Map<string, string[]>();
      for (const f of liveFiles(ix.rows.File))
        perMessage.set(f.messageId, [...(perMessage.get(f.messageId) ?? []), f.id]);
      for (const ids of perMessage.values()) if (ids.length > FILE_LIMITS.perMessage) yield* ids;
    },
  },
  {
    id: "google-id",
    text: "A Google account's id is google-oauth2| and 21 digits, the first of them 1",
    table: "users",
    sql: `SELECT u.id FROM users u WHERE u.auth0_id LIKE 'google-oauth2|%' AND u.auth0_id !~ '${GOOGLE_ID.source}'`,
    *check(ix) {
      for (const u of ix.rows.User)
        if (u.auth0Id.startsWith("google-oauth2|") && !GOOGLE_ID.test(u.auth0Id)) yield u.id;
    },
  },
  {
    id: "reply-reachable",
    text: "No live reply hangs under a soft-deleted root (the app hides the root with its thread)",
    table: "messages",
    sql: `SELECT r.id FROM messages r JOIN messages t ON t.id = r.thread_id WHERE r.deleted_at IS NULL AND t.deleted_at IS NOT NULL`,
    *check(ix) {
      for (const m of ix.rows.Message)
        if (m.threadId && !m.deletedAt && ix.messages.get(m.threadId)?.deletedAt) yield m.id;
    },
  },
];

/**
 * Every row of `rows` that the app's validators would refuse or hide.
 *
 * @example
 * checkAppValidators(buildPlan({ profile: "dev" }).rows); // []
 */
export function checkAppValidators(rows: Rows, index: RuleIndex = indexRows(rows)): Violation[] {
  const out: Violation[] = [];
  for (const v of APP_VALIDATORS)
    for (const rowId of v.check(index)) out.push({ rule: v.id, table: v.table, rowId, detail: v.text });
  return out;
}
