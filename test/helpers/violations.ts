import type { Rows } from "../../src/core/datamodel.ts";

/**
 * One planted violation per application rule (src/plan/rules.ts), made two independent ways:
 * `rows` breaks the rule in a copy of the dev plan's rows (what a seed would try to write) and
 * `sql` breaks it in a database seeded with that plan. Each breaks that rule and no other, on
 * exactly one row, and returns that row's id: the tests check that the rule names exactly it.
 */
export interface PlantedViolation {
  /** Mutates the rows in place; returns the id of the one row that now breaks the rule. */
  rows(rows: Rows): string;
  /** A statement whose single returned row's `id` is the one row that now breaks the rule. */
  sql: string;
}

/** The id given to rows a violation adds. */
export const PLANTED_ID = "01JZZZZZZZZZZZZZZZZZZZZZZZ";

const byId = <T extends { id?: string }>(a: T, b: T) => (a.id! < b.id! ? -1 : a.id! > b.id! ? 1 : 0);
const first = <T extends { id?: string }>(list: readonly T[], keep: (row: T) => boolean): T => {
  const found = [...list].sort(byId).find(keep);
  if (!found) throw new Error("the dev plan has no row to plant this violation on");
  return found;
};
const memberIds = (rows: Rows, channelId: string) =>
  new Set(rows.ChannelMember.filter((m) => m.channelId === channelId && !m.deletedAt).map((m) => m.userId));
const outsider = (rows: Rows, channelId: string) => {
  const members = memberIds(rows, channelId);
  return first(rows.User, (u) => !members.has(u.id!)).id!;
};
const channelOf = (rows: Rows, messageId: string) => rows.Message.find((m) => m.id === messageId)!.channelId;
const channelType = (rows: Rows, channelId: string) => rows.Channel.find((c) => c.id === channelId)!.type;

/** SQL: the first user (by id) who is not a member of the channel `channel`. */
const outsiderSql = (channel: string) =>
  `(SELECT u.id FROM users u WHERE NOT EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = ${channel} AND m.user_id = u.id) ORDER BY u.id LIMIT 1)`;

/** A row hanging off a message in a private channel (a reaction, a file) given to someone outside it. */
function outsiderOnPrivateMessage(model: "Reaction" | "File", table: "reactions" | "files"): PlantedViolation {
  return {
    rows(rows) {
      const row = first(
        rows[model] as { id?: string; messageId: string; userId: string }[],
        (r) => channelType(rows, channelOf(rows, r.messageId)) === "private",
      );
      row.userId = outsider(rows, channelOf(rows, row.messageId));
      return row.id!;
    },
    sql: `WITH pick AS (SELECT r.id, ${outsiderSql("msg.channel_id")} AS outsider FROM ${table} r JOIN messages msg ON msg.id = r.message_id JOIN channels c ON c.id = msg.channel_id
                         WHERE c.type = 'private' ORDER BY r.id LIMIT 1)
          UPDATE ${table} x SET user_id = pick.outsider FROM pick WHERE x.id = pick.id
          RETURNING x.id`,
  };
}

export const VIOLATIONS: Record<string, PlantedViolation> = {
  // A third member in a DM.
  "dm-two-members": {
    rows(rows) {
      const dm = first(rows.Channel, (c) => c.type === "dm");
      const member = first(rows.ChannelMember, (m) => m.channelId === dm.id);
      rows.ChannelMember.push({ ...member, id: PLANTED_ID, userId: outsider(rows, dm.id!), role: "member" });
      return dm.id!;
    },
    sql: `INSERT INTO channel_members (id, channel_id, user_id, role)
          SELECT '${PLANTED_ID}', c.id, ${outsiderSql("c.id")}, 'member' FROM channels c WHERE c.type = 'dm' ORDER BY c.id LIMIT 1
          RETURNING channel_id AS id`,
  },
  // The DM's other member made an owner.
  "dm-owner-is-creator": {
    rows(rows) {
      const member = first(rows.ChannelMember, (m) => {
        const c = rows.Channel.find((x) => x.id === m.channelId)!;
        return c.type === "dm" && m.userId !== c.createdBy;
      });
      member.role = "owner";
      return member.id!;
    },
    sql: `UPDATE channel_members SET role = 'owner'
           WHERE id = (SELECT m.id FROM channel_members m JOIN channels c ON c.id = m.channel_id WHERE c.type = 'dm' AND m.user_id <> c.created_by ORDER BY m.id LIMIT 1)
          RETURNING id`,
  },
  // A public channel's creator demoted to member.
  "creator-is-owner": {
    rows(rows) {
      const channel = first(rows.Channel, (c) => c.type === "public");
      first(rows.ChannelMember, (m) => m.channelId === channel.id && m.userId === channel.createdBy).role = "member";
      return channel.id!;
    },
    sql: `UPDATE channel_members m SET role = 'member' FROM channels c
           WHERE c.id = m.channel_id AND m.user_id = c.created_by AND c.id = (SELECT id FROM channels WHERE type = 'public' ORDER BY id LIMIT 1)
          RETURNING c.id`,
  },
  // A private channel's message credited to someone outside it.
  "author-is-member": {
    rows(rows) {
      const message = first(rows.Message, (m) => channelType(rows, m.channelId) === "private");
      message.userId = outsider(rows, message.channelId);
      return message.id!;
    },
    sql: `UPDATE messages msg SET user_id = ${outsiderSql("msg.channel_id")}
           WHERE msg.id = (SELECT x.id FROM messages x JOIN channels c ON c.id = x.channel_id WHERE c.type = 'private' ORDER BY x.id LIMIT 1)
          RETURNING msg.id`,
  },
  // A reply moved to #general (everyone is a member there; no read marker points at it).
  "reply-same-channel": {
    rows(rows) {
      const general = first(rows.Channel, (c) => c.name === "general");
      const read = new Set(rows.MessageRead.map((r) => r.lastReadMessageId));
      const reply = first(rows.Message, (m) => !!m.threadId && m.channelId !== general.id && !read.has(m.id!));
      reply.channelId = general.id!;
      return reply.id!;
    },
    sql: `UPDATE messages SET channel_id = (SELECT id FROM channels WHERE name = 'general')
           WHERE id = (SELECT r.id FROM messages r WHERE r.thread_id IS NOT NULL AND r.channel_id <> (SELECT id FROM channels WHERE name = 'general')
                         AND NOT EXISTS (SELECT 1 FROM message_reads mr WHERE mr.last_read_message_id = r.id) ORDER BY r.id LIMIT 1)
          RETURNING id`,
  },
  // A reply dated at its root's very instant.
  "reply-after-root": {
    rows(rows) {
      const reply = first(rows.Message, (m) => !!m.threadId);
      reply.createdAt = rows.Message.find((m) => m.id === reply.threadId)!.createdAt;
      return reply.id!;
    },
    sql: `UPDATE messages r SET created_at = t.created_at FROM messages t
           WHERE t.id = r.thread_id AND r.id = (SELECT id FROM messages WHERE thread_id IS NOT NULL ORDER BY id LIMIT 1)
          RETURNING r.id`,
  },
  // A reply threaded under an earlier reply of the same thread.
  "root-not-reply": {
    rows(rows) {
      const later = first(rows.Message, (b) =>
        rows.Message.some(
          (a) => a.threadId && a.threadId === b.threadId && new Date(a.createdAt!) < new Date(b.createdAt!),
        ),
      );
      const earlier = first(
        rows.Message,
        (a) => !!a.threadId && a.threadId === later.threadId && new Date(a.createdAt!) < new Date(later.createdAt!),
      );
      later.threadId = earlier.id!;
      return later.id!;
    },
    sql: `WITH pick AS (SELECT b.id AS reply, (SELECT a.id FROM messages a WHERE a.thread_id = b.thread_id AND a.created_at < b.created_at ORDER BY a.id LIMIT 1) AS parent
                          FROM messages b WHERE EXISTS (SELECT 1 FROM messages a WHERE a.thread_id = b.thread_id AND a.created_at < b.created_at) ORDER BY b.id LIMIT 1)
          UPDATE messages m SET thread_id = pick.parent FROM pick WHERE m.id = pick.reply
          RETURNING m.id`,
  },
  // A reaction in a private channel by someone outside it.
  "reaction-user-sees-channel": outsiderOnPrivateMessage("Reaction", "reactions"),
  // A read marker pointing at a message of another (public) channel.
  "read-user-sees-channel": {
    rows(rows) {
      const read = first(rows.MessageRead, () => true);
      read.lastReadMessageId = first(
        rows.Message,
        (m) => m.channelId !== read.channelId && channelType(rows, m.channelId) === "public",
      ).id!;
      return read.id!;
    },
    sql: `UPDATE message_reads mr SET last_read_message_id = (SELECT msg.id FROM messages msg JOIN channels c ON c.id = msg.channel_id WHERE c.type = 'public' AND msg.channel_id <> mr.channel_id ORDER BY msg.id LIMIT 1)
           WHERE mr.id = (SELECT id FROM message_reads ORDER BY id LIMIT 1)
          RETURNING mr.id`,
  },
  // A file in a private channel uploaded by someone outside it.
  "file-uploader-sees-channel": outsiderOnPrivateMessage("File", "files"),
  // A muted channel its user does not belong to.
  "muted-channels-joined": {
    rows(rows) {
      const notJoined = (userId: string) =>
        rows.Channel.filter((c) => !memberIds(rows, c.id!).has(userId)).sort(byId)[0];
      const settings = first(rows.UserSettings, (s) => notJoined(s.userId) !== undefined);
      settings.mutedChannels = [
        ...((settings.mutedChannels as string[] | undefined) ?? []),
        notJoined(settings.userId)!.id!,
      ];
      return settings.id!;
    },
    sql: `WITH pick AS (SELECT s.id, (SELECT c.id FROM channels c WHERE NOT EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = c.id AND m.user_id = s.user_id) ORDER BY c.id LIMIT 1) AS channel
                          FROM user_settings s WHERE EXISTS (SELECT 1 FROM channels c WHERE NOT EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = c.id AND m.user_id = s.user_id))
                         ORDER BY s.id LIMIT 1)
          UPDATE user_settings x SET muted_channels = x.muted_channels || pick.channel FROM pick WHERE x.id = pick.id
          RETURNING x.id`,
  },
};

/** The ids given to the rows a violation through a member who left adds. */
const LEFT_MEMBERSHIP_ID = "01JZZZZZZZZZZZZZZZZZZZZZZY";
const NEW_CHANNEL_ID = "01JZZZZZZZZZZZZZZZZZZZZZZW";
const NEW_OWNER_ID = "01JZZZZZZZZZZZZZZZZZZZZZZV";
/** When the member left (the membership's `deleted_at`). */
const LEFT_AT = "2025-06-01T00:00:00.000Z";

/** Adds a membership of `userId` in `channelId` that was soft-deleted: a member who left. */
function leave(rows: Rows, channelId: string, userId: string, role: "member" | "owner" = "member"): void {
  const like = first(rows.ChannelMember, () => true);
  rows.ChannelMember.push({
    ...like,
    id: LEFT_MEMBERSHIP_ID,
    channelId,
    userId,
    role,
    deletedAt: new Date(LEFT_AT),
  });
}
/** SQL: the columns and values of that membership, after `INSERT INTO channel_members`. */
const leaveSql = (channel: string, user: string, from: string, role = "member") =>
  `INSERT INTO channel_members (id, channel_id, user_id, role, deleted_at) SELECT '${LEFT_MEMBERSHIP_ID}', ${channel}, ${user}, '${role}', '${LEFT_AT}' FROM ${from}`;

/** A row hanging off a private channel's message, given to someone who left that channel. */
function leftOnPrivateMessage(model: "Reaction" | "File", table: "reactions" | "files"): PlantedViolation {
  const base = outsiderOnPrivateMessage(model, table);
  return {
    rows(rows) {
      const id = base.rows(rows);
      const row = (rows[model] as { id?: string; messageId: string; userId: string }[]).find((r) => r.id === id)!;
      leave(rows, channelOf(rows, row.messageId), row.userId);
      return id;
    },
    sql: `WITH pick AS (SELECT r.id, msg.channel_id, ${outsiderSql("msg.channel_id")} AS outsider FROM ${table} r JOIN messages msg ON msg.id = r.message_id JOIN channels c ON c.id = msg.channel_id
                         WHERE c.type = 'private' ORDER BY r.id LIMIT 1),
               moved AS (UPDATE ${table} x SET user_id = pick.outsider FROM pick WHERE x.id = pick.id RETURNING x.id),
               gone AS (${leaveSql("pick.channel_id", "pick.outsider", "pick")})
          SELECT id FROM moved`,
  };
}

/**
 * The rules that look at memberships, each broken through a member who left (a membership whose
 * `deleted_at` is set) and not otherwise: each plant breaks its rule only because a membership
 * that was left does not count (`m.deleted_at IS NULL` in the SQL, `deletedAt` in indexRows).
 * Like VIOLATIONS, each breaks that rule and no other, on exactly one row, and returns its id.
 */
export const LEFT_MEMBER_VIOLATIONS: Record<string, PlantedViolation> = {
  // A new DM whose second member left: one live member.
  "dm-two-members": {
    rows(rows) {
      const dm = first(rows.Channel, (c) => c.type === "dm");
      const other = first(rows.ChannelMember, (m) => m.channelId === dm.id && m.userId !== dm.createdBy);
      const owner = first(rows.ChannelMember, (m) => m.channelId === dm.id && m.userId === dm.createdBy);
      rows.Channel.push({ ...dm, id: NEW_CHANNEL_ID, name: "dm-planted-left" });
      rows.ChannelMember.push({ ...owner, id: NEW_OWNER_ID, channelId: NEW_CHANNEL_ID });
      leave(rows, NEW_CHANNEL_ID, other.userId);
      return NEW_CHANNEL_ID;
    },
    sql: `WITH dm AS (SELECT id, created_by FROM channels WHERE type = 'dm' ORDER BY id LIMIT 1),
               other AS (SELECT m.user_id FROM dm JOIN channel_members m ON m.channel_id = dm.id AND m.user_id <> dm.created_by ORDER BY m.id LIMIT 1),
               channel AS (INSERT INTO channels (id, name, type, created_by) SELECT '${NEW_CHANNEL_ID}', 'dm-planted-left', 'dm', created_by FROM dm RETURNING id),
               owner AS (INSERT INTO channel_members (id, channel_id, user_id, role) SELECT '${NEW_OWNER_ID}', '${NEW_CHANNEL_ID}', created_by, 'owner' FROM dm),
               gone AS (${leaveSql(`'${NEW_CHANNEL_ID}'`, "other.user_id", "other")})
          SELECT id FROM channel`,
  },
  // A new public channel whose creator, its owner, left.
  "creator-is-owner": {
    rows(rows) {
      const channel = first(rows.Channel, (c) => c.type === "public");
      rows.Channel.push({ ...channel, id: NEW_CHANNEL_ID, name: "planted-left" });
      leave(rows, NEW_CHANNEL_ID, channel.createdBy, "owner");
      return NEW_CHANNEL_ID;
    },
    sql: `WITH public AS (SELECT created_by FROM channels WHERE type = 'public' ORDER BY id LIMIT 1),
               channel AS (INSERT INTO channels (id, name, type, created_by) SELECT '${NEW_CHANNEL_ID}', 'planted-left', 'public', created_by FROM public RETURNING id),
               gone AS (${leaveSql(`'${NEW_CHANNEL_ID}'`, "created_by", "public", "owner")})
          SELECT id FROM channel`,
  },
  // A private channel's message credited to someone who left it.
  "author-is-member": {
    rows(rows) {
      const id = VIOLATIONS["author-is-member"]!.rows(rows);
      const message = rows.Message.find((m) => m.id === id)!;
      leave(rows, message.channelId, message.userId);
      return id;
    },
    sql: `WITH pick AS (SELECT x.id, x.channel_id, ${outsiderSql("x.channel_id")} AS outsider FROM messages x JOIN channels c ON c.id = x.channel_id
                         WHERE c.type = 'private' ORDER BY x.id LIMIT 1),
               moved AS (UPDATE messages msg SET user_id = pick.outsider FROM pick WHERE msg.id = pick.id RETURNING msg.id),
               gone AS (${leaveSql("pick.channel_id", "pick.outsider", "pick")})
          SELECT id FROM moved`,
  },
  // A reaction in a private channel by someone who left it.
  "reaction-user-sees-channel": leftOnPrivateMessage("Reaction", "reactions"),
  // A read marker in a private channel whose user left it.
  "read-user-sees-channel": {
    rows(rows) {
      const read = first(rows.MessageRead, (r) => channelType(rows, r.channelId) === "private");
      read.userId = outsider(rows, read.channelId);
      leave(rows, read.channelId, read.userId);
      return read.id!;
    },
    sql: `WITH pick AS (SELECT mr.id, mr.channel_id, ${outsiderSql("mr.channel_id")} AS outsider FROM message_reads mr JOIN channels c ON c.id = mr.channel_id
                         WHERE c.type = 'private' ORDER BY mr.id LIMIT 1),
               moved AS (UPDATE message_reads x SET user_id = pick.outsider FROM pick WHERE x.id = pick.id RETURNING x.id),
               gone AS (${leaveSql("pick.channel_id", "pick.outsider", "pick")})
          SELECT id FROM moved`,
  },
  // A file in a private channel uploaded by someone who left it.
  "file-uploader-sees-channel": leftOnPrivateMessage("File", "files"),
  // A muted channel its user left.
  "muted-channels-joined": {
    rows(rows) {
      const id = VIOLATIONS["muted-channels-joined"]!.rows(rows);
      const settings = rows.UserSettings.find((s) => s.id === id)!;
      leave(rows, (settings.mutedChannels as string[]).at(-1)!, settings.userId);
      return id;
    },
    sql: `WITH pick AS (SELECT s.id, s.user_id, (SELECT c.id FROM channels c WHERE NOT EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = c.id AND m.user_id = s.user_id) ORDER BY c.id LIMIT 1) AS channel
                          FROM user_settings s WHERE EXISTS (SELECT 1 FROM channels c WHERE NOT EXISTS (SELECT 1 FROM channel_members m WHERE m.channel_id = c.id AND m.user_id = s.user_id))
                         ORDER BY s.id LIMIT 1),
               muted AS (UPDATE user_settings x SET muted_channels = x.muted_channels || pick.channel FROM pick WHERE x.id = pick.id RETURNING x.id),
               gone AS (${leaveSql("pick.channel", "pick.user_id", "pick")})
          SELECT id FROM muted`,
  },
};

/**
 * Rows planted in a database seeded with the dev plan to break one of the app's validators
 * (src/plan/validators.ts), in SQL: `breaks` are statements that each return the ids of exactly
 * the rows that validator must then name; `keeps` are statements that make a row sit just
 * inside it (at a limit, or hidden by a soft delete), after which no validator names anything.
 */
export interface PlantedValidatorViolation {
  readonly breaks: readonly string[];
  readonly keeps: readonly string[];
}

/** SQL: the live message with the most live files (the first by id among them). */
const busiestMessage = `(SELECT f.message_id FROM files f WHERE f.deleted_at IS NULL GROUP BY f.message_id ORDER BY count(*) DESC, f.message_id LIMIT 1)`;
/** SQL: adds live files to that message until it holds `total`, plus `deleted` soft-deleted ones; returns the live files' ids. */
const filesOnOneMessage = (total: number, deleted: number) =>
  `WITH target AS (SELECT ${busiestMessage} AS message_id),
        have AS (SELECT count(*)::int AS n FROM files f, target WHERE f.message_id = target.message_id AND f.deleted_at IS NULL),
        model AS (SELECT f.* FROM files f, target WHERE f.message_id = target.message_id ORDER BY f.id LIMIT 1),
        added AS (INSERT INTO files (id, message_id, user_id, name, type, size, url, deleted_at)
                  SELECT '01JZZZZZZZZZZZZZZZZZZZZZ' || lpad(i::text, 2, '0'), model.message_id, model.user_id, model.name, model.type, model.size, model.url,
                         CASE WHEN i > (SELECT ${total} - n FROM have) THEN now() END
                    FROM model, generate_series(1, (SELECT ${total} - n FROM have) + ${deleted}) AS i
                  RETURNING id, deleted_at)
   SELECT f.id FROM files f, target WHERE f.message_id = target.message_id AND f.deleted_at IS NULL
   UNION SELECT id FROM added WHERE deleted_at IS NULL`;
/** SQL: soft-deletes the first thread root with a live reply (and, with `replies`, its replies too); returns its live replies' ids. */
const deleteRoot = (replies: boolean) =>
  `WITH root AS (UPDATE messages SET deleted_at = now()
                  WHERE id = (SELECT t.id FROM messages t WHERE EXISTS (SELECT 1 FROM messages r WHERE r.thread_id = t.id AND r.deleted_at IS NULL) ORDER BY t.id LIMIT 1)
                 RETURNING id)${
                   replies
                     ? `, gone AS (UPDATE messages r SET deleted_at = now() FROM root WHERE r.thread_id = root.id RETURNING r.id) SELECT id FROM gone WHERE false`
                     : ` SELECT r.id FROM messages r JOIN root ON r.thread_id = root.id WHERE r.deleted_at IS NULL`
                 }`;
const firstLiveChannel = `(SELECT id FROM channels WHERE archived_at IS NULL ORDER BY id LIMIT 1)`;
const firstFile = `(SELECT id FROM files ORDER BY id LIMIT 1)`;

export const VALIDATOR_VIOLATIONS: Record<string, PlantedValidatorViolation> = {
  "channel-name": {
    breaks: [
      `UPDATE channels SET name = 'Sarai.Larson--testuser3' WHERE id = ${firstLiveChannel} RETURNING id`,
      `UPDATE channels SET name = '9lives' WHERE id = ${firstLiveChannel} RETURNING id`,
      `UPDATE channels SET name = 'ab' WHERE id = ${firstLiveChannel} RETURNING id`,
    ],
    keeps: [`UPDATE channels SET name = 'a' || repeat('b', 48) || '9' WHERE id = ${firstLiveChannel} RETURNING id`],
  },
  "file-size": {
    breaks: [
      `UPDATE files SET size = ${10 * 1024 * 1024 + 1} WHERE id = ${firstFile} RETURNING id`,
      `UPDATE files SET size = -1 WHERE id = ${firstFile} RETURNING id`,
    ],
    keeps: [
      `UPDATE files SET size = ${10 * 1024 * 1024} WHERE id = ${firstFile} RETURNING id`,
      `UPDATE files SET size = 0 WHERE id = ${firstFile} RETURNING id`,
    ],
  },
  "file-type": {
    breaks: [`UPDATE files SET type = 'video/mp4' WHERE id = ${firstFile} RETURNING id`],
    keeps: [`UPDATE files SET type = 'application/pdf' WHERE id = ${firstFile} RETURNING id`],
  },
  "files-per-message": {
    // Six live files on one message, and a seventh that was deleted (not named).
    breaks: [filesOnOneMessage(6, 1)],
    // Five live ones and a deleted sixth: inside the limit.
    keeps: [filesOnOneMessage(5, 1)],
  },
  "google-id": {
    breaks: [
      `UPDATE users SET auth0_id = 'google-oauth2|012345678901234567890' WHERE id = (SELECT min(id) FROM users) RETURNING id`,
      `UPDATE users SET auth0_id = 'google-oauth2|1234' WHERE id = (SELECT min(id) FROM users) RETURNING id`,
    ],
    keeps: [
      `UPDATE users SET auth0_id = 'google-oauth2|112233445566778899001' WHERE id = (SELECT min(id) FROM users) RETURNING id`,
      `UPDATE users SET auth0_id = 'github|0123' WHERE id = (SELECT min(id) FROM users) RETURNING id`,
    ],
  },
  "reply-reachable": {
    // A root deleted under its live replies: they are named.
    breaks: [deleteRoot(false)],
    // The root deleted with its replies: nothing is left hanging.
    keeps: [deleteRoot(true)],
  },
};

/** SQL: gives the first row (by id) of `table` hanging off a public channel's message that has an outsider to that outsider. */
const outsiderOnPublicMessage = (table: "reactions" | "files") =>
  `WITH pick AS (SELECT r.id, ${outsiderSql("msg.channel_id")} AS outsider FROM ${table} r JOIN messages msg ON msg.id = r.message_id JOIN channels c ON c.id = msg.channel_id
                  WHERE c.type = 'public' AND ${outsiderSql("msg.channel_id")} IS NOT NULL ORDER BY r.id LIMIT 1)
   UPDATE ${table} x SET user_id = pick.outsider FROM pick WHERE x.id = pick.id RETURNING x.id`;

/**
 * Rows that sit just inside a rule, planted in SQL in a database seeded with the dev plan: each
 * statement changes at least one row, after which no check names anything. They tell a rule
 * apart from a looser one (a mutant without one of its conditions).
 */
export const RULE_KEEPS: Record<string, readonly string[]> = {
  // A second owner in a public channel: only a DM's owner must be its creator.
  "dm-owner-is-creator": [
    `UPDATE channel_members SET role = 'owner'
      WHERE id = (SELECT m.id FROM channel_members m JOIN channels c ON c.id = m.channel_id WHERE c.type = 'public' AND m.user_id <> c.created_by ORDER BY m.id LIMIT 1)
     RETURNING id`,
  ],
  // Anyone may react, upload and read in a public channel, member or not.
  "reaction-user-sees-channel": [outsiderOnPublicMessage("reactions")],
  "file-uploader-sees-channel": [outsiderOnPublicMessage("files")],
  "read-user-sees-channel": [
    `WITH pick AS (SELECT mr.id, ${outsiderSql("mr.channel_id")} AS outsider FROM message_reads mr JOIN channels c ON c.id = mr.channel_id
                    WHERE c.type = 'public' AND ${outsiderSql("mr.channel_id")} IS NOT NULL ORDER BY mr.id LIMIT 1)
     UPDATE message_reads x SET user_id = pick.outsider FROM pick WHERE x.id = pick.id RETURNING x.id`,
  ],
  // A third member of a DM who left: two members remain.
  "dm-two-members": [
    `INSERT INTO channel_members (id, channel_id, user_id, role, deleted_at)
     SELECT '${LEFT_MEMBERSHIP_ID}', c.id, ${outsiderSql("c.id")}, 'member', '${LEFT_AT}' FROM channels c WHERE c.type = 'dm' ORDER BY c.id LIMIT 1
     RETURNING id`,
  ],
};

/**
 * More planted violations, in SQL only, each telling a rule apart from a looser one that the
 * plants above would not: `how` says what is different.
 */
export const EXTRA_VIOLATIONS: Record<string, { how: string; sql: string }> = {
  // A public channel's creator demoted while another member is its owner: an owner is not enough.
  "creator-is-owner": {
    how: "while another member owns it",
    sql: `WITH channel AS (SELECT id, created_by FROM channels WHERE type = 'public' ORDER BY id LIMIT 1),
               other AS (UPDATE channel_members m SET role = 'owner' FROM channel
                          WHERE m.id = (SELECT x.id FROM channel_members x, channel WHERE x.channel_id = channel.id AND x.user_id <> channel.created_by ORDER BY x.id LIMIT 1)),
               demoted AS (UPDATE channel_members m SET role = 'member' FROM channel WHERE m.channel_id = channel.id AND m.user_id = channel.created_by)
          SELECT id FROM channel`,
  },
};
