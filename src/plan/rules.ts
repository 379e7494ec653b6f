import type { RowOf, Rows } from "../core/datamodel.ts";

/** The plan's rows indexed the way the rules look them up. */
export interface RuleIndex {
  readonly rows: Rows;
  readonly channels: ReadonlyMap<string, RowOf<"Channel">>;
  readonly messages: ReadonlyMap<string, RowOf<"Message">>;
  /** channel id → user ids of its members (soft-deleted memberships excluded) with their roles. */
  readonly members: ReadonlyMap<string, ReadonlyMap<string, string>>;
}

/** A broken rule: which table and row, and the rule's id. */
export interface Violation {
  readonly rule: string;
  readonly table: string;
  readonly rowId: string;
  readonly detail: string;
}

/**
 * One rule of "Rules the application relies on" in the ChatGenius schema document, checked
 * twice from the same definition: on the planned rows before any write (`check`) and in SQL
 * on the database after the inserts, before commit (`sql` selects the offending rows' ids).
 */
export interface Rule {
  readonly id: string;
  readonly text: string;
  readonly table: string;
  readonly sql: string;
  check(index: RuleIndex): Iterable<string>;
}

const memberSql = (channel: string, user: string) =>
  `EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = ${channel} AND m.user_id = ${user} AND m.deleted_at IS NULL)`;
const canSeeSql = (channel: string, user: string) =>
  `(EXISTS (SELECT 1 FROM channels vc WHERE vc.id = ${channel} AND vc.type = 'public') OR ${memberSql(channel, user)})`;

function canSee(index: RuleIndex, channelId: string, userId: string): boolean {
  return index.channels.get(channelId)?.type === "public" || (index.members.get(channelId)?.has(userId) ?? false);
}

/** A rule for rows that hang off a message (`message_id`, `user_id`): their user can see its channel. */
function seesMessageChannel(id: string, text: string, table: string, model: "Reaction" | "File"): Rule {
  return {
    id,
    text,
    table,
    sql: `SELECT x.id FROM ${table} x JOIN messages msg ON msg.id = x.message_id WHERE NOT ${canSeeSql("msg.channel_id", "x.user_id")}`,
    *check(ix) {
      for (const row of ix.rows[model]) {
        const msg = ix.messages.get(row.messageId);
        if (!msg || !canSee(ix, msg.channelId, row.userId)) yield row.id;
      }
    },
  };
}

export const RULES: readonly Rule[] = [
  {
    id: "dm-two-members",
    text: "A dm channel has exactly two members",
    table: "channels",
    sql: `SELECT c.id FROM channels c WHERE c.type = 'dm' AND (SELECT count(*) FROM channel_members m WHERE m.channel_id = c.id AND m.deleted_at IS NULL) <> 2`,
    *check(ix) {
      for (const c of ix.rows.Channel) if (c.type === "dm" && (ix.members.get(c.id)?.size ?? 0) !== 2) yield c.id;
    },
  },
  {
    id: "dm-owner-is-creator",
    text: "A dm channel has no owner other than its creator",
    table: "channel_members",
    sql: `SELECT m.id FROM channel_members m JOIN channels c ON c.id = m.channel_id WHERE c.type = 'dm' AND m.role = 'owner' AND m.user_id <> c.created_by`,
    *check(ix) {
      for (const m of ix.rows.ChannelMember) {
        const c = ix.channels.get(m.channelId);
        if (c?.type === "dm" && m.role === "owner" && m.userId !== c.createdBy) yield m.id;
      }
    },
  },
  {
    id: "creator-is-owner",
    text: "A channel's creator is a member of it with role owner",
    table: "channels",
    sql: `SELECT c.id FROM channels c WHERE NOT EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = c.id AND m.user_id = c.created_by AND m.role = 'owner' AND m.deleted_at IS NULL)`,
    *check(ix) {
      for (const c of ix.rows.Channel) if (ix.members.get(c.id)?.get(c.createdBy) !== "owner") yield c.id;
    },
  },
  {
    id: "author-is-member",
    text: "A message's author is a member of its channel",
    table: "messages",
    sql: `SELECT msg.id FROM messages msg WHERE NOT ${memberSql("msg.channel_id", "msg.user_id")}`,
    *check(ix) {
      for (const m of ix.rows.Message) if (!ix.members.get(m.channelId)?.has(m.userId)) yield m.id;
    },
  },
  {
    id: "reply-same-channel",
    text: "A reply is in the same channel as its thread's root",
    table: "messages",
    sql: `SELECT r.id FROM messages r JOIN messages t ON t.id = r.thread_id WHERE r.channel_id <> t.channel_id`,
    *check(ix) {
      for (const m of ix.rows.Message)
        if (m.threadId && ix.messages.get(m.threadId)?.channelId !== m.channelId) yield m.id;
    },
  },
  {
    id: "reply-after-root",
    text: "A reply is created after its thread's root",
    table: "messages",
    sql: `SELECT r.id FROM messages r JOIN messages t ON t.id = r.thread_id WHERE r.created_at <= t.created_at`,
    *check(ix) {
      for (const m of ix.rows.Message) {
        const root = m.threadId ? ix.messages.get(m.threadId) : undefined;
        if (root && time(m.createdAt) <= time(root.createdAt)) yield m.id;
      }
    },
  },
  {
    id: "root-not-reply",
    text: "A thread's root is never itself a reply",
    table: "messages",
    sql: `SELECT r.id FROM messages r JOIN messages t ON t.id = r.thread_id WHERE t.thread_id IS NOT NULL`,
    *check(ix) {
      for (const m of ix.rows.Message) if (m.threadId && ix.messages.get(m.threadId)?.threadId) yield m.id;
    },
  },
  seesMessageChannel(
    "reaction-user-sees-channel",
    "A reaction's user can see the message's channel",
    "reactions",
    "Reaction",
  ),
  {
    id: "read-user-sees-channel",
    text: "A read marker's user can see the message's channel, and the message is in the marker's channel",
    table: "message_reads",
    sql: `SELECT mr.id FROM message_reads mr JOIN messages msg ON msg.id = mr.last_read_message_id WHERE msg.channel_id <> mr.channel_id OR NOT ${canSeeSql("msg.channel_id", "mr.user_id")}`,
    *check(ix) {
      for (const r of ix.rows.MessageRead) {
        const msg = ix.messages.get(r.lastReadMessageId);
        if (!msg || msg.channelId !== r.channelId || !canSee(ix, msg.channelId, r.userId)) yield r.id;
      }
    },
  },
  seesMessageChannel("file-uploader-sees-channel", "A file's uploader can see the message's channel", "files", "File"),
  {
    id: "muted-channels-joined",
    text: "user_settings.muted_channels names only channels the user belongs to",
    table: "user_settings",
    sql: `SELECT s.id FROM user_settings s WHERE EXISTS (SELECT 1 FROM unnest(s.muted_channels) AS mc(channel_id) WHERE NOT ${memberSql("mc.channel_id", "s.user_id")})`,
    *check(ix) {
      for (const s of ix.rows.UserSettings) {
        const muted = Array.isArray(s.mutedChannels) ? s.mutedChannels : [];
        if (muted.some((channelId) => !ix.members.get(channelId)?.has(s.userId))) yield s.id;
      }
    },
  },
];

/** Indexes rows for the rules. */
export function indexRows(rows: Rows): RuleIndex {
  const members = new Map<string, Map<string, string>>();
  for (const m of rows.ChannelMember) {
    if (m.deletedAt) continue;
    let byUser = members.get(m.channelId);
    if (!byUser) members.set(m.channelId, (byUser = new Map()));
    byUser.set(m.userId, m.role);
  }
  return {
    rows,
    channels: new Map(rows.Channel.map((c) => [c.id, c])),
    messages: new Map(rows.Message.map((m) => [m.id, m])),
    members,
  };
}

/** Every violation of the application rules in a set of rows. */
export function checkRules(rows: Rows): Violation[] {
  const index = indexRows(rows);
  const out: Violation[] = [];
  for (const rule of RULES)
    for (const rowId of rule.check(index)) out.push({ rule: rule.id, table: rule.table, rowId, detail: rule.text });
  return out;
}

function time(value: Date | string | undefined): number {
  return value === undefined ? Number.NaN : new Date(value).getTime();
}
