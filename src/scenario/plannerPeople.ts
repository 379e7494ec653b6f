import type { RowOf } from "../core/datamodel.ts";
import { makeChannelMember } from "../plan/builders/channelMembers.ts";
import { makeChannel } from "../plan/builders/channels.ts";
import { makeUserSettings } from "../plan/builders/userSettings.ts";
import { makeUserStatus } from "../plan/builders/userStatus.ts";
import { HOUR, MINUTE, at } from "../plan/builders/clock.ts";
import { type Random, fakerFor } from "../plan/random.ts";
import { dmChannelName } from "../plan/validators.ts";
import { claimUsername, identityAvatar, makeUser } from "../plan/builders/users.ts";
import { invalid, ms, type AnyHandle } from "./declarations.ts";
import type { ChannelMemberOptions, ChannelOptions, UserOptions } from "./types.ts";

import {
  PlannerState,
  type ChannelState,
  type Member,
  type UserState,
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
    const createdAt = createdAtOf(options, () => SCENARIO_FROM + rng.int(0, 10 * MINUTE));
    const made = makeUser(
      { rng, faker: () => faker, createdAt, refs: {} },
      {
        google: traits.has("google"),
        deletedAt: traits.has("deleted") ? createdAt + HOUR : null,
        claimUsername: (base) => claimUsername(base, "", this.usernames),
        emailDomain: "example.net",
      },
    );
    const id = made.id;
    const row: RowOf<"User"> = { ...made, ...overrides(options, createdAt) };
    // An overridden email, id or name is what Auth0 would have made the picture from.
    if (options.avatarUrl === undefined) row.avatarUrl = identityAvatar(row);
    this.usernames.add(row.username);
    this.record(handle, "User", row as unknown as Record<string, unknown>, place);
    const state: UserState = { id, username: row.username, createdAt, deleted: row.deletedAt != null, baseline: false };
    // Every user of the app has a settings and a status row.
    const settingsAt = createdAt + rng.int(SECOND, MINUTE);
    state.settings = makeUserSettings({ rng, faker: () => faker, createdAt: settingsAt, refs: { userId: id } });
    const statusAt = createdAt + rng.int(SECOND, MINUTE);
    state.status = makeUserStatus({ rng, faker: () => faker, createdAt: statusAt, refs: { userId: id } });
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
    const others = members.filter((m) => m !== creator);
    const archiver = options.archivedBy ? this.users.get(options.archivedBy)! : creator;
    const made = makeChannel(
      { rng, faker: () => faker, createdAt, refs: { createdBy: creator.id, archivedBy: archiver.id } },
      {
        type,
        name: type === "dm" ? dmChannelName(creator.username, others[0]?.username ?? creator.username) : undefined,
        archivedAt: traits.has("archived") ? createdAt + 6 * HOUR : null,
        deletedAt: traits.has("deleted") ? createdAt + 12 * HOUR : null,
      },
    );
    const row: RowOf<"Channel"> = { ...made, ...overrides(options, createdAt, ["creator", "members", "archivedBy"]) };
    this.record(handle, "Channel", row as unknown as Record<string, unknown>, place);
    const state: ChannelState = {
      id: row.id,
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
    const made = makeChannelMember(
      {
        rng,
        faker: () => fakerFor(this.seed, `scenario:${place}`),
        createdAt: joinedAt,
        refs: { channelId: channel.id, userId: user.id },
      },
      { role, deletedAt: left },
    );
    const row: RowOf<"ChannelMember"> = { ...made, ...overrides(options, joinedAt) };
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
