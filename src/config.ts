import { parseArgs } from "node:util";
import { z } from "zod";
import { parseDuration, parseRateLimit, type RateLimit } from "./duration.ts";
import { ConfigError, errorMessage } from "./errors.ts";

/** Log levels a user may ask for. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** Everything a run needs to know, validated once at start-up. */
export interface Config {
  command: "sync" | "status" | "help";
  apiUrl: string;
  email: string;
  password: string;
  clientId: string;
  rateLimit: RateLimit;
  requestTimeoutMs: number;
  pageSize: number;
  /** Unset: the embedded PostgreSQL under the state dir. */
  databaseUrl: string | undefined;
  stateDir: string;
  logLevel: LogLevel;
  logFormat: "pretty" | "json";
  concurrency: number;
  maxPages: number;
  maxAttempts: number;
  maxDurationMs: number | undefined;
  metricsFile: string | undefined;
  resumeMaxAgeMs: number;
  shutdownGraceMs: number;
  resume: boolean;
  json: boolean;
}

/** What {@linkcode loadConfig} may ask of the outside world. */
export interface LoadConfigOptions {
  /** Reads a secret file (`AD_PLATFORM_PASSWORD_FILE`). @default Deno.readTextFileSync */
  readTextFile?: (path: string) => string;
  /** Whether stderr is a terminal, for the default log format. @default false */
  isTerminal?: boolean;
}

const duration = z.string().transform((text, ctx) => {
  const ms = parseDuration(text);
  if (ms === undefined) ctx.addIssue({ code: "custom", message: "expected a duration like 15s" });
  return ms ?? 0;
});
const positiveDuration = duration.refine((ms) => ms > 0, "must be more than zero");
const whole = (min: number, max: number) =>
  z.string().regex(/^\d+$/, "expected a whole number").transform(Number)
    .refine((n) => n >= min && n <= max, `must be from ${min} to ${max}`);
const httpUrl = z.url({ protocol: /^https?$/, error: "expected an http(s) URL" })
  .refine((url) => !new URL(url).username && !new URL(url).password, "must not hold credentials")
  .transform((url) => url.replace(/\/+$/, ""));
const nonEmpty = z.string().trim().min(1, "must not be empty");

/** Each setting: its environment variable, its flag, its default and its schema. */
const SETTINGS = {
  apiUrl: {
    env: "AD_PLATFORM_API_URL",
    flag: "api-url",
    fallback: "http://localhost:3001",
    schema: httpUrl,
  },
  email: { env: "AD_PLATFORM_EMAIL", flag: "email", schema: nonEmpty },
  passwordFile: { env: "AD_PLATFORM_PASSWORD_FILE", flag: "password-file", schema: nonEmpty },
  clientId: {
    env: "AD_PLATFORM_CLIENT_ID",
    flag: "client-id",
    fallback: "default",
    schema: z.string().regex(/^[\w.-]{1,100}$/, "expected 1-100 letters, digits, '.', '_' or '-'"),
  },
  rateLimit: {
    env: "AD_PLATFORM_RATE_LIMIT",
    flag: "rate-limit",
    fallback: "10/60s",
    schema: z.string().transform((text, ctx) => {
      const limit = parseRateLimit(text);
      if (!limit) ctx.addIssue({ code: "custom", message: "expected N/duration such as 10/60s" });
      return limit ?? { count: 1, windowMs: 1 };
    }),
  },
  requestTimeoutMs: {
    env: "AD_PLATFORM_REQUEST_TIMEOUT",
    flag: "request-timeout",
    fallback: "15s",
    schema: positiveDuration,
  },
  pageSize: {
    env: "AD_PLATFORM_PAGE_SIZE",
    flag: "page-size",
    fallback: "10",
    schema: whole(1, 1000),
  },
  databaseUrl: {
    env: "DATABASE_URL",
    flag: "database-url",
    schema: z.string().regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL"),
  },
  stateDir: { env: "SYNC_STATE_DIR", flag: "state-dir", fallback: ".adsync", schema: nonEmpty },
  logLevel: {
    env: "LOG_LEVEL",
    flag: "log-level",
    fallback: "info",
    schema: z.string().toLowerCase().transform((level) => level === "warn" ? "warning" : level)
      .pipe(
        z.enum(["debug", "info", "warning", "error"], "expected debug, info, warning or error"),
      ),
  },
  logFormat: {
    env: "LOG_FORMAT",
    flag: "log-format",
    schema: z.enum(["pretty", "json"], "expected pretty or json"),
  },
  concurrency: { env: "SYNC_CONCURRENCY", flag: "concurrency", schema: whole(1, 100) },
  maxPages: {
    env: "SYNC_MAX_PAGES",
    flag: "max-pages",
    fallback: "1000",
    schema: whole(1, 1_000_000),
  },
  maxAttempts: {
    env: "SYNC_MAX_ATTEMPTS",
    flag: "max-attempts",
    fallback: "5",
    schema: whole(1, 20),
  },
  maxDurationMs: { env: "SYNC_MAX_DURATION", flag: "max-duration", schema: positiveDuration },
  metricsFile: { env: "SYNC_METRICS_FILE", flag: "metrics-file", schema: nonEmpty },
  resumeMaxAgeMs: {
    env: "SYNC_RESUME_MAX_AGE",
    flag: "resume-max-age",
    fallback: "24h",
    schema: positiveDuration,
  },
  shutdownGraceMs: {
    env: "SYNC_SHUTDOWN_GRACE",
    flag: "shutdown-grace",
    fallback: "5s",
    schema: duration,
  },
} as const;

type Settings = typeof SETTINGS;
type Parsed = { [K in keyof Settings]: z.output<Settings[K]["schema"]> | undefined };

/** The command-line flags that take a value, for `--help` and parsing. */
const VALUE_FLAGS = Object.values(SETTINGS).map((s) => s.flag);

/**
 * Reads settings from the environment, with flags overriding it, and validates them all.
 * Throws {@linkcode ConfigError} naming the first bad setting.
 *
 * @example
 * ```ts
 * const config = loadConfig(Deno.env.toObject(), Deno.args);
 * ```
 */
export function loadConfig(
  env: Record<string, string | undefined>,
  args: string[],
  options: LoadConfigOptions = {},
): Readonly<Config> {
  const { readTextFile = Deno.readTextFileSync, isTerminal = false } = options;
  const { values, positionals } = parseFlags(args);
  const command = positionals[0] ?? "sync";
  if (command !== "sync" && command !== "status" && command !== "help") {
    throw new ConfigError(
      "command",
      `unknown command '${command}' (expected sync, status or help)`,
    );
  }
  if (positionals.length > 1) {
    throw new ConfigError("command", `unexpected argument '${positionals[1]}'`);
  }
  const parsed = {} as Record<string, unknown>;
  for (const [key, setting] of Object.entries(SETTINGS)) {
    const flagValue = values[setting.flag];
    const raw = typeof flagValue === "string" ? flagValue : env[setting.env] || undefined;
    const name = typeof flagValue === "string" ? `--${setting.flag}` : setting.env;
    const text = raw ?? ("fallback" in setting ? setting.fallback : undefined);
    if (text === undefined) continue;
    const result = (setting.schema as z.ZodType).safeParse(text);
    if (!result.success) throw new ConfigError(name, result.error.issues[0]?.message ?? "invalid");
    parsed[key] = result.data;
  }
  const p = parsed as Parsed;
  const needsPlatform = command === "sync";
  const email = p.email ?? "";
  if (needsPlatform && !email) throw new ConfigError("AD_PLATFORM_EMAIL", "is required");
  const password = needsPlatform ? readPassword(env, p.passwordFile, readTextFile) : "";
  const rateLimit = p.rateLimit!;
  return Object.freeze({
    command,
    apiUrl: p.apiUrl!,
    email,
    password,
    clientId: p.clientId!,
    rateLimit,
    requestTimeoutMs: p.requestTimeoutMs!,
    pageSize: p.pageSize!,
    databaseUrl: p.databaseUrl,
    stateDir: p.stateDir!,
    logLevel: p.logLevel! as LogLevel,
    logFormat: p.logFormat ?? (isTerminal ? "pretty" : "json"),
    concurrency: p.concurrency ?? Math.min(rateLimit.count, 20),
    maxPages: p.maxPages!,
    maxAttempts: p.maxAttempts!,
    maxDurationMs: p.maxDurationMs,
    metricsFile: p.metricsFile,
    resumeMaxAgeMs: p.resumeMaxAgeMs!,
    shutdownGraceMs: p.shutdownGraceMs!,
    resume: values.resume === true,
    json: values.json === true,
  });
}

function parseFlags(args: string[]) {
  const options: Record<string, { type: "string" | "boolean" }> = {
    resume: { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean" },
  };
  for (const flag of VALUE_FLAGS) options[flag] = { type: "string" };
  try {
    const result = parseArgs({ args, options, allowPositionals: true, strict: true });
    if (result.values.help) result.positionals.unshift("help");
    return result;
  } catch (error) {
    const message = errorMessage(error);
    const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? "arguments";
    throw new ConfigError(flag, message.split(". ")[0]!.replace(/^Option '[^']+' /, ""));
  }
}

function readPassword(
  env: Record<string, string | undefined>,
  file: string | undefined,
  readTextFile: (path: string) => string,
): string {
  if (env.AD_PLATFORM_PASSWORD && file) {
    throw new ConfigError("AD_PLATFORM_PASSWORD_FILE", "set it or AD_PLATFORM_PASSWORD, not both");
  }
  if (env.AD_PLATFORM_PASSWORD) return env.AD_PLATFORM_PASSWORD;
  if (!file) {
    throw new ConfigError("AD_PLATFORM_PASSWORD", "is required (or AD_PLATFORM_PASSWORD_FILE)");
  }
  let text: string;
  try {
    text = readTextFile(file);
  } catch (error) {
    const reason = error instanceof Error ? error.name : "unreadable";
    throw new ConfigError("AD_PLATFORM_PASSWORD_FILE", `cannot read ${file} (${reason})`);
  }
  const password = text.replace(/\r?\n$/, "");
  if (!password) throw new ConfigError("AD_PLATFORM_PASSWORD_FILE", `${file} is empty`);
  return password;
}
