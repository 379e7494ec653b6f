import { SeedError } from "./errors.ts";
import { datamodel, type UnseededModel } from "../generated/datamodel.ts";
import type { Prisma } from "../generated/prisma/client.ts";

/** A model of seed data, e.g. "User" (not the seeding system's own tables, such as its run history). */
export type ModelName = Exclude<Prisma.ModelName, UnseededModel>;

/** The row type a fixture builder produces for a model: Prisma's generated createMany input. */
export type RowOf<M extends Prisma.ModelName> = Exclude<
  Prisma.TypeMap["model"][M]["operations"]["createMany"]["args"]["data"],
  readonly unknown[]
>;

/** Rows for every model, as the plan holds them. */
export type Rows = { [M in ModelName]: RowOf<M>[] };

type DmmfModel = (typeof datamodel.models)[number];
type DmmfField = DmmfModel["fields"][number];

/** A foreign key of a table, as the schema declares it. */
export interface ForeignKey {
  readonly columns: readonly string[];
  readonly fields: readonly string[];
  readonly references: ModelName;
  readonly onDelete: string | null;
}

/** One column of a table, with what the seed needs to check values and the live schema. */
export interface Column {
  readonly field: string;
  readonly name: string;
  readonly type: string;
  readonly kind: string;
  readonly isList: boolean;
  readonly isRequired: boolean;
  /** The database fills it in when a row leaves it out. */
  readonly hasDefault: boolean;
  /** Max characters for VarChar/Char columns, else null. */
  readonly maxLength: number | null;
  /** The PostgreSQL type the column must have (information_schema `udt_name`). */
  readonly udtName: string;
}

/** A table of the schema: the model, its table name, columns, foreign keys and unique keys. */
export interface Table {
  readonly model: ModelName;
  /** False for the seeding system's own tables (`@seed-ignore`): never cleaned up or seeded. */
  readonly seeded: boolean;
  readonly name: string;
  readonly columns: readonly Column[];
  readonly foreignKeys: readonly ForeignKey[];
  /** Unique keys (the primary key included), as lists of field names. */
  readonly uniqueKeys: readonly (readonly string[])[];
}

const enumDbName = new Map<string, string>(datamodel.enums.map((e) => [e.name, e.dbName]));

const SCALAR_UDT: Record<string, string> = {
  String: "text",
  Boolean: "bool",
  Int: "int4",
  BigInt: "int8",
  Float: "float8",
  Decimal: "numeric",
  DateTime: "timestamp",
  Json: "jsonb",
  Bytes: "bytea",
};

const NATIVE_UDT: Record<string, string> = {
  VarChar: "varchar",
  Char: "bpchar",
  Text: "text",
  Timestamptz: "timestamptz",
  Timestamp: "timestamp",
  Uuid: "uuid",
  JsonB: "jsonb",
  Json: "json",
  Integer: "int4",
  BigInt: "int8",
};

function toColumn(field: DmmfField): Column {
  const native = field.nativeType as readonly [string, readonly string[]] | null;
  const base =
    field.kind === "enum"
      ? (enumDbName.get(field.type) ?? field.type)
      : native
        ? (NATIVE_UDT[native[0]] ?? native[0].toLowerCase())
        : (SCALAR_UDT[field.type] ?? field.type.toLowerCase());
  const maxLength =
    native && (native[0] === "VarChar" || native[0] === "Char") && native[1][0] ? Number(native[1][0]) : null;
  return {
    field: field.name,
    name: field.dbName,
    type: field.type,
    kind: field.kind,
    isList: field.isList,
    isRequired: field.isRequired,
    hasDefault: field.hasDefaultValue,
    maxLength,
    // PostgreSQL names an array type after its element type with a leading underscore.
    udtName: field.isList ? `_${base}` : base,
  };
}

function toTable(model: DmmfModel): Table {
  const scalar = model.fields.filter((f) => f.kind === "scalar" || f.kind === "enum");
  const columnOf = new Map(scalar.map((f) => [f.name, f.dbName]));
  const foreignKeys = model.fields
    .filter((f) => f.kind === "object" && f.relationFromFields.length > 0)
    .map((f) => ({
      fields: f.relationFromFields,
      columns: f.relationFromFields.map((name) => columnOf.get(name) ?? name),
      references: f.type as ModelName,
      onDelete: f.relationOnDelete,
    }));
  const uniqueKeys = [
    ...scalar.filter((f) => f.isId || f.isUnique).map((f) => [f.name]),
    ...model.uniqueFields.map((key) => [...key]),
  ];
  return {
    model: model.name as ModelName,
    name: model.dbName,
    seeded: model.seeded,
    columns: scalar.map(toColumn),
    foreignKeys,
    uniqueKeys,
  };
}

/** Every table of the schema, in the schema file's order: what the live schema must have. */
export const ALL_TABLES: readonly Table[] = datamodel.models.map(toTable);

/** The tables of seed data: what the seed cleans up and writes. */
export const TABLES: readonly Table[] = ALL_TABLES.filter((t) => t.seeded);

/**
 * An empty list of rows for every seeded model (derived from the schema).
 *
 * @example
 * emptyRows().Message.length; // 0
 */
export function emptyRows(): Rows {
  return Object.fromEntries(TABLES.map((t) => [t.model, []])) as unknown as Rows;
}

const byModel = new Map<ModelName, Table>(ALL_TABLES.map((t) => [t.model, t]));

/** The table of a model. */
export function tableOf(model: ModelName): Table {
  const table = byModel.get(model);
  if (!table) throw new SeedError("INVALID_FIXTURES", `unknown model ${model}`);
  return table;
}

/**
 * Orders tables so that every table comes after the tables its foreign keys reference
 * (parents first): the insert order. Cleanup runs it backwards. A self-relation (a message's
 * thread) does not constrain the order between tables; the writer inserts such rows parents
 * first. Ties keep the schema file's order, so the result is stable.
 *
 * @example
 * insertOrder().map((t) => t.name); // ["users", "channels", "channel_members", "messages", ...]
 */
export function insertOrder(tables: readonly Table[] = TABLES): Table[] {
  const remaining = new Map(tables.map((t) => [t.model, t]));
  const ordered: Table[] = [];
  while (remaining.size > 0) {
    const ready = [...remaining.values()].find((t) =>
      t.foreignKeys.every((fk) => fk.references === t.model || !remaining.has(fk.references)),
    );
    if (!ready) {
      const cycle = [...remaining.keys()].join(", ");
      throw new SeedError(
        "INVALID_FIXTURES",
        `the schema's relations form a cycle between ${cycle}: the seed cannot order its inserts`,
      );
    }
    ordered.push(ready);
    remaining.delete(ready.model);
  }
  return ordered;
}

/** The foreign keys of a table that point at the table itself (a message's thread root). */
export function selfReferences(table: Table): ForeignKey[] {
  return table.foreignKeys.filter((fk) => fk.references === table.model);
}

/**
 * Splits rows so that a row comes after the rows it references in its own table: first the
 * rows whose self-references are empty, then those pointing only at earlier waves.
 */
export function waves(table: Table, rows: Record<string, unknown>[]): Record<string, unknown>[][] {
  const refs = selfReferences(table).map((fk) => fk.fields[0]!);
  if (refs.length === 0) return [rows];
  const done = new Set<unknown>();
  let rest = rows;
  const out: Record<string, unknown>[][] = [];
  while (rest.length > 0) {
    const ready = rest.filter((r) => refs.every((f) => r[f] === null || r[f] === undefined || done.has(r[f])));
    if (ready.length === 0)
      throw new SeedError(
        "INVALID_FIXTURES",
        `rows of ${table.name} reference each other in a cycle: fix the fixture builder`,
      );
    for (const r of ready) done.add(r.id);
    const readySet = new Set(ready);
    rest = rest.filter((r) => !readySet.has(r));
    out.push(ready);
  }
  return out;
}
