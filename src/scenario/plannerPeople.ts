import type { RowOf } from "../core/datamodel.ts";
import { DEFAULT_NOTIFICATIONS, DEFAULT_OFFLINE_SYNC } from "../plan/builders/canonical.ts";
import { HOUR, MINUTE, at } from "../plan/builders/clock.ts";
import { type Random, fakerFor } from "../plan/random.ts";
import { ulid } from "../plan/ulid.ts";
import { dmChannelName } from "../plan/validators.ts";
import { claimUsername, identityAvatar, makeUser } from "../plan/builders/users.ts";
import { invalid, ms, type AnyHandle } from "./declarations.ts";
import type { ChannelMemberOptions, ChannelOptions, UserOptions } from "./types.ts";

import {
  PlannerState,
  type ChannelState,
  type Member,
  type UserState,
  CHANNEL_WORDS,
  SCENARIO_FROM,
  SECOND,
  createdAtOf,
  overrides,
  withoutKeyAndTraits,
} from "./plannerState.ts";

/** The planner's users, channels and memberships: new ones, and the seeded baseline's. */
export abstract class PeoplePlanner extends PlannerState {
  // ---- users ------------------------------------------------------------------------------

  protected newUser(key: string, place: string, options: UserOptions, handle?: AnyHandle): UserState {
    const { rng } = this.stream(key);
    const faker = fakerFor(this.seed, `scenario:${key}`);
    const traits = new Set(options.traits ?? []);
    const made = makeUser(
      {
        rng,
        faker: () => faker,
        createdAt: createdAtOf(options, () => SCENARIO_FROM + rng.int(0, 10 * MINUTE)),
        refs: {},
      },
      {
        google: traits.has("google"),
        claimUsername: (base) => claimUsername(base, "", this.usernames),
        emailDomain: "example.net",
      },
    );
    const createdAt = ms(made.createdAt!);
    const id = made.id;
    const deletedAt = traits.has("deleted") ? createdAt + HOUR : null;
    const row: RowOf<"User"> = {
      ...made,
      updatedAt: at(deletedAt ?? createdAt),
      deletedAt: deletedAt === null ? null : at(deletedAt),
      ...overrides(options, createdAt),
    };
    // An overridden email, id or name is what Auth0 would have made the picture from.
    if (options.avatarUrl === undefined) row.avatarUrl = identityAvatar(row);
    this.usernames.add(row.username);
    this.record(handle, "User", row as unknown as Record<string, unknown>, place);
    const state: UserState = { id, username: row.username, createdAt, deleted: row.deletedAt != null, baseline: false };
    // Every user of the app has a settings and a status row.
    const settingsAt = createdAt + rng.int(SECOND, MINUTE);
    state.settings = {
      id: ulid(settingsAt, rng),
      userId: id,
      theme: rng.chance(0.7) ? "light" : "dark",
      notifications: { ...DEFAULT_NOTIFICATIONS },
      mutedChannels: [],
      offlineSync: { ...DEFAULT_OFFLINE_SYNC },
      createdAt: at(settingsAt),
      updatedAt: at(settingsAt),
    };
    const statusAt = createdAt + rng.int(SECOND, MINUTE);
    state.status = {
      id: ulid(statusAt, rng),
      userId: id,
      presence: rng.pick(["online", "away", "offline"] as const),
      statusText: null,
      statusEmoji: null,
      statusExpiry: null,
      createdAt: at(statusAt),
      updatedAt: at(statusAt),
    };
    this.record(undefined, "UserSettings", state.settings as Record<string, unknown>, `${place}.settings`);
    this.record(undefined, "UserStatus", state.status as Record<string, unknown>, `${place}.status`);
    return state;
  }

  /** The seeded baseline's users (testuser1–3), present in every profile. */
  protected baselineUser(index: number): UserState {
    this.canonicalUsers ??= this.canonical.users.map((u) => ({
      id: u.id,
      username: u.username,
      createdAt: ms(u.createdAt!),
      deleted: false,
      baseline: true,
    }));
    const user = this.canonicalUsers[index]!;
    this.baselineUsers.add(user.username);
    if (!this.contextRows.User.some((u) => u.id === user.id)) this.contextRows.User.push(this.canonical.users[index]!);
    return user;
  }

  // ---- channels ---------------------------------------------------------------------------

  protected newChannel(key: string, place: string, options: ChannelOptions, handle?: AnyHandle): ChannelState {
    const { rng } = this.stream(key);
    const faker = fakerFor(this.seed, `scenario:${key}`);
    const traits = new Set(options.traits ?? []);
    const types = (["public", "private", "dm"] as const).filter((t) => traits.has(t));
    if (types.length > 1)
      throw invalid(`${place}: traits ${types.join(" and ")} are exclusive: a channel has one type`);
    const type = options.type ?? types[0] ?? "public";
    const members: UserState[] = [];
    if (Array.isArray(options.members)) {
      for (const m of options.members) members.push(this.users.get(m)!);
    } else {
      const count = (options.members as number | undefined) ?? (type === "dm" ? 2 : 3);
      for (let i = 0; i < count; i++) {
        members.push(
          this.recycle && i < this.canonical.users.length
            ? this.baselineUser(i)
            : this.newUser(`${key}.members[${i}]`, `${place}.members[${i}]`, {}),
        );
      }
    }
    const creator = options.creator ? this.users.get(options.creator)! : members[0];
    if (!creator) throw invalid(`${place}: a channel needs a creator: give it members or a creator`);
    if (!members.includes(creator)) members.unshift(creator);
    const parents = Math.max(SCENARIO_FROM, ...members.map((m) => m.createdAt));
    const createdAt = createdAtOf(options, () => parents + rng.int(SECOND, MINUTE));
    const id = ulid(createdAt, rng);
    const suffix = rng
      .int(0, 36 ** 4 - 1)
      .toString(36)
      .padStart(4, "0");
    const word = rng.pick(CHANNEL_WORDS);
    const described = rng.chance(0.8) ? `${faker.company.catchPhrase()}.` : null;
    const others = members.filter((m) => m !== creator);
    const name =
      type === "dm" ? dmChannelName(creator.username, others[0]?.username ?? creator.username) : `${word}-${suffix}`;
    const archivedAt = traits.has("archived") ? createdAt + 6 * HOUR : null;
    const deletedAt = traits.has("deleted") ? createdAt + 12 * HOUR : null;
    const archiver = options.archivedBy ? this.users.get(options.archivedBy)! : creator;
    const row: RowOf<"Channel"> = {
      id,
      name,
      description: type === "dm" ? null : described,
      type,
      createdBy: creator.id,
      archivedAt: archivedAt === null ? null : at(archivedAt),
      archivedBy: archivedAt === null ? null : archiver.id,
      createdAt: at(createdAt),
      updatedAt: at(Math.max(createdAt, archivedAt ?? 0, deletedAt ?? 0)),
      deletedAt: deletedAt === null ? null : at(deletedAt),
      ...overrides(options, createdAt, ["creator", "members", "archivedBy"]),
    };
    this.record(handle, "Channel", row as unknown as Record<string, unknown>, place);
    const state: ChannelState = {
      id,
      name: row.name,
      type: row.type,
      createdAt,
      members: [],
      label: key === place ? place : `"${key}"`,
    };
    members.forEach((user, i) => {
      this.join(state, user, `${place}.members[${i}]`, user === creator ? "owner" : "member", rng);
    });
    return state;
  }

  /** The seeded baseline's `#general` (present in every profile), with its canonical members. */
  protected baselineGeneral(): ChannelState {
    if (!this.general) {
      const g = this.canonical.general;
      this.baselineChannels.add(g.name);
      this.contextRows.Channel.push(g);
      this.contextRows.ChannelMember.push(...this.canonical.members);
      // Members the database has beyond the canonical ones count for the rules, never for defaults.
      for (const m of this.context.generalMembers ?? []) this.contextMember(g.id, m);
      this.general = {
        id: g.id,
        name: g.name,
        type: "public",
        createdAt: ms(g.createdAt!),
        members: this.canonical.members.map((m, i) => ({
          userId: m.userId,
          username: this.baselineUser(i).username,
          role: m.role,
          joinedAt: ms(m.createdAt!),
          active: true,
        })),
        label: "#general",
      };
    }
    return this.general;
  }

  protected channelForMessage(): ChannelState {
    if (this.recycle) return this.baselineGeneral();
    this.defaultChannel ??= this.newChannel("default.channel", "channels[default]", {});
    return this.defaultChannel;
  }

  protected join(
    channel: ChannelState,
    user: UserState,
    place: string,
    role: "owner" | "admin" | "member",
    rng: Random,
    options: ChannelMemberOptions = {},
    handle?: AnyHandle,
  ): Member {
    const joinedAt = createdAtOf(
      options,
      () => Math.max(channel.createdAt, user.createdAt) + rng.int(SECOND, 30 * SECOND),
    );
    const left = (options.traits ?? []).includes("left") ? joinedAt + HOUR : null;
    const row: RowOf<"ChannelMember"> = {
      id: ulid(joinedAt, rng),
      channelId: channel.id,
      userId: user.id,
      role,
      createdAt: at(joinedAt),
      updatedAt: at(left ?? joinedAt),
      deletedAt: left === null ? null : at(left),
      ...overrides(options, joinedAt),
    };
    this.record(handle, "ChannelMember", row as unknown as Record<string, unknown>, place);
    const member: Member = {
      userId: user.id,
      username: user.username,
      role: row.role,
      joinedAt,
      active: !row.deletedAt && !user.deleted,
      row,
    };
    channel.members.push(member);
    return member;
  }

  protected member(
    key: string,
    place: string,
    channel: ChannelState,
    user: UserState,
    options: ChannelMemberOptions,
    handle: AnyHandle,
  ): void {
    const { rng } = this.stream(key);
    const existing = channel.members.find((m) => m.userId === user.id && m.row);
    if (existing) {
      // Already a member (as the channel's creator or one of its members): set the fields given.
      Object.assign(existing.row!, withoutKeyAndTraits(options));
      if ((options.traits ?? []).includes("left")) existing.row!.deletedAt = at(existing.joinedAt + HOUR);
      existing.role = existing.row!.role;
      existing.active = !existing.row!.deletedAt && !user.deleted;
      this.byPlace.set(handle, { model: "ChannelMember", row: existing.row as unknown as Record<string, unknown> });
      return;
    }
    // A second live membership of one user in one channel is a state the app never makes.
    if (this.contextRows.ChannelMember.some((m) => m.channelId === channel.id && m.userId === user.id && !m.deletedAt))
      throw invalid(
        `${place}: ${user.username} is already a member of ${channel.label} in the database, and a scenario does not change existing rows: drop this channelMember(), or declare a new channel`,
      );
    this.join(channel, user, place, options.role ?? "member", rng, options, handle);
  }
}
