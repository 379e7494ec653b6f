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
  for (let i = 0; i < 16; i++) out += CROCKFORD[Math.floor(random.next() * 32)];
  return out;
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
  let out = "";
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}
