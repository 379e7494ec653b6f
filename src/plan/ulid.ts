import type { Random } from "./random.ts";

const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const MAX_TIME = 2 ** 48 - 1;

/**
 * A ULID whose time part is `time` (so the id sorts with its row's `created_at`, to the
 * millisecond) and whose 80 random bits come from the seeded generator.
 *
 * @example
 * ulid(Date.UTC(2025, 0, 6), new Random(1, "ids")); // "01JGYR0000..." (26 characters)
 */
export function ulid(time: Date | number, random: Random): string {
  const ms = typeof time === "number" ? time : time.getTime();
  if (!Number.isInteger(ms) || ms < 0 || ms > MAX_TIME) throw new RangeError(`ULID time out of range: ${ms}`);
  let out = encodeTime(ms);
  // The same 16 draws as always (a seed's ids never change), without building 16 strings.
  for (let i = 0; i < 16; i++) out += DIGITS[(random.next() * 32) | 0];
  return out;
}

const DIGITS = [...CROCKFORD];
/** Value of each character code in Crockford base32, -1 where it is none. */
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < CROCKFORD.length; i++) VALUE[CROCKFORD.charCodeAt(i)] = i;

/**
 * The millisecond time of a ULID-shaped id (26 characters, time digits in range), or NaN:
 * the cheap check of validateChunk (ids that ulid() made, from their row's created_at).
 *
 * @example
 * ulidTimeOrNaN(ulid(1736154000000, new Random(1, "ids"))); // 1736154000000
 */
export function ulidTimeOrNaN(id: unknown): number {
  if (typeof id !== "string" || id.length !== 26) return Number.NaN;
  let ms = 0;
  for (let i = 0; i < 10; i++) {
    const code = id.charCodeAt(i);
    const v = code < 128 ? VALUE[code]! : -1;
    if (v < 0 || (i === 0 && v > 7)) return Number.NaN;
    ms = ms * 32 + v;
  }
  return ms;
}

/** The millisecond time encoded in a ULID's first 10 characters. */
export function ulidTime(id: string): number {
  let ms = 0;
  for (let i = 0; i < 10; i++) {
    const v = CROCKFORD.indexOf(id.charAt(i));
    if (v < 0) throw new RangeError(`not a ULID: ${id}`);
    ms = ms * 32 + v;
  }
  return ms;
}

/** True for a 26-character Crockford base32 string within the ULID range. */
export function isUlid(id: string): boolean {
  return /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(id);
}

function encodeTime(ms: number): string {
  // 48 bits: the low 30 in an int, the high 18 above them.
  let low = ms % 0x40000000;
  let high = (ms - low) / 0x40000000;
  const d9 = DIGITS[low & 31]!,
    d8 = DIGITS[(low >>>= 5) & 31]!,
    d7 = DIGITS[(low >>>= 5) & 31]!,
    d6 = DIGITS[(low >>>= 5) & 31]!,
    d5 = DIGITS[(low >>>= 5) & 31]!,
    d4 = DIGITS[(low >>>= 5) & 31]!;
  const d3 = DIGITS[high & 31]!,
    d2 = DIGITS[(high >>>= 5) & 31]!,
    d1 = DIGITS[(high >>>= 5) & 31]!,
    d0 = DIGITS[(high >>>= 5) & 31]!;
  return d0 + d1 + d2 + d3 + d4 + d5 + d6 + d7 + d8 + d9;
}
