import { readFileSync } from "node:fs";
import { PrismaPg } from "@prisma/adapter-pg";
import {
  bindMigrationAwareSqlAdapterFactory,
  ColumnTypeEnum,
  type SqlQuery,
  type SqlResultSet,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import * as glue from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { ScratchDatabase } from "./scratch.ts";

/** One migration folder as Prisma's engine takes it: the folder's name and its SQL. */
export interface MigrationSource {
  readonly name: string;
  readonly sql: string;
}

/** The Prisma schema to reach: its file name (for the engine's error lines) and its text. */
export interface SchemaSource {
  readonly path: string;
  readonly content: string;
}

let loaded: Promise<void> | undefined;
/** The message of the engine's last panic (a WebAssembly trap carries none of its own). */
let lastPanic: string | undefined;

/**
 * What the schema engine said when it last panicked, if it did. A panic aborts the engine from
 * inside a callback, so it reaches the process as an uncaught `RuntimeError: unreachable`: the
 * caller's handler of uncaught errors shows this instead.
 *
 * @example
 * process.on("uncaughtException", (error) => console.error(lastEnginePanic() ?? error.message));
 */
export function lastEnginePanic(): string | undefined {
  return lastPanic;
}

interface WasmApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
}

/**
 * Instantiates Prisma's schema engine compiled to WebAssembly (`@prisma/schema-engine-wasm`),
 * once per process. The package's own entry imports the .wasm file as an ES module, which Node
 * 20 does not do without a flag, so its bindings are wired to the module here instead.
 */
function loadEngine(): Promise<void> {
  loaded ??= (async () => {
    const file = new URL("./schema_engine_bg.wasm", import.meta.resolve("@prisma/schema-engine-wasm/schema_engine_bg"));
    // The engine hands its panic message to this global before it aborts; without one, a panic
    // ends in a TypeError that says nothing about it.
    const registry = globalThis as unknown as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(text: string): void } };
    registry.PRISMA_WASM_PANIC_REGISTRY ??= { set_message: (text) => (lastPanic = text) };
    // Node has WebAssembly; the project's types (ES2023, no DOM) do not describe it.
    const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: WasmApi };
    const { instance } = await wasm.instantiate(readFileSync(file), { "./schema_engine_bg.js": glue });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
  })();
  return loaded;
}

/**
 * The SQL that takes a database from the schema `migrations` produce to `schema`, as Prisma's
 * `migrate diff --from-migrations … --to-schema … --script` writes it; "" when they agree. The
 * engine applies the migrations to a database of `scratch` (its shadow database) and compares
 * what they built with the schema; each database it opens is dropped before this returns.
 * Throws the engine's error (its `code` is Prisma's, e.g. P1012 for a schema that does not
 * validate, P3006 for a migration that fails to apply).
 *
 * @example
 * const sql = await diffMigrationsToSchema(readMigrations(), { path: "schema.prisma", content }, () => scratchDatabase(env, cwd));
 */
export async function diffMigrationsToSchema(
  migrations: readonly MigrationSource[],
  schema: SchemaSource,
  scratch: () => Promise<ScratchDatabase>,
): Promise<string> {
  await loadEngine();
  const adapters = scratchAdapters(scratch);
  try {
    const engine = await glue.SchemaEngine.new(
      { datamodels: [[schema.path, schema.content]] },
      // The engine's own log lines (JSON, level INFO): nothing a user needs.
      () => {},
      bindMigrationAwareSqlAdapterFactory(adapters.factory),
    );
    try {
      const result = await engine.diff({
        from: {
          tag: "migrations",
          // The engine reads nothing from disk (WebAssembly): the folder's name is for its messages.
          baseDir: "prisma/migrations",
          lockfile: { path: "migration_lock.toml", content: 'provider = "postgresql"\n' },
          shadowDbInitScript: "",
          migrationDirectories: migrations.map((m) => ({
            path: m.name,
            migrationFile: { path: "migration.sql", content: { tag: "ok", value: m.sql } },
          })),
        },
        to: { tag: "schemaDatamodel", files: [{ path: schema.path, content: schema.content }] },
        script: true,
        exitCode: null,
        filters: { externalTables: [], externalEnums: [] },
      });
      return result.stdout ?? "";
    } finally {
      engine.free();
    }
  } catch (error) {
    // The engine reports a failed connection as its own "external connector error": the
    // scratch database's error says what is wrong and how to fix it.
    throw adapters.failure ?? error;
  } finally {
    // The engine lets its shadow database go, but not its main connection, nor anything on an error.
    await adapters.release();
  }
}

/** PostgreSQL's type ids of "char" and text. */
const PG_CHAR = 18;
const PG_TEXT = 25;

/** What PrismaPg's adapter does inside (not part of its types): the query it runs, its error translation. */
interface PgResult {
  fields: { dataTypeID: number }[];
}
interface Queryable {
  performIO(query: SqlQuery): Promise<PgResult>;
  queryRaw(query: SqlQuery): Promise<SqlResultSet>;
  onError(error: unknown): never;
}

/**
 * Prisma's PostgreSQL adapter on scratch databases: the engine's connection and each shadow
 * database it asks for is a new scratch database, dropped when the engine lets it go (so its
 * connection is only made if the engine uses it).
 */
function scratchAdapters(scratch: () => Promise<ScratchDatabase>): {
  factory: SqlMigrationAwareDriverAdapterFactory;
  release(): Promise<void>;
  failure?: unknown;
} {
  const open = new Set<SqlDriverAdapter>();
  const connect = async (): Promise<SqlDriverAdapter> => {
    const database = await scratch().catch((error: unknown) => {
      adapters.failure ??= error;
      throw error;
    });
    let adapter: Awaited<ReturnType<PrismaPg["connect"]>>;
    try {
      adapter = await new PrismaPg({ connectionString: database.url }).connect();
    } catch (error) {
      await database.drop();
      throw error;
    }
    const pool = adapter.underlyingDriver();
    const dispose = adapter.dispose.bind(adapter);
    const queryable = adapter as unknown as Queryable;
    const { performIO, queryRaw } = queryable;
    const wrapped = Object.assign(adapter, {
      // The engine's schema describer reads catalog columns of PostgreSQL's one-byte "char" type
      // (pg_class.relkind, pg_constraint.contype, …), which PrismaPg 7.10 has no column type for
      // and refuses: PrismaPg reads them as text, and the engine is told they are characters.
      async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
        const chars: number[] = [];
        const reading = Object.create(adapter, {
          performIO: {
            value: async (q: SqlQuery) => {
              const result = await performIO.call(adapter, q);
              result.fields.forEach((field, i) => {
                if (field.dataTypeID !== PG_CHAR) return;
                chars.push(i);
                field.dataTypeID = PG_TEXT;
              });
              return result;
            },
          },
        });
        const result = await queryRaw.call(reading, query);
        for (const i of chars) result.columnTypes[i] = ColumnTypeEnum.Character;
        return result;
      },
      // PrismaPg splits a script at every ';', which cuts a function's body ($$ … ; … $$) apart:
      // a migration goes whole, as one simple query, as Prisma's native engine sends it.
      async executeScript(script: string): Promise<void> {
        try {
          await pool.query(script);
        } catch (error) {
          // PrismaPg's own translation into the error the engine understands (SQLSTATE, message).
          queryable.onError(error);
        }
      },
      async dispose(): Promise<void> {
        if (!open.delete(wrapped)) return;
        try {
          await dispose();
        } finally {
          await database.drop();
        }
      },
    });
    open.add(wrapped);
    return wrapped;
  };
  const adapters: ReturnType<typeof scratchAdapters> = {
    factory: { provider: "postgres", adapterName: "@prisma/adapter-pg", connect, connectToShadowDb: connect },
    async release() {
      for (const adapter of [...open]) await adapter.dispose();
    },
  };
  return adapters;
}
