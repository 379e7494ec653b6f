// Per-test rollback for a Prisma 7 client: each test's writes vanish after it, and the app's own
// nested $transaction still commits or rolls back its part inside the test. The rows a test
// needs come from a scenario, written through the same client.
import { PrismaPg } from "@prisma/adapter-pg";
import { afterAll, afterEach, beforeEach, expect, it } from "vitest";
import { scenario } from "chatgenius-seed/scenario";
import { RollbackPool } from "chatgenius-seed/testing";
import { PrismaClient } from "../../src/generated/prisma/client.ts";

const pool = new RollbackPool({ connectionString: process.env.DATABASE_URL });
const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
beforeEach(() => pool.begin());
afterEach(() => pool.rollback());
afterAll(async () => {
  await prisma.$disconnect();
  await pool.end();
});

/** A public channel of that name, created by testuser1 (recycled from the seeded baseline). */
function channelNamed(name: string) {
  const s = scenario();
  s.channel({ name });
  return s;
}

it("writes a channel inside the test", async () => {
  await channelNamed("rollback-demo").create(prisma);
  expect(await prisma.channel.count({ where: { name: "rollback-demo" } })).toBe(1);
});

it("does not see the previous test's channel", async () => {
  expect(await prisma.channel.count({ where: { name: "rollback-demo" } })).toBe(0);
});

it("keeps a nested $transaction's commit and undoes its rollback, within the test", async () => {
  await prisma.$transaction(async (tx) => {
    await channelNamed("committed-part").create(tx);
  });
  await expect(
    prisma.$transaction(async (tx) => {
      await channelNamed("rolled-back-part").create(tx);
      throw new Error("the app's transaction fails");
    }),
  ).rejects.toThrow("the app's transaction fails");
  expect(await prisma.channel.count({ where: { name: { in: ["committed-part", "rolled-back-part"] } } })).toBe(1);
});
