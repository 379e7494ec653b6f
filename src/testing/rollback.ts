import { SeedError } from "../core/errors.ts";
import pg from "pg";

/**
 * A pg Pool for Prisma's driver adapter that runs a whole test in one transaction on one
 * connection and rolls it back afterwards: `begin()` before the test, `rollback()` after it.
 * Inside, the app's own transactions still work: the adapter's BEGIN, COMMIT and ROLLBACK
 * become SAVEPOINT, RELEASE SAVEPOINT and ROLLBACK TO SAVEPOINT, so a nested `$transaction`
 * commits or rolls back its part as it would, and everything vanishes at the end of the test.
 *
 * @example
 * const pool = new RollbackPool({ connectionString: process.env.DATABASE_URL });
 * const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
 * beforeEach(() => pool.begin());
 * afterEach(() => pool.rollback());
 */
export class RollbackPool extends pg.Pool {
  private connection: pg.Client | undefined;
  private readonly savepoints: string[] = [];
  private serial = 0;

  constructor(config: pg.PoolConfig) {
    super({ ...config, max: 1 });
  }

  /** Opens the test's transaction (on a connection of its own, kept until end()). */
  async begin(): Promise<void> {
    if (!this.connection) {
      this.connection = new pg.Client({ connectionString: this.options.connectionString });
      await this.connection.connect();
    }
    await this.connection.query("BEGIN");
    this.savepoints.length = 0;
  }

  /** Rolls back everything the test wrote. */
  async rollback(): Promise<void> {
    await this.connection?.query("ROLLBACK");
    this.savepoints.length = 0;
  }

  override async end(): Promise<void> {
    await this.connection?.end().catch(() => {});
    this.connection = undefined;
    await super.end();
  }

  // Everything the adapter runs outside its transactions runs in the test's transaction.
  override query(...args: unknown[]): never {
    return (this.active().query as (...a: unknown[]) => never)(...args);
  }

  // The adapter's "connection" for a transaction: the same one, with its transaction as a savepoint.
  override connect(): never {
    const connection = this.active();
    const client = {
      query: (config: string | pg.QueryConfig, values?: unknown[]) =>
        connection.query(this.translate(typeof config === "string" ? config : config.text) ?? config, values),
      release: () => {},
      on: () => client,
      removeListener: () => client,
    };
    return Promise.resolve(client) as never;
  }

  private translate(sql: string): string | undefined {
    const statement = sql.trim().toUpperCase();
    if (statement === "BEGIN") {
      const name = `chatgenius_test_tx_${++this.serial}`;
      this.savepoints.push(name);
      return `SAVEPOINT ${name}`;
    }
    if (statement === "COMMIT") return `RELEASE SAVEPOINT ${this.savepoints.pop()}`;
    if (statement === "ROLLBACK") {
      // The savepoint itself stays until the test's rollback: harmless, and one statement.
      return `ROLLBACK TO SAVEPOINT ${this.savepoints.pop()}`;
    }
    return undefined;
  }

  private active(): pg.Client {
    if (!this.connection)
      throw new SeedError(
        "INVALID_USAGE",
        "RollbackPool: call begin() before the test uses the database (e.g. in beforeEach)",
      );
    return this.connection;
  }
}
