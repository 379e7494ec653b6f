/** The operations a seed reports; one list feeds the type and the runtime check. */
export const OPERATIONS = ["start", "cleanup", "insert", "complete", "error"] as const;
export type SeedOperation = (typeof OPERATIONS)[number];

/** One event of a run, as `--json` prints it (one per line). */
export interface SeedLogEvent {
  /** ISO 8601, UTC. */
  timestamp: string;
  operation: SeedOperation;
  details: Record<string, unknown>;
  error?: { code: string; message: string };
}

/** Where events go: the terminal, JSON lines, or a test's array. */
export type SeedLogSink = (event: SeedLogEvent) => void;

/** Emits events with a timestamp; the clock is injectable for tests. */
export interface EventLog {
  emit(operation: SeedOperation, details: Record<string, unknown>, error?: SeedLogEvent["error"]): void;
}

/**
 * An EventLog that stamps each event and hands it to `sink`.
 *
 * @example
 * const events: SeedLogEvent[] = [];
 * createEventLog((e) => events.push(e)).emit("start", { step: "run" });
 */
export function createEventLog(sink: SeedLogSink, clock: () => Date = () => new Date()): EventLog {
  return {
    emit(operation, details, error) {
      sink({ timestamp: clock().toISOString(), operation, details, ...(error ? { error } : {}) });
    },
  };
}

/** A sink that discards everything (the default for library calls). */
export const silentSink: SeedLogSink = () => {};

/**
 * A sink that writes each event as one line of JSON (`--json`). BigInt values become strings.
 *
 * @example
 * const sink = jsonSink((line) => process.stdout.write(line));
 */
export function jsonSink(write: (line: string) => void): SeedLogSink {
  return (event) => write(`${JSON.stringify(event, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}\n`);
}

const number = (n: unknown) => Math.round(Number(n)).toLocaleString("en-US");

/** One progress line: rows done (of the estimate), rows/s, time left, rows per table. */
export function formatProgress(d: Record<string, unknown>): string {
  const of = d.expectedRows ? ` of ~${number(d.expectedRows)}` : "";
  const eta = typeof d.etaMs === "number" ? `, ~${Math.ceil(d.etaMs / 1000)} s left` : "";
  const tables = Object.entries((d.tables ?? {}) as Record<string, number>)
    .filter(([, rows]) => rows > 0)
    .map(([name, rows]) => `${name} ${number(rows)}`)
    .join(", ");
  return `writing: ${number(d.rows)}${of} rows, ${number(d.rowsPerSecond)} rows/s${eta} (${tables})`;
}

/** True when `value` has the shape of a SeedLogEvent. */
export function isSeedLogEvent(value: unknown): value is SeedLogEvent {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  const okError =
    e.error === undefined ||
    (typeof e.error === "object" &&
      e.error !== null &&
      typeof (e.error as Record<string, unknown>).code === "string" &&
      typeof (e.error as Record<string, unknown>).message === "string");
  return (
    typeof e.timestamp === "string" &&
    !Number.isNaN(Date.parse(e.timestamp)) &&
    new Date(e.timestamp).toISOString() === e.timestamp &&
    OPERATIONS.includes(e.operation as SeedOperation) &&
    typeof e.details === "object" &&
    e.details !== null &&
    okError
  );
}
