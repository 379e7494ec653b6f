// Per-test rollback for a Prisma 7 client: each test's writes vanish after it, and the app's own
// nested $transaction still commits or rolls back its part inside the test.
import { PrismaPg } from "@prisma/adapter-pg";
import { afterAll, afterEach, beforeEach, expect, it } from "vitest";
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

const channel = (name: string) => ({ name, type: "public" as const, createdBy: "", createdAt: new Date(), updatedAt: new Date() });

it("writes a channel inside the test", async () => {
  const owner = await prisma.user.findFirstOrThrow({ where: { username: "testuser1" } });
  await prisma.channel.create({ data: { ...channel("rollback-demo"), id: "01JEXAMPLEROLLBACK00000001", createdBy: owner.id } });
  expect(await prisma.channel.count({ where: { name: "rollback-demo" } })).toBe(1);
});

it("does not see the previous test's channel", async () => {
  expect(await prisma.channel.count({ where: { name: "rollback-demo" } })).toBe(0);
});

it("keeps a nested $transaction's commit and undoes its rollback, within the test", async () => {
  const owner = await prisma.user.findFirstOrThrow({ where: { username: "testuser1" } });
  await prisma.$transaction(async (tx) => {
    await tx.channel.create({ data: { ...channel("committed-part"), id: "01JEXAMPLEROLLBACK00000002", createdBy: owner.id } });
  });
  await expect(
    prisma.$transaction(async (tx) => {
      await tx.channel.create({ data: { ...channel("rolled-back-part"), id: "01JEXAMPLEROLLBACK00000003", createdBy: owner.id } });
      throw new Error("the app's transaction fails");
    }),
  ).rejects.toThrow("the app's transaction fails");
  expect(await prisma.channel.count({ where: { name: { in: ["committed-part", "rolled-back-part"] } } })).toBe(1);
});
