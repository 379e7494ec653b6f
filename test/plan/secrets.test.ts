import { describe, expect, it } from "vitest";
import { TABLES } from "../../src/core/datamodel.ts";
import { seedDatabase } from "../../src/api/seed.ts";
import { PROFILES, type Profile } from "../../src/plan/plan.ts";
import { query, useTestDatabase } from "../helpers/db.ts";

/** How many different characters a string has: random key material has many, padding few. */
function distinct(value: string): number {
  return new Set(value).size;
}

const GRAVATAR_HASH = /^https:\/\/s\.gravatar\.com\/avatar\/[0-9a-f]{32}(?=\?|$)/;

/** Shapes of secrets that must never appear in seed data. */
const SECRET_SHAPES: [string, { test(value: string): boolean }][] = [
  ["password assignment", /\b(password|passwd|pwd|pass|secret|token)\s*[:=]/i],
  ["bcrypt hash", /\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}/],
  ["argon2/scrypt hash", /\$(argon2(id|i|d)|scrypt)\$/],
  // A digest is 32+ hex digits of letters and digits mixed, many of them different: padding
  // ("aaaa…", "0000…", "abab…", as the edge profile's longest values have) is not.
  [
    "hex digest (md5/sha)",
    {
      // A Gravatar avatar's path is the MD5 of the user's public email (test/plan/states.test.ts
      // holds it to that), not a secret.
      test: (v) =>
        (v.replace(GRAVATAR_HASH, "").match(/\b[0-9a-f]{32,}\b/gi) ?? []).some(
          (run) => /[0-9]/.test(run) && /[a-f]/i.test(run) && distinct(run) >= 10,
        ),
    },
  ],
  ["JWT", /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/],
  ["private key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/],
  ["AWS access key", /\b(AKIA|ASIA)[0-9A-Z]{16}\b/],
  ["Stripe/OpenAI style key", /\b(sk|pk|rk)_(live|test)_[A-Za-z0-9]{16,}|\bsk-[A-Za-z0-9]{20,}/],
  ["GitHub token", /\bgh[pousr]_[A-Za-z0-9]{36}\b/],
  ["Slack token", /\bxox[abprs]-[A-Za-z0-9-]{10,}/],
  // A key or token encoded as base64: a long run that mixes upper case, lower case and digits
  // (URL paths of lower-case words and ids do not).
  [
    "long base64 blob",
    {
      test: (v) =>
        (v.match(/[A-Za-z0-9+/]{40,}={0,2}/g) ?? []).some(
          (run) => /[A-Z]/.test(run) && /[a-z]/.test(run) && /[0-9]/.test(run) && distinct(run) >= 16,
        ),
    },
  ],
];

const db = useTestDatabase("secrets");

/** Every text, varchar and JSON value of every seeded table, with where it was found. */
async function writtenText(): Promise<{ where: string; value: string }[]> {
  const columns = await query<{ table_name: string; column_name: string }>(
    db,
    `SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = ANY($1) AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY')`,
    [TABLES.map((t) => t.name)],
  );
  const out: { where: string; value: string }[] = [];
  for (const { table_name, column_name } of columns) {
    const rows = await query<{ id: string; v: string | null }>(
      db,
      `SELECT id, "${column_name}"::text AS v FROM "${table_name}"`,
    );
    for (const r of rows) if (r.v !== null) out.push({ where: `${table_name}.${column_name} ${r.id}`, value: r.v });
  }
  return out;
}

describe("seed data holds no secrets", () => {
  it.each([
    ...PROFILES.map(
      (profile) => [profile, { profile }] as [string, { profile: Profile; scale?: number; seed?: number }],
    ),
    ["dev at scale 3, another seed", { profile: "dev" as const, scale: 3, seed: 1234 }],
  ])("%s: no value shaped like a password, hash, JWT, API key or private key", async (_name, options) => {
    await seedDatabase({ env: {}, databaseUrl: db.url, ...options });
    const values = await writtenText();
    expect(values.length).toBeGreaterThan(50);
    const found = values.flatMap(({ where, value }) =>
      SECRET_SHAPES.filter(([, re]) => re.test(value)).map(([shape]) => `${shape} in ${where}: ${value.slice(0, 80)}`),
    );
    expect(found).toEqual([]);
  });

  it("scans every profile, edge included", () => {
    expect(PROFILES).toEqual(["minimal", "dev", "edge"]);
  });

  it("does not take padding for a secret (long runs of one or a few characters, as edge's longest values)", () => {
    const padding = [
      `https://avatars.chatgenius.example/${"a".repeat(85)}`,
      `edge.longest@${"a".repeat(55)}`,
      "0".repeat(64),
      "ab".repeat(40),
      "0123456789".repeat(4),
      "Aa1".repeat(30),
      "deadbeef".repeat(6),
    ];
    for (const sample of padding)
      expect(
        SECRET_SHAPES.filter(([, re]) => re.test(sample)).map(([shape]) => shape),
        sample,
      ).toEqual([]);
  });

  it("has patterns that do catch secrets", () => {
    const samples = [
      "password: hunter2",
      "$2b$12$KIXQJZ5uS0q0lD3Hk3v3UeWcN1b7k6mO0m5ZqQ1y7YhJ8b4nH0a9K",
      "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
      "-----BEGIN RSA PRIVATE KEY-----",
      "AKIAIOSFODNN7EXAMPLE",
      "5f4dcc3b5aa765d61d8327deb882cf99",
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "api key: dGhpcyBpcyBhIHNlY3JldCBrZXkgZm9yIHRoZSB0ZXN0cw9Zx",
    ];
    for (const sample of samples)
      expect(
        SECRET_SHAPES.some(([, re]) => re.test(sample)),
        sample,
      ).toBe(true);
  });
});
