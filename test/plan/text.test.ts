import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { ModelName, Rows } from "../../src/core/datamodel.ts";
import { CANONICAL_USERS } from "../../src/plan/builders/canonical.ts";
import { buildPlan, planChunks, type PlanOptions } from "../../src/plan/plan.ts";

/** A word said twice in a row, across any whitespace, in any case ("The the", "2 2"). */
const DOUBLED = /\b(\w+)\s+\1\b/i;

/** Every string value of the generated rows of a plan (streamed: scale 100 never sits in memory). */
function* texts(options: PlanOptions): Generator<{ where: string; value: string }> {
  for (const rows of planChunks(options))
    for (const model of Object.keys(rows) as ModelName[])
      for (const row of (rows as Rows)[model] as unknown as Record<string, unknown>[])
        for (const [field, value] of Object.entries(row))
          if (typeof value === "string") yield { where: `${model}.${field} ${row.id}`, value };
}

describe("generated text", () => {
  it.each<[string, PlanOptions]>([
    ["dev", { profile: "dev" }],
    ["dev --scale 100", { profile: "dev", scale: 100 }],
  ])(
    "%s: no word is doubled in any text (messages, descriptions, names, statuses, files)",
    (_name, options) => {
      const doubled: string[] = [];
      let seen = 0;
      for (const { where, value } of texts(options)) {
        seen++;
        const match = DOUBLED.exec(value);
        if (match) doubled.push(`${where}: "${match[0]}" in ${JSON.stringify(value.slice(0, 120))}`);
      }
      expect(seen).toBeGreaterThan(options.scale === 100 ? 500_000 : 5_000);
      expect(doubled.slice(0, 20)).toEqual([]);
    },
    120_000,
  );

  it("has the doubled-word check catch what the composer once wrote", () => {
    for (const slip of [
      "The the billing job audit is done",
      "@andy.kunze.2 2 people who left",
      "Immersive immersive loyalty.",
    ])
      expect(DOUBLED.test(slip), slip).toBe(true);
    expect(DOUBLED.test("the thread view, then the billing job")).toBe(false);
  });
});

describe("avatars", () => {
  const md5 = (text: string) => createHash("md5").update(text.trim().toLowerCase()).digest("hex");
  const gravatar = /^https:\/\/s\.gravatar\.com\/avatar\/([0-9a-f]{32})\?s=480&r=pg&d=(.+)$/;
  const canonical = new Set<string>(CANONICAL_USERS.map((u) => u.username));

  it("gives every generated user the picture Auth0 sends: Gravatar of their email, or Google's photo host", () => {
    const users = buildPlan({ profile: "dev", scale: 3, seed: 17 }).rows.User.filter((u) => !canonical.has(u.username));
    const kinds = new Set<string>();
    for (const user of users) {
      const url = user.avatarUrl ?? "";
      if (user.auth0Id.startsWith("google-oauth2|")) {
        expect(url, user.username).toMatch(/^https:\/\/lh3\.googleusercontent\.com\/a\/[^\s/]+=s96-c$/);
        kinds.add("google");
        continue;
      }
      const [, hash, fallback] = gravatar.exec(url) ?? [];
      expect(hash, `${user.username}: ${url}`).toBe(md5(user.email));
      expect(decodeURIComponent(fallback!)).toMatch(/^https:\/\/cdn\.auth0\.com\/avatars\/[a-z]{2}\.png$/);
      kinds.add("auth0");
    }
    expect(kinds).toEqual(new Set(["google", "auth0"]));
  });

  it("uses no placeholder avatar host in any profile", () => {
    for (const profile of ["minimal", "dev", "edge"] as const) {
      const avatars = buildPlan({ profile })
        .rows.User.map((u) => u.avatarUrl)
        .filter((a) => a !== null && a !== undefined);
      expect(
        avatars.filter((a) => /chatgenius\.example/.test(a!)),
        profile,
      ).toEqual([]);
    }
  });
});
