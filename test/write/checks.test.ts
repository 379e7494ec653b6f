import { readFileSync } from "node:fs";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TABLES } from "../../src/core/datamodel.ts";
import { RULES } from "../../src/plan/rules.ts";
import { APP_VALIDATORS } from "../../src/plan/validators.ts";
import { INTEGRITY_CHECKS, provenOrphanChecks, runIntegrityChecks } from "../../src/write/integrity.ts";
import { useTestDatabase } from "../helpers/db.ts";
import {
  EXTRA_VIOLATIONS,
  LEFT_MEMBER_VIOLATIONS,
  RULE_KEEPS,
  VALIDATOR_VIOLATIONS,
  VIOLATIONS,
} from "../helpers/violations.ts";

// The checks' SQL against rows planted in a database seeded with the dev plan, each plant in a
// transaction that is rolled back: every rule, validator and orphan check names exactly the rows
// planted to break it, nothing for rows just inside it, nothing in the seeded rows.
// `npm run test:mutation:sql` (scripts/sql-mutation.ts) runs these same tests against mutants of
// the checks' SQL: with SQL_MUTANTS naming a file of mutants, each gets a describe of its own in
// which its check's SQL is replaced, holding the tests of that check only.
// Every change below is made in a transaction that is rolled back.
const db = useTestDatabase("checks", { rolledBack: true });
let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
});

const run = async <T>(sql: string) => (await client.query(sql)).rows as T[];
const inTransaction = async (body: () => Promise<void>) => {
  await client.query("BEGIN");
  try {
    await body();
  } finally {
    await client.query("ROLLBACK");
  }
};
const ORPHAN = "01JZZZZZZZZZZZZZZZZZZZZZZX";

/** Every planted violation of a rule: a row no member holds, through a member who left, and more. */
const PLANTS = [
  ...RULES.map((r) => [r.id, "", VIOLATIONS[r.id]!] as const),
  ...RULES.filter((r) => LEFT_MEMBER_VIOLATIONS[r.id]).map(
    (r) => [r.id, " through a member who left", LEFT_MEMBER_VIOLATIONS[r.id]!] as const,
  ),
  ...Object.entries(EXTRA_VIOLATIONS).map(([id, plant]) => [id, ` (${plant.how})`, plant] as const),
];

/** The tests of every check, or (`only`) of one check and those that find nothing in the seeded rows. */
function checkTests(only?: string): void {
  const mine = (id: string) => only === undefined || only === id;

  describe("each application rule's SQL check", () => {
    it.each(
      PLANTS.filter(([id]) => mine(id)).map(
        ([id, how, plant]) => [id, how, RULES.find((r) => r.id === id)!, plant] as const,
      ),
    )("%s names exactly the one row planted to break it%s, and no other check fails", async (id, _how, rule, plant) => {
      await inTransaction(async () => {
        const planted = await run<{ id: string }>(plant.sql);
        expect(planted).toHaveLength(1);
        expect(await run<{ id: string }>(rule.sql)).toEqual([{ id: planted[0]!.id }]);
        const failing = (await runIntegrityChecks(run)).filter((r) => r.violations > 0);
        expect(failing).toEqual([{ id, text: rule.text, violations: 1, examples: [planted[0]!.id] }]);
      });
    });

    it.each(
      Object.entries(RULE_KEEPS)
        .filter(([id]) => mine(id))
        .flatMap(([id, plants]) => plants.map((sql, i) => [id, i + 1, sql] as const)),
    )("%s names nothing for borderline row %i, just inside it (nor does any other check)", async (_id, _n, sql) => {
      await inTransaction(async () => {
        expect((await client.query(sql)).rowCount).toBeGreaterThan(0);
        expect((await runIntegrityChecks(run)).filter((r) => r.violations > 0)).toEqual([]);
      });
    });

    const thread = ["reply-same-channel", "reply-after-root", "root-not-reply"];
    if (only === undefined || thread.includes(only))
      it("counts each of the checks that share their rows apart, when all of them fail at once", async () => {
        await inTransaction(async () => {
          const planted = new Map<string, string>();
          for (const id of thread) planted.set(id, (await run<{ id: string }>(VIOLATIONS[id]!.sql))[0]!.id);
          const failing = (await runIntegrityChecks(run)).filter((r) => r.violations > 0);
          expect(failing.map((r) => r.id)).toEqual(thread);
          for (const result of failing) {
            // Each names its own planted row (one plant may also break a neighbour's rule: counted there too).
            expect(result.examples).toContain(planted.get(result.id));
            expect(result.violations).toBe(result.examples.length);
          }
        });
      });

    if (only === undefined) {
      it("runs the checks over the same rows as one statement (the thread rules), every other check alone", async () => {
        const statements: string[] = [];
        const counted = async <T>(sql: string) => {
          statements.push(sql);
          return run<T>(sql);
        };
        await runIntegrityChecks(counted);
        expect(statements).toHaveLength(INTEGRITY_CHECKS.length - 2);
        expect(statements.filter((sql) => sql.includes("FROM messages r JOIN messages t"))).toHaveLength(1);
      });

      it("runs checks over the same rows as one statement whatever their alias, counting each apart", async () => {
        const checks = [
          { id: "replies", text: "", sql: "SELECT mm.id FROM messages mm WHERE mm.thread_id IS NOT NULL" },
          { id: "roots", text: "", sql: "SELECT mm.id FROM messages mm WHERE mm.thread_id IS NULL" },
        ];
        const statements: string[] = [];
        const results = await runIntegrityChecks(async (sql) => (statements.push(sql), run(sql)), checks);
        expect(statements).toHaveLength(1);
        const [counts] = await run<{ replies: number; roots: number }>(
          "SELECT count(thread_id)::int AS replies, count(*) FILTER (WHERE thread_id IS NULL)::int AS roots FROM messages",
        );
        expect(results.map((r) => [r.id, r.violations])).toEqual([
          ["replies", counts!.replies],
          ["roots", counts!.roots],
        ]);
      });

      it("takes only a validated key to the check's own parent table as proof", async () => {
        await inTransaction(async () => {
          await client.query("CREATE TABLE channel_ids AS SELECT id FROM channels");
          await client.query("ALTER TABLE channel_ids ADD PRIMARY KEY (id)");
          await client.query("ALTER TABLE messages DROP CONSTRAINT messages_channel_id_fkey");
          await client.query(
            "ALTER TABLE messages ADD CONSTRAINT messages_channel_ids_fkey FOREIGN KEY (channel_id) REFERENCES channel_ids(id)",
          );
          const proven = await provenOrphanChecks(run);
          expect(proven.has("no-orphans:messages.channel_id")).toBe(false);
          expect(proven.get("no-orphans:messages.user_id")).toBe("messages_user_id_fkey");
        });
      });

      it("takes the seeded database's validated foreign keys as proof of their orphan checks, and skips those", async () => {
        const foreignKeys = TABLES.flatMap((t) => t.foreignKeys.map((fk) => `no-orphans:${t.name}.${fk.columns[0]}`));
        const proven = await provenOrphanChecks(run);
        expect([...proven.keys()].sort()).toEqual([...foreignKeys].sort());
        expect(proven.get("no-orphans:messages.thread_id")).toBe("messages_thread_id_fkey");
        await inTransaction(async () => {
          await client.query(`ALTER TABLE messages DROP CONSTRAINT messages_thread_id_fkey`);
          await client.query(
            `ALTER TABLE messages ADD CONSTRAINT messages_thread_id_fkey FOREIGN KEY (thread_id) REFERENCES messages(id) NOT VALID`,
          );
          await client.query(`ALTER TABLE reactions DROP CONSTRAINT reactions_user_id_fkey`);
          const left = await provenOrphanChecks(run);
          // A key that is not validated proves nothing; nor does one that is gone.
          expect([...left.keys()].sort()).toEqual(
            foreignKeys
              .filter((id) => id !== "no-orphans:messages.thread_id" && id !== "no-orphans:reactions.user_id")
              .sort(),
          );
          const statements: string[] = [];
          const results = await runIntegrityChecks(
            async (sql) => (statements.push(sql), run(sql)),
            INTEGRITY_CHECKS,
            left,
          );
          expect(results.find((r) => r.id === "no-orphans:messages.channel_id")).toEqual({
            id: "no-orphans:messages.channel_id",
            text: expect.any(String),
            violations: 0,
            examples: [],
            provenBy: "messages_channel_id_fkey",
          });
          expect(results.find((r) => r.id === "no-orphans:reactions.user_id")).toEqual({
            id: "no-orphans:reactions.user_id",
            text: "Every reactions.user_id points at an existing users row",
            violations: 0,
            examples: [],
          });
          expect(statements.some((sql) => sql.includes(`"reactions" c WHERE c."user_id" IS NOT NULL`))).toBe(true);
          expect(
            statements.some(
              (sql) =>
                sql.includes(`c."channel_id" IS NOT NULL AND NOT EXISTS (SELECT 1 FROM "channels"`) &&
                sql.includes(`FROM "messages" c`),
            ),
          ).toBe(false);
        });
      });
    }

    it("finds nothing in the seeded database (so a planted row is the only one found)", async () => {
      expect((await runIntegrityChecks(run)).filter((r) => r.violations > 0 || r.examples.length > 0)).toEqual([]);
      expect((await runIntegrityChecks(run)).map((r) => r.id)).toEqual(INTEGRITY_CHECKS.map((c) => c.id));
    });
  });

  describe("the orphan checks, where the live database lacks a foreign key", () => {
    // A live, validated foreign key proves its column and the SQL check is skipped; here the key
    // is dropped first (inside the transaction), so the SQL orphan check is the only guard.
    const foreignKeys = TABLES.flatMap((table) =>
      table.foreignKeys.map((fk) => ({ table: table.name, column: fk.columns[0]! })),
    ).filter((fk) => mine(`no-orphans:${fk.table}.${fk.column}`));
    /** The orphan checks that name something, with what they name. */
    const orphansNamed = async () =>
      (await runIntegrityChecks(run, INTEGRITY_CHECKS, await provenOrphanChecks(run)))
        .filter((r) => r.id.startsWith("no-orphans:") && r.violations > 0)
        .map(({ id, examples }) => ({ id, examples }));

    it.each(foreignKeys.map((fk) => [`${fk.table}.${fk.column}`, fk] as const))(
      "names an orphan planted in %s, with the live key dropped, and no other orphan check fails",
      async (id, { table, column }) => {
        await inTransaction(async () => {
          const [key] = await run<{ name: string }>(
            `SELECT c.conname AS name FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
              WHERE c.contype = 'f' AND c.conrelid = '"${table}"'::regclass AND a.attname = '${column}'`,
          );
          await client.query(`ALTER TABLE "${table}" DROP CONSTRAINT "${key!.name}"`);
          const [planted] = await run<{ id: string }>(
            `UPDATE "${table}" SET "${column}" = '${ORPHAN}' WHERE id = (SELECT min(id) FROM "${table}") RETURNING id`,
          );
          expect(await orphansNamed()).toEqual([{ id: `no-orphans:${id}`, examples: [planted!.id] }]);
        });
      },
    );

    if (mine("no-orphans:user_settings.muted_channels"))
      it("names a muted channel that does not exist (no foreign key can hold an array's items)", async () => {
        await inTransaction(async () => {
          const [planted] = await run<{ id: string }>(
            `UPDATE user_settings SET muted_channels = muted_channels || '${ORPHAN}'::varchar WHERE id = (SELECT min(id) FROM user_settings) RETURNING id`,
          );
          expect(await orphansNamed()).toEqual([
            { id: "no-orphans:user_settings.muted_channels", examples: [planted!.id] },
          ]);
        });
      });
  });

  describe("each app validator's SQL check", () => {
    const ids = async (sql: string) => (await run<{ id: string }>(sql)).map((r) => r.id).sort();
    /** Every validator's offending rows, by validator (those with none left out). */
    const named = async () => {
      const out: Record<string, string[]> = {};
      for (const v of APP_VALIDATORS) {
        const found = await ids(v.sql);
        if (found.length > 0) out[v.id] = found;
      }
      return out;
    };
    const validators = APP_VALIDATORS.filter((v) => mine(v.id));

    if (only === undefined)
      it("has planted violations for every validator (a new validator without any fails here)", () => {
        expect(Object.keys(VALIDATOR_VIOLATIONS).sort()).toEqual(APP_VALIDATORS.map((v) => v.id).sort());
      });

    it("names nothing in the seeded database", async () => {
      expect(await named()).toEqual({});
    });

    it.each(validators.flatMap((v) => VALIDATOR_VIOLATIONS[v.id]!.breaks.map((sql, i) => [v.id, i + 1, sql] as const)))(
      "%s names exactly the rows of planted violation %i, and no other validator names any",
      async (id, _n, sql) => {
        await inTransaction(async () => {
          const planted = await ids(sql);
          expect(planted.length).toBeGreaterThan(0);
          expect(await named()).toEqual({ [id]: planted });
        });
      },
    );

    it.each(validators.flatMap((v) => VALIDATOR_VIOLATIONS[v.id]!.keeps.map((sql, i) => [v.id, i + 1, sql] as const)))(
      "%s names nothing for borderline row %i, just inside it",
      async (_id, _n, sql) => {
        await inTransaction(async () => {
          await client.query(sql);
          expect(await named()).toEqual({});
        });
      },
    );
  });
}

/** A changed version of one check's SQL (scripts/sql-mutation.ts writes them). */
interface Mutant {
  readonly id: string;
  readonly sql: string;
  readonly description: string;
}
const mutants: Mutant[] | null = process.env.SQL_MUTANTS
  ? JSON.parse(readFileSync(process.env.SQL_MUTANTS, "utf8"))
  : null;

/** Puts `sql` into every check of that id: the rule or validator and its integrity check. */
function setSql(id: string, sql: string): void {
  const targets = [...RULES, ...APP_VALIDATORS, ...INTEGRITY_CHECKS].filter((c) => c.id === id);
  if (targets.length === 0) throw new Error(`no check ${id}`);
  for (const target of targets) (target as { sql: string }).sql = sql;
}

if (mutants === null) checkTests();
else {
  // The unmutated checks first: if they fail, every mutant would look killed.
  describe("no mutant", () => checkTests());
  for (const [i, mutant] of mutants.entries()) {
    describe(`mutant ${i}: ${mutant.id}: ${mutant.description}`, () => {
      const original = [...RULES, ...APP_VALIDATORS, ...INTEGRITY_CHECKS].find((c) => c.id === mutant.id)!.sql;
      beforeAll(() => setSql(mutant.id, mutant.sql));
      afterAll(() => setSql(mutant.id, original));
      checkTests(mutant.id);
    });
  }
}
