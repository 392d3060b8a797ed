import { CronExpressionParser } from "cron-parser";
import { z } from "zod";
import { MAX_TIMER_MS } from "./clock.ts";
import { lacksUnit, parseDuration, parseRateLimit, type RateLimit } from "./duration.ts";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * A duration setting, with its unit required and its range checked. Every maximum stays below
 * {@linkcode MAX_TIMER_MS}, since a longer timer fires at once.
 */
function duration(min: number, max: number, maxText: string, minText?: string) {
  if (max > MAX_TIMER_MS) throw new RangeError(`${maxText} is longer than a timer can wait`);
  return z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      const message = lacksUnit(text)
        ? "needs a unit (ms, s, m or h), such as 15s"
        : "expected a duration such as 15s";
      ctx.addIssue({ code: "custom", message });
      return z.NEVER;
    }
    if (ms < min) {
      const message = minText ? `must be at least ${minText}` : "too short";
      ctx.addIssue({ code: "custom", message: min === 1 ? "must be more than zero" : message });
    } else if (ms > max) {
      ctx.addIssue({ code: "custom", message: `must be at most ${maxText}` });
    }
    return ms;
  });
}

const whole = (min: number, max: number) =>
  z.string().regex(/^\d+$/, "expected a whole number").transform(Number)
    .refine((n) => n >= min && n <= max, `must be from ${min} to ${max}`);

const flag = z.string().toLowerCase().transform((text, ctx) => {
  if (["true", "1", "yes"].includes(text)) return true;
  if (["false", "0", "no", ""].includes(text)) return false;
  ctx.addIssue({ code: "custom", message: "expected true or false" });
  return z.NEVER;
});

/** The most requests a rate-limit window may hold. */
export const MAX_RATE_COUNT = 100_000;

/** `N/duration`, the window at most a day. */
export const rateLimitSchema = z.string().transform((text, ctx) => {
  const limit = parseRateLimit(text);
  if (!limit) {
    const window = text.split("/")[1];
    const hint = window !== undefined && lacksUnit(window)
      ? ": the window needs a unit (ms, s, m or h)"
      : "";
    ctx.addIssue({ code: "custom", message: `expected N/duration such as 10/60s${hint}` });
    return z.NEVER;
  }
  if (limit.windowMs > DAY) {
    ctx.addIssue({ code: "custom", message: "the window must be at most 24h" });
  } else if (limit.count > MAX_RATE_COUNT) {
    ctx.addIssue({ code: "custom", message: `N must be at most ${MAX_RATE_COUNT}` });
  }
  return limit;
});

/** The limit of `rate_limit: "auto"` while the platform advertises none. */
export const AUTO_RATE_LIMIT: Readonly<RateLimit> = Object.freeze({ count: 10, windowMs: 60_000 });

/** `auto` (follow the limit the platform advertises) or `N/duration` (a ceiling). */
export const rateLimitSettingSchema = z.string().transform((text, ctx): RateLimit | "auto" => {
  if (text.trim().toLowerCase() === "auto") return "auto";
  const result = rateLimitSchema.safeParse(text);
  if (result.success) return result.data;
  const message = result.error.issues[0]?.message ?? "invalid";
  ctx.addIssue({ code: "custom", message: message.replace(/^expected /, "expected auto or ") });
  return z.NEVER;
});

/**
 * An http(s) base URL without credentials, a query or a fragment, its trailing slashes dropped; a
 * path is kept, as the prefix of the platform's paths. Messages never repeat the URL: it may hold
 * a password.
 */
export const httpUrlSchema = z.string().transform((text, ctx) => {
  const url = URL.parse(text.trim());
  if (!url || !/^https?:$/.test(url.protocol)) {
    ctx.addIssue({ code: "custom", message: "expected an http(s) URL" });
    return z.NEVER;
  }
  if (url.username || url.password) {
    ctx.addIssue({ code: "custom", message: "must not hold credentials" });
    return z.NEVER;
  }
  if (url.search || url.hash || /[?#]/.test(text)) {
    ctx.addIssue({ code: "custom", message: "must not hold a query or a fragment" });
    return z.NEVER;
  }
  return text.trim().replace(/\/+$/, "");
});

/** What `X-Client-ID` and the stored `account` may be. */
export const clientIdSchema = z.string().regex(
  /^[\w.-]{1,100}$/,
  "expected 1-100 letters, digits, '.', '_' or '-'",
);

/** The largest page size one may ask for. */
export const MAX_PAGE_SIZE = 1000;

const nonEmpty = z.string().trim().min(1, "must not be empty");

/**
 * A cron expression as pg-boss's scheduler reads it (5 fields, or 6 with seconds), or `off` to
 * remove a stored schedule.
 */
export const scheduleSchema = z.string().trim().transform((text, ctx) => {
  if (text.toLowerCase() === "off") return "off";
  try {
    CronExpressionParser.parse(text, { tz: "UTC", strict: false });
  } catch {
    ctx.addIssue({
      code: "custom",
      message: "expected a cron expression such as '0 * * * *' or off",
    });
    return z.NEVER;
  }
  if (text.split(/\s+/).length < 5) {
    ctx.addIssue({
      code: "custom",
      message: "expected a cron expression such as '0 * * * *' or off",
    });
    return z.NEVER;
  }
  return text;
});

/** What a worker id may be: it shows in `status` and in the database's connection list. */
export const workerIdSchema = z.string().regex(
  /^[\w.@:-]{1,60}$/,
  "expected 1-60 letters, digits, '.', '_', '@', ':' or '-'",
);

/** Where the live endpoint listens: an IP address or a host name. */
export const hostSchema = z.string().trim().regex(
  /^(\[[\da-fA-F:.]+\]|[\w.:-]{1,253})$/,
  "expected an IP address or host name such as 127.0.0.1 or 0.0.0.0",
).transform((host) => host.replace(/^\[(.*)\]$/, "$1"));

/** Each setting: its environment variable, its flag, its default and its schema. */
export const SETTINGS = {
  apiUrl: {
    env: "AD_PLATFORM_API_URL",
    flag: "api-url",
    fallback: "http://localhost:3001",
    schema: httpUrlSchema,
  },
  email: { env: "AD_PLATFORM_EMAIL", flag: "email", schema: nonEmpty },
  passwordFile: { env: "AD_PLATFORM_PASSWORD_FILE", flag: "password-file", schema: nonEmpty },
  clientId: {
    env: "AD_PLATFORM_CLIENT_ID",
    flag: "client-id",
    fallback: "default",
    schema: clientIdSchema,
  },
  rateLimit: {
    env: "AD_PLATFORM_RATE_LIMIT",
    flag: "rate-limit",
    fallback: "auto",
    schema: rateLimitSettingSchema,
  },
  requestTimeoutMs: {
    env: "AD_PLATFORM_REQUEST_TIMEOUT",
    flag: "request-timeout",
    fallback: "15s",
    schema: duration(1, 10 * 60_000, "10m"),
  },
  listTimeoutMs: {
    env: "AD_PLATFORM_LIST_TIMEOUT",
    flag: "list-timeout",
    schema: duration(1, 10 * 60_000, "10m"),
  },
  pageSize: {
    env: "AD_PLATFORM_PAGE_SIZE",
    flag: "page-size",
    fallback: "100",
    schema: whole(1, MAX_PAGE_SIZE),
  },
  accountsFile: { env: "SYNC_ACCOUNTS_FILE", flag: "accounts-file", schema: nonEmpty },
  accountConcurrency: {
    env: "SYNC_ACCOUNT_CONCURRENCY",
    flag: "account-concurrency",
    schema: whole(1, 10_000),
  },
  maxInFlight: {
    env: "AD_PLATFORM_MAX_IN_FLIGHT",
    flag: "max-in-flight",
    schema: whole(1, 100_000),
  },
  databaseUrl: {
    env: "DATABASE_URL",
    flag: "database-url",
    schema: z.string().regex(/^postgres(ql)?:\/\//, "expected a postgres:// URL"),
  },
  databaseTimeoutMs: {
    env: "SYNC_DATABASE_TIMEOUT",
    flag: "database-timeout",
    fallback: "30s",
    schema: duration(1, 10 * 60_000, "10m"),
  },
  databaseOutageMs: {
    env: "SYNC_DATABASE_OUTAGE",
    flag: "database-outage",
    fallback: "1m",
    schema: duration(0, DAY, "24h"),
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
  retryBackoffMs: {
    env: "SYNC_RETRY_BACKOFF",
    flag: "retry-backoff",
    fallback: "500ms",
    schema: duration(1, 10 * 60_000, "10m"),
  },
  retryBackoffMaxMs: {
    env: "SYNC_RETRY_BACKOFF_MAX",
    flag: "retry-backoff-max",
    fallback: "10s",
    schema: duration(1, 10 * 60_000, "10m"),
  },
  maxDurationMs: {
    env: "SYNC_MAX_DURATION",
    flag: "max-duration",
    schema: duration(1, 24 * DAY, "24 days (576h)"),
  },
  metricsFile: { env: "SYNC_METRICS_FILE", flag: "metrics-file", schema: nonEmpty },
  resumeMaxAgeMs: {
    env: "SYNC_RESUME_MAX_AGE",
    flag: "resume-max-age",
    fallback: "24h",
    schema: duration(1, 24 * DAY, "24 days (576h)"),
  },
  shutdownGraceMs: {
    env: "SYNC_SHUTDOWN_GRACE",
    flag: "shutdown-grace",
    fallback: "5s",
    schema: duration(0, 10 * 60_000, "10m"),
  },
  allowMassDelete: {
    env: "SYNC_ALLOW_MASS_DELETE",
    flag: "allow-mass-delete",
    fallback: "false",
    boolean: true,
    schema: flag,
  },
  workerAccounts: {
    env: "SYNC_WORKER_ACCOUNTS",
    flag: "worker-accounts",
    schema: whole(1, 10_000),
  },
  workerHeartbeatMs: {
    env: "SYNC_WORKER_HEARTBEAT",
    flag: "worker-heartbeat",
    fallback: "30s",
    schema: duration(10_000, HOUR, "1h", "10s").refine(
      (ms) => ms % 1_000 === 0,
      "whole seconds only",
    ),
  },
  workerId: { env: "SYNC_WORKER_ID", flag: "worker-id", schema: workerIdSchema },
  schedule: { env: "SYNC_SCHEDULE", flag: "schedule", schema: scheduleSchema },
  httpPort: { env: "SYNC_HTTP_PORT", flag: "http-port", schema: whole(0, 65_535) },
  httpHost: { env: "SYNC_HTTP_HOST", flag: "http-host", fallback: "127.0.0.1", schema: hostSchema },
  dbPort: { env: "SYNC_DB_PORT", flag: "port", fallback: "5499", schema: whole(0, 65_535) },
} as const;
