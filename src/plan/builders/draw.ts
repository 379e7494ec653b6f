import type { Faker } from "@faker-js/faker";
import { datamodel } from "../../generated/datamodel.ts";
import type { ModelName, RowOf } from "../../core/datamodel.ts";
import type { Random } from "../random.ts";
import { ulid } from "../ulid.ts";
import { at } from "./clock.ts";

type ModelDef<M extends ModelName> = Extract<(typeof datamodel)["models"][number], { readonly name: M }>;

/**
 * The relation fields of a model that hold its foreign keys, as the schema declares them: a
 * message's `channel`, `user` and `thread` (not its `replies`, which other rows hold).
 */
export type RelationOf<M extends ModelName> = Extract<
  ModelDef<M>["fields"][number],
  { readonly kind: "object"; readonly relationFromFields: readonly [string, ...string[]] }
>;

/** A model's foreign-key fields: `channelId`, `userId`, `threadId` of a message. */
export type ForeignKeyField<M extends ModelName> = RelationOf<M>["relationFromFields"][number] & keyof RowOf<M>;

/** A row's foreign keys, typed as its model's row types them (a nullable one may be left out). */
export type Refs<M extends ModelName> = Pick<RowOf<M>, ForeignKeyField<M>>;

/**
 * What a model's maker draws one row from. The caller decides the story (which parents, when);
 * the maker draws the rest in a fixed order, so the seed's builders and a scenario get the same
 * row from the same draw.
 *
 * @example
 * const draw: Draw<"Reaction"> = { rng, faker: () => faker, createdAt: t, refs: { messageId, userId } };
 */
export interface Draw<M extends ModelName> {
  /** The row's random stream: its id and every choice the maker makes, in the maker's order. */
  readonly rng: Random;
  /** Names and text: a faker of the row's own stream, asked for only by makers that need one. */
  readonly faker: () => Faker;
  /** When the row was made (ms): its id encodes it. */
  readonly createdAt: number;
  /** Its foreign keys. */
  readonly refs: Refs<M>;
  /** The rows its foreign keys point at, when the caller holds them (by foreign-key field). */
  readonly parents?: { readonly [F in ForeignKeyField<M>]?: Record<string, unknown> };
}

/** A model's one default row: the same implementation for the seed's builders and for scenarios. */
export type Maker<M extends ModelName> = (draw: Draw<M>) => RowOf<M>;

/**
 * A row's id and timestamps from its draw: the id encodes `createdAt` (drawn from the row's
 * stream), and the row was last changed when it was made. What a new model's maker starts from.
 *
 * @example
 * const make: Maker<"Bookmark"> = (d) => ({ ...stamp(d), ...d.refs, note: null });
 */
export function stamp(draw: { readonly rng: Random; readonly createdAt: number }): {
  id: string;
  createdAt: Date;
  updatedAt: Date;
} {
  return { id: ulid(draw.createdAt, draw.rng), createdAt: at(draw.createdAt), updatedAt: at(draw.createdAt) };
}

/** One relation holding a foreign key, read from the datamodel at run time. */
export interface Relation {
  /** The relation field's name (`channel`), which scenarios take a handle by. */
  readonly name: string;
  /** The model it points at. */
  readonly model: ModelName;
  /** The foreign-key field (`channelId`). */
  readonly field: string;
  /** False when the foreign key may be null. */
  readonly required: boolean;
}

const relationCache = new Map<string, Relation[]>();

/**
 * The relations of a model that hold a foreign key, in the schema's order.
 *
 * @example
 * relationsOf("Reaction").map((r) => r.name); // ["message", "user"]
 */
export function relationsOf(model: ModelName): readonly Relation[] {
  let relations = relationCache.get(model);
  if (!relations) {
    const def = datamodel.models.find((m) => m.name === model);
    const fields = (def?.fields ?? []) as readonly {
      name: string;
      kind: string;
      type: string;
      isRequired: boolean;
      relationFromFields: readonly string[];
    }[];
    relations = fields
      .filter((f) => f.kind === "object" && f.relationFromFields.length > 0)
      .map((f) => ({
        name: f.name,
        model: f.type as ModelName,
        field: f.relationFromFields[0]!,
        required: fields.find((s) => s.name === f.relationFromFields[0])?.isRequired ?? false,
      }));
    relationCache.set(model, relations);
  }
  return relations;
}

/** A knob's value, or a function drawing it at the maker's moment for it (the caller's stream order). */
export type Drawn<T> = T | (() => T);

/** The value of a Drawn knob, drawn now when it is a function. */
export function drawn<T>(value: Drawn<T>): T {
  return typeof value === "function" ? (value as () => T)() : value;
}
