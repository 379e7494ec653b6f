
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

/** Where consoleSink writes: one line per call, marked by its kind. */
export interface Printer {
  start(message: string): void;
  info(message: string): void;
  success(message: string): void;
  warn(message: string): void;
}

/**
 * A Printer on two streams: `◐ starting`, `ℹ info`, `✔ success` on stdout, warnings on stderr.
 * (Our own few lines: a logging library cost more start-up than the rest of a small seed.)
 *
 * @example
 * consoleSink(createPrinter(process.stdout, process.stderr));
 */
export function createPrinter(stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Printer {
  return {
    start: (message) => void stdout.write(`◐ ${message}\n`),
    info: (message) => void stdout.write(`ℹ ${message}\n`),
    success: (message) => void stdout.write(`✔ ${message}\n`),
    warn: (message) => void stderr.write(`⚠ ${message}\n`),
  };
}

/**
 * A sink that renders events for a person. Per-table lines are shown at info
 * level; `verbose` adds transaction steps.
 *
 * @example
 * const sink = consoleSink(createPrinter(process.stdout, process.stderr));
 */
export function consoleSink(print: Printer = createPrinter(), verbose = false): SeedLogSink {
  return (event) => {
    const d = event.details;
    switch (event.operation) {
      case "start":
        if (d.step === "cache") print.info(`rows from the plan cache (${number(d.rows)} rows, ${megabytes(d.bytes)}): nothing to generate`);
        else if (d.step === "constraints") print.info(`foreign keys (${d.foreignKeys}), keys (${d.keys ?? 0}) and indexes (${d.indexes}) dropped for the load; rebuilt and checked before commit`);
        else if (d.step === "run") print.start(`${d.command ?? "seed"} ${d.target} (profile ${d.profile}, seed ${d.seed}, scale ${d.scale}${d.dryRun ? ", dry run" : ""})`);
        else if (d.step === "migration") print.info(`applying migration ${d.name}`);
        else if (verbose) print.info(`${d.step}: ${d.action ?? "start"}`);
        break;
      case "cleanup":
        if (d.table) print.info(`cleanup ${d.table}: ${d.rows} rows removed`);
        else print.info(String(d.message ?? "cleanup"));
        break;
      case "insert":
        if (d.step === "progress") print.info(formatProgress(d));
        else print.info(`insert ${d.table}: ${d.rows} rows in ${d.ms} ms`);
        break;
      case "complete":
        if (d.step === "run") print.success(`done in ${d.durationMs} ms: ${d.totalRows} rows`);
        else if (d.step === "transaction") print.success("transaction committed");
        else if (d.step === "migration") print.success(`migration ${d.name} applied`);
        else if (d.step === "constraints") print.success(`foreign keys, keys and indexes rebuilt and validated in ${d.ms} ms`);
        else if (d.step === "cache" && d.action === "saved") print.info(`plan cached for the next run (${megabytes(d.bytes)}; SEED_CACHE=0 turns this off)`);
        else if (d.step === "cache") print.warn(String(d.message));
        else if (d.message) print.success(String(d.message));
        break;
      case "error":
        // The CLI ends a failed run with the one line that says what to do; repeat nothing here.
        if (verbose && d.step === "transaction") print.warn("transaction rolled back: the database is as it was before the run");
        break;
    }
  };
}

const number = (n: unknown) => Math.round(Number(n)).toLocaleString("en-US");
const megabytes = (n: unknown) => `${number(Number(n) / 1024 / 1024)} MB`;

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
    (typeof e.error === "object" && e.error !== null && typeof (e.error as Record<string, unknown>).code === "string" && typeof (e.error as Record<string, unknown>).message === "string");
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
