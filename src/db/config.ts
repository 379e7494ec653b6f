import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
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

/**
 * Reads `.env` from `cwd` when it exists and returns it merged under `env`: variables already
 * set in the environment win, as with dotenv.
 *
 * @example
 * const env = loadEnv({ cwd: process.cwd(), env: process.env });
 */
export function loadEnv(options: { cwd?: string; env?: Env; file?: string } = {}): Env {
  const env = options.env ?? process.env;
  const file = resolve(options.cwd ?? process.cwd(), options.file ?? ".env");
  if (!existsSync(file)) return { ...env };
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new SeedError("INVALID_CONFIG", `cannot read ${file} (${(cause as NodeJS.ErrnoException).code ?? "error"}): fix its permissions or remove it`, { cause });
  }
  return { ...parseEnv(text), ...env };
}

/**
 * The environment a library call runs with: `env` (default process.env), with `.env` under it
 * when `loadDotEnv`, and `databaseUrl` over DATABASE_URL when given.
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
    throw new SeedError("INVALID_CONFIG", `DATABASE_URL uses '${url.protocol}' but must start with postgresql://, e.g. postgresql://postgres@localhost:5432/chatgenius`);
  }
  const database = safeDecode(url.pathname.replace(/^\//, ""));
  if (!database || database.includes("/") || url.hash) {
    const credential = unencodedCredential(raw);
    if (credential) throw credential;
    if (url.hash) throw new SeedError("INVALID_CONFIG", "DATABASE_URL has a '#' after its database name: remove it, or percent-encode it as %23 if it is part of the name");
    throw new SeedError("INVALID_CONFIG", "DATABASE_URL names no database: add it after the host, e.g. postgresql://postgres@localhost:5432/chatgenius");
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
    const raw = env[name]?.trim();
    const seconds = raw === undefined || raw === "" ? fallback : Number(raw);
    if (!Number.isFinite(seconds) || seconds < 0 || !/^\d+(\.\d+)?$/.test(raw ?? String(fallback))) {
      throw new SeedError("INVALID_CONFIG", `${name} is '${raw}' but must be a number of seconds ≥ 0, e.g. ${fallback}`);
    }
    out[key] = Math.round(seconds * 1000);
  }
  return out;
}

/**
 * Where large plans are kept once built, and how much of the disk they may take. A plan is
 * the same bytes for the same options and code (the seed is deterministic), so a second seed
 * of the same scale streams the stored chunks instead of generating, validating and encoding
 * two million rows again: the client's work, which was the bottleneck, becomes reading a file.
 */
export interface PlanCache {
  readonly dir: string;
  readonly maxBytes: number;
}

/** Default size of the cache: about five scale-1000 plans. */
const DEFAULT_MAX_MB = 2048;

/**
 * The plan cache of a run, or null when it has none: `wanted` (the CLI's default: yes; library
 * calls: no) unless SEED_CACHE says `1` or `0`; in SEED_CACHE_DIR (default `.chatgenius/cache`
 * under `cwd`), at most SEED_CACHE_MB megabytes (default 2048).
 *
 * @example
 * resolvePlanCache({ SEED_CACHE_DIR: "/tmp/plans" }, process.cwd(), true)?.dir; // "/tmp/plans"
 */
export function resolvePlanCache(env: Env, cwd: string, wanted: boolean): PlanCache | null {
  const enabled = env.SEED_CACHE?.trim();
  if (enabled !== undefined && enabled !== "" && enabled !== "0" && enabled !== "1") {
    throw new SeedError("INVALID_CONFIG", `SEED_CACHE is '${enabled}' but must be 1 (keep large plans, the default) or 0 (never)`);
  }
  const mb = env.SEED_CACHE_MB?.trim();
  if (mb !== undefined && mb !== "" && !/^\d+$/.test(mb)) {
    throw new SeedError("INVALID_CONFIG", `SEED_CACHE_MB is '${mb}' but must be a whole number of megabytes, e.g. ${DEFAULT_MAX_MB}`);
  }
  if (enabled === "0" || (enabled !== "1" && !wanted)) return null;
  const dir = resolve(cwd, env.SEED_CACHE_DIR?.trim() || join(".chatgenius", "cache"));
  return { dir, maxBytes: Number(mb || DEFAULT_MAX_MB) * 1024 * 1024 };
}
