import { existsSync, readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import { parseEnv } from "node:util";
import { SeedError } from "../core/errors.ts";

/** The environment as a plain record, so tests can pass their own. */
export type Env = Record<string, string | undefined>;

/** Everything a command needs to know about its target database. */
export interface DatabaseConfig {
  /** Full connection string, password included: never print it, use `target`. */
  readonly url: string;
  /** The connection string with its password replaced by `***`, safe to print. */
  readonly target: string;
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

export const DEFAULTS = {
  PGHOST: "localhost",
  PGPORT: "5432",
  PGDATABASE: "chatgenius",
  PGUSER: "postgres",
} as const;

/** The variables that mean "a server is configured": any of them, or a `.env` file. */
export const SERVER_VARIABLES = ["DATABASE_URL", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD"] as const;

/**
 * True when the user configured a database: a server variable in the environment, or a `.env`
 * file. Only then does the CLI use a server; otherwise the embedded database.
 *
 * @example
 * if (!isServerConfigured(process.env, process.cwd())) console.log("embedded");
 */
export function isServerConfigured(env: Env, cwd: string): boolean {
  return SERVER_VARIABLES.some((name) => (env[name] ?? "").trim() !== "") || existsSync(resolve(cwd, ".env"));
}

/**
 * Reads `.env` from `cwd` when it exists and returns it merged under `env`: variables already
 * set in the environment win, as with dotenv. A line that is not `NAME=value`, or a quote that
 * is never closed, is an INVALID_CONFIG error naming the file and the line.
 *
 * @example
 * const env = loadEnv({ cwd: process.cwd(), env: process.env });
 */
export function loadEnv(options: { cwd?: string; env?: Env; file?: string } = {}): Env {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const file = resolve(cwd, options.file ?? ".env");
  if (!existsSync(file)) return { ...env };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new SeedError(
      "INVALID_CONFIG",
      `cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? "error"}): fix its permissions or remove it`,
      { cause },
    );
  }
  return { ...parseEnv(normalizeDotEnv(text, relative(cwd, file) || file)), ...env };
}

/**
 * Node's parseEnv accepts anything and turns a mistake into a strange value (an unclosed quote
 * becomes part of DATABASE_URL, reported later as an invalid URL): the mistake is named here,
 * where it is, instead. Node 20's parseEnv also misnames the variable after a line of spaces
 * or an indented comment (`\nB`, `# c\nB`) and after `export` with two spaces (` A`), so the
 * variable silently goes missing: what it is given is each line as `NAME=value`, blank and
 * comment lines emptied, the lines of a multi-line value untouched.
 */
function normalizeDotEnv(text: string, shown: string): string {
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(#.*)?$/.test(line)) {
      lines[i] = "";
      continue;
    }
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(.*)$/.exec(line);
    if (!match) {
      throw new SeedError(
        "INVALID_CONFIG",
        `${shown} line ${i + 1} is not NAME=value ('${redact(line.trim()).slice(0, 40)}'): fix it, or comment it out with #`,
      );
    }
    const [, name, value] = match as unknown as [string, string, string];
    lines[i] = `${name}=${value}`;
    const quote = value[0];
    if (quote !== '"' && quote !== "'" && quote !== "`") continue;
    if (value.indexOf(quote, 1) > 0) continue;
    // Double quotes and backticks may span lines; the value ends at the line that closes them.
    const closing = quote === "'" ? -1 : lines.findIndex((later, j) => j > i && later.includes(quote));
    if (closing < 0) {
      throw new SeedError(
        "INVALID_CONFIG",
        `${shown} line ${i + 1}: the value of ${name} opens a quote (${quote}) that is never closed: close it at the end of the value, or remove it`,
      );
    }
    i = closing;
  }
  return lines.join("\n");
}

/**
 * The environment a call runs with: `env` (default process.env), with `.env` under it when
 * `loadDotEnv`, and `databaseUrl` over DATABASE_URL when given. (Entries use
 * resolveEnvironment, which settles the rest at the same time.)
 *
 * @example
 * runEnv({ databaseUrl: "postgresql://postgres@127.0.0.1/chatgenius_test" }).DATABASE_URL;
 */
export function runEnv(options: { env?: Env; loadDotEnv?: boolean; databaseUrl?: string }): Env {
  const base = options.env ?? process.env;
  const env = options.loadDotEnv ? loadEnv({ env: base }) : { ...base };
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  return env;
}

/** What a run's environment settles, once: read by everything below, never worked out again. */
export interface ResolvedEnvironment {
  /** The environment, with `.env` under it when asked and `databaseUrl` over DATABASE_URL. */
  readonly env: Readonly<Env>;
  /** What must never be printed (passwords from PGPASSWORD and the URL). */
  readonly secrets: readonly string[];
  /** The target; for a CLI run with nothing configured, the embedded database takes its place. */
  readonly target: DatabaseConfig;
  /** A server variable or a `.env` file is present (else the CLI uses the embedded database). */
  readonly serverConfigured: boolean;
  /** SEED_* limits with the caller's overrides over them. */
  readonly settings: SeedSettings;
}

/**
 * Everything a run takes from its environment, in one call: `.env` (when `loadDotEnv`) under
 * `env`, `databaseUrl` over DATABASE_URL, the target, the secrets, and the SEED_* limits with
 * `overrides` (those given) over them. Throws SeedError INVALID_CONFIG for anything malformed.
 *
 * @example
 * resolveEnvironment({ env: { SEED_LOCK_WAIT: "5" }, databaseUrl: "postgresql://postgres@127.0.0.1/x" }).settings.lockWaitMs; // 5000
 */
export function resolveEnvironment(options: {
  env?: Env;
  loadDotEnv?: boolean;
  databaseUrl?: string;
  cwd?: string;
  overrides?: Partial<SeedSettings>;
}): ResolvedEnvironment {
  const cwd = options.cwd ?? process.cwd();
  const base = options.env ?? process.env;
  const env = options.loadDotEnv ? loadEnv({ env: base, cwd }) : { ...base };
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  const overrides = Object.fromEntries(Object.entries(options.overrides ?? {}).filter(([, v]) => v !== undefined));
  return {
    env: Object.freeze(env),
    secrets: Object.freeze(secretsOf(env)),
    target: Object.freeze(resolveDatabaseConfig(env)),
    serverConfigured: isServerConfigured(env, cwd),
    settings: Object.freeze({ ...resolveSeedSettings(env), ...overrides }),
  };
}

/**
 * Resolves the target database: `DATABASE_URL` when set, else the libpq variables `PGHOST`,
 * `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD` with defaults localhost, 5432, chatgenius,
 * postgres. Throws SeedError INVALID_CONFIG with a fix for anything malformed.
 *
 * @example
 * const db = resolveDatabaseConfig({ DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/chatgenius" });
 * db.database; // "chatgenius"
 */
export function resolveDatabaseConfig(env: Env): DatabaseConfig {
  const raw = env.DATABASE_URL?.trim();
  if (raw) return fromUrl(raw);
  const port = parsePort(env.PGPORT ?? DEFAULTS.PGPORT, "PGPORT");
  const host = env.PGHOST?.trim() || DEFAULTS.PGHOST;
  const database = env.PGDATABASE?.trim() || DEFAULTS.PGDATABASE;
  const user = env.PGUSER?.trim() || DEFAULTS.PGUSER;
  const url = new URL("postgresql://placeholder");
  // A Unix socket directory (PGHOST=/var/run/postgresql) goes in the `host` query parameter.
  if (host.startsWith("/")) {
    url.hostname = "localhost";
    url.searchParams.set("host", host);
  } else {
    url.hostname = host;
  }
  url.port = String(port);
  url.username = encodeURIComponent(user);
  if (env.PGPASSWORD) url.password = encodeURIComponent(env.PGPASSWORD);
  url.pathname = `/${encodeURIComponent(database)}`;
  return build(url, host);
}

/** The connection string for prisma.config.ts, read the same way as the seed reads it. */
export function resolveDatabaseUrl(env: Env = loadEnv()): string {
  return resolveDatabaseConfig(env).url;
}

/** The same target with another database name (the maintenance database, a test database). */
export function withDatabase(config: DatabaseConfig, database: string): DatabaseConfig {
  const url = new URL(config.url);
  url.pathname = `/${encodeURIComponent(database)}`;
  return build(url, config.host);
}

/**
 * Replaces the password of every connection string in `text` with `***`, and any literal
 * occurrence of `secrets` (a password given through PGPASSWORD, say).
 *
 * @example
 * redact("postgresql://app:hunter2@db/x"); // "postgresql://app:***@db/x"
 */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/(postgres(?:ql)?:\/\/[^:/?#@\s]*:)[^@\s]*@/gi, "$1***@");
  for (const secret of secrets) {
    if (secret && secret.length >= 3) out = out.split(secret).join("***");
  }
  return out;
}

/** The secrets of a configuration that must never be printed. */
export function secretsOf(env: Env): string[] {
  const secrets: string[] = [];
  if (env.PGPASSWORD) secrets.push(env.PGPASSWORD, encodeURIComponent(env.PGPASSWORD));
  const raw = env.DATABASE_URL?.trim();
  if (raw) {
    const match = /^[a-z]+:\/\/[^:/?#@\s]*:([^@\s]*)@/i.exec(raw);
    if (match?.[1]) secrets.push(match[1], safeDecode(match[1]));
  }
  return secrets.filter((s) => s.length > 0);
}

/**
 * Why a DATABASE_URL that does not parse (or parses into no database) most often fails: a
 * character in the user or password that a URL reads as the start of another part.
 */
function unencodedCredential(raw: string): SeedError | null {
  const userinfo = /^[a-z]+:\/\/(.*)@[^@]*$/is.exec(raw)?.[1];
  const bad = userinfo ? /[#?/]/.exec(userinfo)?.[0] : undefined;
  if (!bad) return null;
  const part = { "#": "fragment", "?": "query", "/": "path" }[bad];
  return new SeedError(
    "INVALID_CONFIG",
    `the user or password in DATABASE_URL contains '${bad}', which a URL reads as the start of its ${part}: percent-encode it ('#' → %23, '?' → %3F, '/' → %2F; e.g. encodeURIComponent(password)), or set PGPASSWORD instead and leave it out of the URL`,
  );
}

function fromUrl(raw: string): DatabaseConfig {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (cause) {
    const credential = unencodedCredential(raw);
    if (credential) throw credential;
    throw new SeedError(
      "INVALID_CONFIG",
      `DATABASE_URL is not a valid URL (${redact(raw, secretsOf({ DATABASE_URL: raw }))}): use postgresql://USER@HOST:PORT/DATABASE, with :PASSWORD after USER if the server needs one`,
      { cause },
    );
  }
  if (url.protocol !== "postgresql:" && url.protocol !== "postgres:") {
    throw new SeedError(
      "INVALID_CONFIG",
      `DATABASE_URL uses '${url.protocol}' but must start with postgresql://, e.g. postgresql://postgres@localhost:5432/chatgenius`,
    );
  }
  const database = safeDecode(url.pathname.replace(/^\//, ""));
  if (!database || database.includes("/") || url.hash) {
    const credential = unencodedCredential(raw);
    if (credential) throw credential;
    if (url.hash)
      throw new SeedError(
        "INVALID_CONFIG",
        "DATABASE_URL has a '#' after its database name: remove it, or percent-encode it as %23 if it is part of the name",
      );
    throw new SeedError(
      "INVALID_CONFIG",
      "DATABASE_URL names no database: add it after the host, e.g. postgresql://postgres@localhost:5432/chatgenius",
    );
  }
  if (url.port) parsePort(url.port, "the port in DATABASE_URL");
  const socket = url.searchParams.get("host");
  if (!url.hostname && !socket) {
    throw new SeedError("INVALID_CONFIG", "DATABASE_URL names no host: use postgresql://USER@HOST:PORT/DATABASE");
  }
  return build(url, socket ?? url.hostname);
}

function build(url: URL, host: string): DatabaseConfig {
  const urlString = url.toString();
  return {
    url: urlString,
    target: redact(urlString),
    host,
    port: Number(url.port || 5432),
    database: safeDecode(url.pathname.replace(/^\//, "")),
    user: safeDecode(url.username) || DEFAULTS.PGUSER,
  };
}

function parsePort(value: string, name: string): number {
  const text = value.trim();
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new SeedError("INVALID_CONFIG", `${name} is '${text}' but must be a port number from 1 to 65535, e.g. 5432`);
  }
  return port;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Waiting and timeout limits of a run, from the environment (seconds there, ms here). */
export interface SeedSettings {
  /** SEED_LOCK_WAIT: how long a run waits for another seed or reset of the same database (default 60 s). */
  lockWaitMs: number;
  /** SEED_LOCK_TIMEOUT: how long the transaction waits for a table another session holds (default 10 s). */
  lockTimeoutMs: number;
  /** SEED_STATEMENT_TIMEOUT: longest single statement (default 600 s; 0 = no limit). */
  statementTimeoutMs: number;
}

const SETTINGS = [
  ["SEED_LOCK_WAIT", "lockWaitMs", 60],
  ["SEED_LOCK_TIMEOUT", "lockTimeoutMs", 10],
  ["SEED_STATEMENT_TIMEOUT", "statementTimeoutMs", 600],
] as const;

/**
 * Reads SEED_LOCK_WAIT, SEED_LOCK_TIMEOUT and SEED_STATEMENT_TIMEOUT (seconds, ≥ 0).
 *
 * @example
 * resolveSeedSettings({ SEED_LOCK_WAIT: "5" }).lockWaitMs; // 5000
 */
export function resolveSeedSettings(env: Env): SeedSettings {
  const out = {} as Record<(typeof SETTINGS)[number][1], number>;
  for (const [name, key, fallback] of SETTINGS) {
    // An empty value (`SEED_LOCK_WAIT=` in a .env) means "not set", as for every other variable.
    const raw = env[name]?.trim() || undefined;
    const seconds = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(seconds) || seconds < 0 || !/^\d+(\.\d+)?$/.test(raw ?? String(fallback))) {
      throw new SeedError(
        "INVALID_CONFIG",
        `${name} is '${raw}' but must be a number of seconds ≥ 0, e.g. ${fallback}`,
      );
    }
    out[key] = Math.round(seconds * 1000);
  }
  return out;
}
