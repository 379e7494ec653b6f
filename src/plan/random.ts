import { SeedError } from "../core/errors.ts";
import { createRequire } from "node:module";
import type { Faker } from "@faker-js/faker";

/**
 * A small, fast, seeded pseudo-random generator (sfc32) for structural choices and ids. Its
 * output depends only on the seed and the stream name: not on the machine, timezone or locale.
 *
 * @example
 * const rng = new Random(42, "users");
 * rng.int(1, 6); // the same number on every machine
 */
export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream: string) {
    const h = hashSeed(seed, stream);
    this.a = h[0]!;
    this.b = h[1]!;
    this.c = h[2]!;
    this.d = h[3]!;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0)
      throw new SeedError("INVALID_FIXTURES", "a row builder picked from an empty list: give it at least one item");
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** `count` distinct elements of `items` (all of them when count ≥ length), in random order. */
  sample<T>(items: readonly T[], count: number): T[] {
    const copy = items.slice();
    const n = Math.min(count, copy.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.next() * (copy.length - i));
      [copy[i], copy[j]] = [copy[j]!, copy[i]!];
    }
    return copy.slice(0, n);
  }
}

/**
 * A faker for one stream of values, seeded from (seed, stream) and fixed to the English
 * locale, so that adding a stream never shifts the values of another.
 *
 * Building a Faker costs about a millisecond (thousands per large seed); reseeding one costs
 * a twentieth of that and gives exactly the values of a new one. So each family of streams
 * (the name without its trailing slice number: `users:` for `users:7`) has one instance,
 * reseeded here: use it before asking for the same family's next stream.
 *
 * @example
 * fakerFor(42, "users:0").person.firstName(); // the same name on every machine
 */
export function fakerFor(seed: number, stream: string): Faker {
  const family = stream.replace(/\d+$/, "");
  let faker = fakers.get(family);
  if (!faker) {
    const locale = english().rawDefinitions;
    fakers.set(family, (faker = new FakerClass({ locale })));
  }
  faker.seed(streamSeed(seed, stream));
  return faker;
}

/** The number fakerFor seeds a stream's faker with. */
export function streamSeed(seed: number, stream: string): number {
  return hashSeed(seed, stream)[0]!;
}

const fakers = new Map<string, Faker>();

/**
 * faker's English instance, loaded on first use: only its entry for the English locale (the
 * package's main entry loads every locale), and only by runs that generate people and text.
 */
function english(): Faker {
  template ??= (createRequire(import.meta.url)("@faker-js/faker/locale/en") as { faker: Faker }).faker;
  FakerClass = template.constructor as typeof FakerClass;
  return template;
}
let template: Faker | undefined;
let FakerClass: new (options: { locale: Faker["rawDefinitions"] }) => Faker;

/** cyrb128: four 32-bit words from a seed number and a stream name. */
function hashSeed(seed: number, stream: string): number[] {
  const str = `${seed}:${stream}`;
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < str.length; i++) {
    const k = str.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}
