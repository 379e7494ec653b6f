import pg from "pg";
import { describe, expect, it } from "vitest";
import { copyInto, encodeChunk, encodeCopy } from "../../src/write/copy.ts";
import { TABLES, tableOf, type Rows } from "../../src/core/datamodel.ts";
import { buildPlan, emptyRows } from "../../src/plan/plan.ts";
import { tableFingerprints } from "../../src/write/fingerprint.ts";
import { tablesWithModelColumns, TableFingerprint } from "../../src/write/fingerprint.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { useTestDatabase } from "../helpers/db.ts";

const db = useTestDatabase("rowprint");

/** Loads rows into a temporary copy of their table and fingerprints it in SQL, as db:verify does. */
async function sqlFingerprint(model: Parameters<typeof tableOf>[0], rows: Record<string, unknown>[]): Promise<string> {
  const table = tableOf(model);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query("BEGIN");
    await client.query(`CREATE TEMP TABLE scratch (LIKE "${table.name}") ON COMMIT DROP`);
    await copyInto(client, table, Buffer.from(encodeCopy(table, rows)), "scratch");
    const prints = await tableFingerprints(
      async <T>(sql: string) => (await client.query(sql)).rows as T[],
      [table],
      () => "scratch",
    );
    return prints[table.name]!;
  } finally {
    await client.query("ROLLBACK").catch(() => {});
    await client.end();
  }
}

function streamed(model: Parameters<typeof tableOf>[0], rows: Record<string, unknown>[]): string | null {
  const print = new TableFingerprint(tableOf(model));
  for (const row of rows) print.add(row);
  return print.value();
}

/** The same, as the writer computes it on the bulk path: from the chunk's COPY lines. */
function fromCopyLines(model: Parameters<typeof tableOf>[0], rows: Record<string, unknown>[]): string | null {
  const table = tableOf(model);
  const print = new TableFingerprint(table);
  for (const part of encodeChunk({ ...emptyRows(), [model]: rows } as Rows).tables) {
    expect(part.fingerprintFromCopy, `${table.name}: every value printed exactly`).toBe(true);
    print.addCopyLines(part.data);
  }
  return print.value();
}

describe("fingerprints computed while rows stream", () => {
  it("equal what PostgreSQL computes from the rows' text, for every table of a seed", async () => {
    const plan = buildPlan({ profile: "dev", seed: 4 });
    for (const table of TABLES) {
      const rows = plan.rows[table.model] as unknown as Record<string, unknown>[];
      expect(streamed(table.model, rows), table.name).toBe(await sqlFingerprint(table.model, rows));
    }
  });

  it("equal PostgreSQL's for text that needs quoting and escaping, JSON, arrays and fractions of seconds", async () => {
    const [message] = buildPlan({ profile: "minimal" }).rows.Message;
    const awkward = [
      "",
      " ",
      "a,b",
      'say "hi"',
      "back\\slash",
      "(paren)",
      "tab\there",
      "new\nline",
      "cr\rx",
      "ünïcödé ✓ 👋",
      "NULL",
      "{brace}",
      "\u0001ctl",
    ];
    const messages = awkward.map((content, i) => ({
      ...message!,
      id: `01JH${String(i).padStart(22, "0")}`,
      content,
      createdAt: new Date(Date.UTC(2025, 0, 6, 9, 0, 0, [0, 100, 120, 123, 5][i % 5]!)),
      edited: i % 2 === 0,
      threadId: null,
      deletedAt: i % 3 ? null : new Date(Date.UTC(2025, 1, 1)),
    }));
    const expected = await sqlFingerprint("Message", messages);
    expect(streamed("Message", messages)).toBe(expected);
    expect(fromCopyLines("Message", messages)).toBe(expected);
    const [settings] = buildPlan({ profile: "minimal" }).rows.UserSettings;
    const variants = [
      {
        mutedChannels: ["01JH0000000000000000000001", "01JH0000000000000000000002"],
        notifications: { enabled: false, email: true, "a b": 'q"\\' },
      },
      { mutedChannels: [], notifications: { nested: { z: 1, a: [1, "x", null, true] }, bb: -3 } },
      { mutedChannels: null, notifications: {} },
      { notifications: { é: "ü", e: "\n" } },
    ].map((v, i) => ({ ...settings!, ...v, id: `01JH${String(i).padStart(22, "0")}` }));
    const settingsPrint = await sqlFingerprint("UserSettings", variants);
    expect(streamed("UserSettings", variants)).toBe(settingsPrint);
    expect(fromCopyLines("UserSettings", variants)).toBe(settingsPrint);
  });

  it.each([
    ["dev", { profile: "dev", scale: 2, seed: 5 }],
    ["edge (every hostile string)", { profile: "edge" }],
  ] as const)(
    "are what a bulk seed of %s records, so db:verify needs no second pass over the rows",
    async (_name, plan) => {
      await seedDatabase({ env: {}, databaseUrl: db.url, ...plan, method: "copy" });
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        const [run] = (
          await client.query(
            `SELECT fingerprints FROM seed_runs WHERE status = 'success' ORDER BY started_at DESC LIMIT 1`,
          )
        ).rows;
        await client.query("BEGIN");
        const query = async <T>(sql: string) => (await client.query(sql)).rows as T[];
        expect(await tablesWithModelColumns(query, TABLES)).toEqual(new Set(TABLES.map((t) => t.name)));
        expect(run.fingerprints).toEqual(await tableFingerprints(query));
      } finally {
        await client.query("ROLLBACK").catch(() => {});
        await client.end();
      }
    },
  );
});
