// The SQL mutants of a check: every predicate of its WHERE, ON and subquery conditions removed,
// and negated, one at a time. scripts/sql-mutation.ts runs the tests that plant the check's
// violations against each; a mutant that no test notices is a survivor.

/** One changed version of a check's SQL. */
export interface SqlMutant {
  /** What was changed: `remove` or `negate`, and the predicate. */
  readonly description: string;
  readonly sql: string;
}

const KEYWORD = /\b(WHERE|ON|AND|OR|ORDER BY|GROUP BY|LIMIT|JOIN|LEFT JOIN|FROM|SELECT)\b/y;
const STARTS_PREDICATE = new Set(["WHERE", "ON", "AND", "OR"]);

/** The depth of parentheses at every position of `sql`, quotes skipped. */
function depths(sql: string): number[] {
  const out: number[] = [];
  let depth = 0;
  let quoted = false;
  for (const ch of sql) {
    if (ch === "'") quoted = !quoted;
    if (!quoted && ch === "(") depth += 1;
    out.push(depth);
    if (!quoted && ch === ")") depth -= 1;
  }
  return out;
}

/** Positions of the keywords of `sql` outside quotes, with their text. */
function keywords(sql: string): { at: number; word: string }[] {
  const out: { at: number; word: string }[] = [];
  let quoted = false;
  for (let i = 0; i < sql.length; i++) {
    if (sql[i] === "'") quoted = !quoted;
    if (quoted || (i > 0 && /\w/.test(sql[i - 1]!))) continue;
    KEYWORD.lastIndex = i;
    const match = KEYWORD.exec(sql);
    if (match) {
      out.push({ at: i, word: match[1]!.replace(/\s+/g, " ") });
      i += match[0].length - 1;
    }
  }
  return out;
}

/**
 * The predicates of `sql`: each operand of WHERE, ON, AND and OR, at any depth (subqueries
 * included), from after its keyword to the next keyword at its own depth or the end of its
 * parentheses; the first operand of a parenthesized AND/OR group too. A parenthesized group of
 * predicates is one predicate and its parts are others. `joiner` is what removing it means:
 * TRUE among ANDs, FALSE among ORs.
 */
export function predicates(sql: string): { start: number; end: number; text: string; joiner: "TRUE" | "FALSE" }[] {
  const depth = depths(sql);
  const words = keywords(sql);
  const starts = new Map<number, string>();
  for (const word of words) {
    if (!STARTS_PREDICATE.has(word.word)) continue;
    starts.set(word.at + word.word.length, word.word);
    if (word.word !== "AND" && word.word !== "OR") continue;
    // The group this AND/OR is in: its first operand starts after the "(" (unless it is a subquery's).
    let open = word.at;
    while (open >= 0 && !(sql[open] === "(" && depth[open] === depth[word.at])) open -= 1;
    if (open >= 0 && !/^\(\s*SELECT\b/.test(sql.slice(open))) starts.set(open + 1, "(");
  }
  const out: { start: number; end: number; text: string; joiner: "TRUE" | "FALSE" }[] = [];
  for (const [from, keyword] of [...starts].sort((a, b) => a[0] - b[0])) {
    let start = from;
    while (/\s/.test(sql[start] ?? "")) start += 1;
    const level = depth[start]! - (sql[start] === "(" ? 1 : 0);
    const next = words.find((w) => w.at > start && depth[w.at] === level);
    let end = sql.length;
    for (let i = start; i < sql.length; i++) {
      if ((sql[i] === ")" && depth[i] === level) || i === next?.at) {
        end = i;
        break;
      }
    }
    const text = sql.slice(start, end).trimEnd();
    const joiner = keyword === "OR" || /^OR\b/.test(sql.slice(end).trimStart()) ? "FALSE" : "TRUE";
    out.push({ start, end: start + text.length, text, joiner });
  }
  return out;
}

/**
 * Every mutant of `sql`: each predicate removed (replaced by TRUE among ANDs, FALSE among ORs)
 * and each negated (`NOT (…)`).
 *
 * @example
 * sqlMutants("SELECT c.id FROM channels c WHERE c.type = 'dm' AND c.deleted_at IS NULL").length; // 4
 */
export function sqlMutants(sql: string): SqlMutant[] {
  const out: SqlMutant[] = [];
  const seen = new Set<string>([sql]);
  for (const p of predicates(sql)) {
    const short = p.text.replace(/\s+/g, " ");
    for (const [kind, replacement] of [
      ["remove", p.joiner],
      ["negate", `NOT (${p.text})`],
    ] as const) {
      const mutated = sql.slice(0, p.start) + replacement + sql.slice(p.end);
      if (seen.has(mutated)) continue;
      seen.add(mutated);
      out.push({ description: `${kind} ${short}`, sql: mutated });
    }
  }
  return out;
}
