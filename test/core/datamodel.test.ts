import { describe, expect, it } from "vitest";
import { insertOrder, selfReferences, TABLES, tableOf, type Table } from "../../src/core/datamodel.ts";

describe("table order derived from the schema's relations", () => {
  it("puts every table after every table its foreign keys reference", () => {
    const order = insertOrder();
    const position = new Map(order.map((t, i) => [t.model, i]));
    expect(order).toHaveLength(TABLES.length);
    for (const table of order) {
      for (const fk of table.foreignKeys) {
        if (fk.references === table.model) continue;
        expect(position.get(fk.references)!, `${table.name} → ${fk.references}`).toBeLessThan(
          position.get(table.model)!,
        );
      }
    }
  });

  it("orders the ChatGenius tables parents first, threads and per-user rows after what they hang off", () => {
    const position = (name: string) => insertOrder().findIndex((t) => t.name === name);
    for (const [parent, child] of [
      ["users", "channels"],
      ["channels", "channel_members"],
      ["channel_members", "messages"],
      ["messages", "reactions"],
      ["messages", "files"],
      ["messages", "message_reads"],
      ["channels", "user_settings"],
      ["users", "user_status"],
    ] as const)
      expect(position(parent), `${parent} before ${child}`).toBeLessThan(position(child));
    expect(insertOrder().map((t) => t.name)).toEqual(TABLES.filter((t) => t.seeded).map((t) => t.name));
  });

  it("recognises the messages → messages thread self-relation", () => {
    const refs = selfReferences(tableOf("Message"));
    expect(refs.map((fk) => fk.columns)).toEqual([["thread_id"]]);
    expect(refs[0]!.onDelete).toBe("Cascade");
    expect(TABLES.filter((t) => t.model !== "Message").every((t) => selfReferences(t).length === 0)).toBe(true);
  });

  it("reports a cycle between tables instead of looping", () => {
    const a = tableOf("User");
    const b = tableOf("Channel");
    const cyclic: Table[] = [
      { ...a, foreignKeys: [{ columns: ["x"], fields: ["x"], references: "Channel", onDelete: null }] },
      { ...b, foreignKeys: [{ columns: ["y"], fields: ["y"], references: "User", onDelete: null }] },
    ];
    expect(() => insertOrder(cyclic)).toThrow(/cycle between User, Channel/);
  });

  it("reads column names, lengths and delete rules from the schema", () => {
    const users = tableOf("User");
    expect(users.columns.find((c) => c.field === "auth0Id")).toMatchObject({
      name: "auth0_id",
      maxLength: 128,
      udtName: "varchar",
    });
    expect(tableOf("UserSettings").columns.find((c) => c.field === "mutedChannels")).toMatchObject({
      name: "muted_channels",
      udtName: "_varchar",
      maxLength: 26,
    });
    expect(tableOf("Channel").foreignKeys.find((fk) => fk.columns[0] === "created_by")?.onDelete).toBe("Restrict");
    expect(users.uniqueKeys).toEqual(expect.arrayContaining([["id"], ["auth0Id"], ["email"]]));
  });
});
