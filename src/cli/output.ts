import type { ConsolaInstance, LogObject } from "consola/core";
import { formatProgress, type SeedLogSink } from "../core/log.ts";

/** Where the human output goes, and whether stdout is a terminal (a live line) or not (a line per phase). */
export interface Screen {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
}

const ICONS: Partial<Record<string, string>> = {
  start: "◐",
  info: "ℹ",
  success: "✔",
  ready: "✔",
  warn: "⚠",
  debug: "⚙",
};

/**
 * consola over the CLI's own streams: info and above by default, debug with `--verbose`;
 * warnings and errors on stderr. Loaded only by runs that print for a person (not `--help`,
 * not a bad flag, not `--json`): its start-up is paid where it is used.
 *
 * @example
 * const logger = await createLogger({ stdout: process.stdout, stderr: process.stderr }, false);
 */
export async function createLogger(screen: Screen, verbose: boolean): Promise<ConsolaInstance> {
  const { createConsola } = await import("consola/core");
  const reporter = {
    log(entry: LogObject) {
      const text = entry.args.map(String).join(" ");
      const stream = entry.level < 2 ? screen.stderr : screen.stdout;
      stream.write(`${ICONS[entry.type] ?? "ℹ"} ${text}\n`);
    },
  };
  return createConsola({ level: verbose ? 4 : 3, reporters: [reporter], throttle: 0 });
}

/**
 * The sink a person reads: quiet by default. The run's start, one line per phase (on a
 * terminal: one live line instead, rewritten in place: phase, rows, rate, time left), cache
 * and migration results and every warning; each table's cleanup and insert lines and the
 * transaction's steps only with `--verbose` (debug). The summary follows once, from the CLI.
 *
 * @example
 * const sink = humanSink(await createLogger(screen, false), screen);
 */
export function humanSink(logger: ConsolaInstance, screen: Screen): SeedLogSink {
  const live = screen.stdout.isTTY === true;
  let line = "";
  let phase:
    | { name: "cleanup"; tables: number; rows: number }
    | { name: "write"; rows: number; tables: number }
    | null = null;
  const show = (text: string) => {
    if (!live) return;
    line = text;
    screen.stdout.write(`\r\x1b[2K◐ ${text}`);
  };
  const clear = () => {
    if (line) screen.stdout.write("\r\x1b[2K");
    line = "";
  };
  // Another line goes out: the live line makes way, and is drawn again after it.
  const print = (write: () => void) => {
    const kept = line;
    clear();
    write();
    if (kept) show(kept);
  };
  const endPhase = () => {
    if (!phase) return;
    const done = phase;
    phase = null;
    if (live) return;
    if (done.name === "cleanup")
      logger.info(`cleanup: ${done.tables} tables emptied, ${number(done.rows)} rows removed`);
    else logger.info(`write: ${number(done.rows)} rows into ${done.tables} tables`);
  };
  return (event) => {
    const d = event.details;
    switch (event.operation) {
      case "start":
        if (d.step === "run")
          print(() =>
            logger.start(
              `${d.command ?? "seed"} ${d.target} (profile ${d.profile}, seed ${d.seed}, scale ${d.scale}${d.dryRun ? ", dry run" : ""})`,
            ),
          );
        else if (d.step === "cache")
          print(() =>
            logger.info(
              `rows from the plan cache (${number(d.rows)} rows, ${megabytes(d.bytes)}): nothing to generate`,
            ),
          );
        else if (d.step === "lock")
          print(() =>
            logger.warn(
              `waiting for another seed or reset of this database (${d.holder ?? "pid unknown"}), up to ${Math.round(Number(d.waitMs) / 1000)} s`,
            ),
          );
        else if (d.step === "constraints")
          print(() =>
            logger.debug(
              `foreign keys (${d.foreignKeys}), keys (${d.keys ?? 0}) and indexes (${d.indexes}) dropped for the load; rebuilt and checked before commit`,
            ),
          );
        else if (d.step === "migration") print(() => logger.debug(`applying migration ${d.name}`));
        else print(() => logger.debug(`${d.step}: ${d.action ?? "start"}`));
        break;
      case "cleanup":
        if (d.table) {
          if (phase?.name !== "cleanup") phase = { name: "cleanup", tables: 0, rows: 0 };
          phase.tables += 1;
          phase.rows += Number(d.rows);
          print(() => logger.debug(`cleanup ${d.table}: ${d.rows} rows removed`));
          show(`cleanup: ${phase.tables} tables emptied, ${number(phase.rows)} rows removed`);
        } else print(() => logger.info(String(d.message ?? "cleanup")));
        break;
      case "insert":
        if (phase?.name !== "write") {
          endPhase();
          phase = { name: "write", rows: 0, tables: 0 };
        }
        if (d.step === "progress") {
          show(formatProgress(d));
        } else {
          phase.rows += Number(d.rows);
          phase.tables += 1;
          print(() => logger.debug(`insert ${d.table}: ${d.rows} rows in ${d.ms} ms`));
          show(`write: ${number(phase.rows)} rows into ${phase.tables} tables`);
        }
        break;
      case "complete":
        if (d.step === "transaction") {
          endPhase();
          clear();
          logger.debug("transaction committed");
        } else if (d.step === "run") {
          endPhase();
          clear();
          logger.debug(`done in ${d.durationMs} ms: ${d.totalRows} rows`);
        } else if (d.step === "migration") print(() => logger.debug(`migration ${d.name} applied`));
        else if (d.step === "constraints")
          print(() => logger.debug(`foreign keys, keys and indexes rebuilt and validated in ${d.ms} ms`));
        else if (d.step === "cache" && d.action === "saved")
          print(() => logger.info(`plan cached for the next run (${megabytes(d.bytes)}; SEED_CACHE=0 turns this off)`));
        else if (d.step === "cache") print(() => logger.warn(String(d.message)));
        else if (d.message) print(() => logger.success(String(d.message)));
        break;
      case "error":
        clear();
        phase = null;
        // The CLI ends a failed run with the one line that says what to do; repeat nothing here.
        if (d.step === "transaction") logger.debug("transaction rolled back: the database is as it was before the run");
        break;
    }
  };
}

const number = (n: unknown) => Math.round(Number(n)).toLocaleString("en-US");
const megabytes = (n: unknown) => `${number(Number(n) / 1024 / 1024)} MB`;
