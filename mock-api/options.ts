import { parseArgs } from "node:util";
import { parseDuration, parseRateLimit, type RateLimit } from "../src/duration.ts";
import { ConfigError } from "../src/errors.ts";
import type { MockClientCredentials } from "./clients.ts";
import { type AdvertiseMode, isAdvertiseMode } from "./advertise.ts";

/** How a 429 tells the client how long to wait. */
export type RetryAfterMode = "both" | "header" | "body";

/** One request as the mock saw it, appended when its response is produced (or a hang released). */
export interface MockRequestLogEntry {
  /** When the entry was written, by the mock's clock (ms since the epoch). */
  at: number;
  method: string;
  path: string;
  /** The page asked for, on list requests. */
  page?: number;
  /** The campaign id, on sync requests. */
  campaignId?: string;
  /** The `X-Client-ID` header, or `"default"`. */
  client: string;
  /** The `User-Agent` header, when the request sent one. */
  userAgent?: string;
  /** The status sent; 0 when no response was ever sent (a hang, or a client that gave up). */
  status: number;
  /** Wall time between receiving the request and answering it. */
  latencyMs: number;
  /** Present on requests the mock chose never to answer. */
  hung?: boolean;
}

/** Every knob of the mock Ad Platform. */
export interface MockApiOptions {
  /** Accepted requests allowed per client in any sliding window. @default {count: 10, windowMs: 60_000} */
  rateLimit: RateLimit;
  /** Probability that an accepted list request answers 503. @default 0.2 */
  errorRate: number;
  /** Probability that an accepted list request never answers. @default 0.1 */
  hangRate: number;
  /** How long the sync endpoint takes. @default 2_000 */
  syncDelayMs: number;
  /** How long an issued token stays valid. @default 3_600_000 */
  tokenTtlMs: number;
  /** How many campaigns to generate. @default 100 */
  campaigns: number;
  /** Seed of the campaign data and the failure draws. @default a random seed */
  seed?: number;
  /** The email `POST /auth/token` accepts from clients not in `clients`. @default "admin@mixoads.com" */
  email: string;
  /** The password `POST /auth/token` accepts from clients not in `clients`. @default "SuperSecret123!" */
  password: string;
  /**
   * Clients (`X-Client-ID`) with credentials of their own; for them `email`/`password` are
   * refused. A token works only with the client it was issued to. @default {}
   */
  clients?: Record<string, MockClientCredentials>;
  /** Where a 429 carries its wait. @default "both" */
  retryAfter: RetryAfterMode;
  /** How long a client stays refused after a 429. @default 0 */
  penaltyMs: number;
  /** Compute `has_more` as if the limit were always 10. @default false */
  hasMoreLies: boolean;
  /** Answer pages past the end with the last page's records instead of `[]`. @default false */
  pastEndRecords: boolean;
  /** Largest `limit` served: a larger one is silently capped to it, as the platform does. @default 100 */
  maxLimit: number;
  /** Raw records served to every client instead of generated campaigns. @default undefined (generated per client) */
  records?: unknown[];
  /** How answers to rate-limited requests advertise the client's limit. @default "none" */
  advertise: AdvertiseMode;
  /**
   * The limit the answers advertise instead of the one enforced, as a platform whose headers
   * lie: every client is told this quota and window. @default the enforced limit
   */
  advertisedLimit?: RateLimit;
  /** Clients (`X-Client-ID`) with a rate limit of their own instead of `rateLimit`. @default {} */
  clientRateLimits?: Record<string, RateLimit>;
  /** The mock's clock, for the rate window, token expiry and log times. @default Date.now */
  now?: () => number;
  /** Called with each log entry as it is appended. @default undefined */
  onRequest?: (entry: MockRequestLogEntry) => void;
  /**
   * Keep every entry in `log`: a process that prints its entries has no use for them, and a
   * million of them are a heap its garbage collector keeps going over. @default true
   */
  keepLog?: boolean;
}

/** The defaults of every option that has one. */
export const MOCK_API_DEFAULTS: Readonly<MockApiOptions> = Object.freeze({
  rateLimit: { count: 10, windowMs: 60_000 },
  errorRate: 0.2,
  hangRate: 0.1,
  syncDelayMs: 2_000,
  tokenTtlMs: 3_600_000,
  campaigns: 100,
  email: "admin@mixoads.com",
  password: "SuperSecret123!",
  retryAfter: "both",
  penaltyMs: 0,
  hasMoreLies: false,
  pastEndRecords: false,
  maxLimit: 100,
  advertise: "none",
});

/** The port `deno task mock` listens on unless told otherwise. */
export const DEFAULT_MOCK_PORT = 3001;

/** The mock's flags, as `node:util` parseArgs reads them. */
export const MOCK_FLAGS = {
  "port": { type: "string" },
  "rate-limit": { type: "string" },
  "error-rate": { type: "string" },
  "hang-rate": { type: "string" },
  "sync-delay": { type: "string" },
  "token-ttl": { type: "string" },
  "campaigns": { type: "string" },
  "seed": { type: "string" },
  "email": { type: "string" },
  "password": { type: "string" },
  "retry-after": { type: "string" },
  "penalty": { type: "string" },
  "has-more-lies": { type: "boolean" },
  "past-end-records": { type: "boolean" },
  "max-limit": { type: "string" },
  "client": { type: "string", multiple: true },
  "advertise": { type: "string" },
  "advertised-limit": { type: "string" },
  "client-rate-limit": { type: "string", multiple: true },
  "log": { type: "string" },
} as const;

/**
 * Parses the mock's command-line flags over the defaults.
 * Throws a `ConfigError` whose one-line message names the bad flag.
 *
 * @example
 * ```ts
 * const options = parseMockArgs(["--rate-limit", "10/1s", "--seed", "42"]);
 * ```
 */
export function parseMockArgs(
  args: string[],
): MockApiOptions & { port: number; logFile?: string } {
  const { values } = parseFlags(args);
  const errorRate = rate("--error-rate", values["error-rate"], MOCK_API_DEFAULTS.errorRate);
  const hangRate = rate("--hang-rate", values["hang-rate"], MOCK_API_DEFAULTS.hangRate);
  if (errorRate + hangRate > 1) {
    throw new ConfigError("--hang-rate", "error rate plus hang rate must not exceed 1");
  }
  return {
    ...MOCK_API_DEFAULTS,
    port: integer("--port", values.port, DEFAULT_MOCK_PORT, 0, 65_535),
    rateLimit: rateLimit(values["rate-limit"]),
    errorRate,
    hangRate,
    syncDelayMs: duration("--sync-delay", values["sync-delay"], MOCK_API_DEFAULTS.syncDelayMs, 0),
    tokenTtlMs: duration("--token-ttl", values["token-ttl"], MOCK_API_DEFAULTS.tokenTtlMs, 1),
    campaigns: integer("--campaigns", values.campaigns, MOCK_API_DEFAULTS.campaigns, 0, 1e6),
    seed: values.seed === undefined ? undefined : integer("--seed", values.seed, 0, 0, 2 ** 32 - 1),
    email: text("--email", values.email, MOCK_API_DEFAULTS.email),
    password: text("--password", values.password, MOCK_API_DEFAULTS.password),
    retryAfter: retryAfterMode(values["retry-after"]),
    penaltyMs: duration("--penalty", values.penalty, MOCK_API_DEFAULTS.penaltyMs, 0),
    hasMoreLies: values["has-more-lies"] ?? false,
    pastEndRecords: values["past-end-records"] ?? false,
    maxLimit: integer("--max-limit", values["max-limit"], MOCK_API_DEFAULTS.maxLimit, 1, 1e6),
    clients: clientCredentials(values.client ?? []),
    advertise: advertiseMode(values.advertise),
    ...advertisedLimit(values["advertised-limit"]),
    clientRateLimits: clientRateLimits(values["client-rate-limit"] ?? []),
    ...(values.log === undefined ? {} : { logFile: text("--log", values.log, "") }),
  };
}

function parseFlags(args: string[]) {
  try {
    return parseArgs({ args, options: MOCK_FLAGS, strict: true, allowPositionals: false });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: string }).code;
    const flag = /'(-[^\s'=]+)/.exec(message)?.[1] ?? "arguments";
    if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      throw new ConfigError(flag, "unknown flag", { cause: error });
    }
    if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
      const argument = /'([^']*)'/.exec(message)?.[1] ?? "arguments";
      throw new ConfigError(argument, "unexpected argument; every setting is a --flag", {
        cause: error,
      });
    }
    if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
      const boolean =
        MOCK_FLAGS[flag.replace(/^--/, "") as keyof typeof MOCK_FLAGS]?.type === "boolean";
      throw new ConfigError(flag, boolean ? "takes no value" : "expected a value", {
        cause: error,
      });
    }
    throw new ConfigError(flag, message.split("\n")[0] ?? "invalid", { cause: error });
  }
}

function rateLimit(value: string | undefined): RateLimit {
  if (value === undefined) return { ...MOCK_API_DEFAULTS.rateLimit };
  const parsed = parseRateLimit(value);
  if (!parsed) throw new ConfigError("--rate-limit", "expected N/duration such as 10/60s");
  return parsed;
}

/** `--advertised-limit`, as the option it sets; none when the flag is absent. */
function advertisedLimit(value: string | undefined): { advertisedLimit?: RateLimit } {
  if (value === undefined) return {};
  const parsed = parseRateLimit(value);
  if (!parsed) throw new ConfigError("--advertised-limit", "expected N/duration such as 100/6s");
  return { advertisedLimit: parsed };
}

function rate(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = /^\s*\d*\.?\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!(parsed >= 0 && parsed <= 1)) {
    throw new ConfigError(flag, "expected a probability from 0 to 1 such as 0.2");
  }
  return parsed;
}

function duration(flag: string, value: string | undefined, fallback: number, min: number) {
  if (value === undefined) return fallback;
  const parsed = parseDuration(value);
  if (parsed === undefined || parsed < min) {
    const floor = min > 0 ? "a positive duration" : "a duration";
    throw new ConfigError(flag, `expected ${floor} such as 500ms, 2s, 5m or 1h`);
  }
  return parsed;
}

function integer(
  flag: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
) {
  if (value === undefined) return fallback;
  const parsed = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!(parsed >= min && parsed <= max)) {
    throw new ConfigError(flag, `expected a whole number from ${min} to ${max}`);
  }
  return parsed;
}

function text(flag: string, value: string | undefined, fallback: string): string {
  if (value === undefined) return fallback;
  if (value.length === 0) throw new ConfigError(flag, "must not be empty");
  return value;
}

function retryAfterMode(value: string | undefined): RetryAfterMode {
  if (value === undefined) return MOCK_API_DEFAULTS.retryAfter;
  if (value === "both" || value === "header" || value === "body") return value;
  throw new ConfigError("--retry-after", "expected both, header or body");
}

function advertiseMode(value: string | undefined): AdvertiseMode {
  if (value === undefined) return MOCK_API_DEFAULTS.advertise;
  if (isAdvertiseMode(value)) return value;
  throw new ConfigError("--advertise", "expected none, ietf, x-ratelimit or garbage");
}

/** Reads repeated `--client-rate-limit ID=N/duration` flags. */
function clientRateLimits(values: string[]): Record<string, RateLimit> {
  const limits: Record<string, RateLimit> = {};
  for (const value of values) {
    const [id = "", text = ""] = value.split(/=(.*)/s);
    const limit = parseRateLimit(text);
    if (!id || !limit) {
      throw new ConfigError("--client-rate-limit", "expected ID=N/duration such as acme=5/60s");
    }
    if (Object.hasOwn(limits, id)) {
      throw new ConfigError("--client-rate-limit", `${id} is given twice`);
    }
    limits[id] = limit;
  }
  return limits;
}

/** Reads repeated `--client ID=EMAIL:PASSWORD` flags (the password may hold colons). */
function clientCredentials(values: string[]): Record<string, MockClientCredentials> {
  const clients: Record<string, MockClientCredentials> = {};
  for (const value of values) {
    const match = /^([^=]+)=([^:]+):(.+)$/s.exec(value);
    if (!match) {
      throw new ConfigError("--client", "expected ID=EMAIL:PASSWORD such as acme=a@b.c:pw");
    }
    const [, id, email, password] = match as unknown as [string, string, string, string];
    if (Object.hasOwn(clients, id)) throw new ConfigError("--client", `${id} is given twice`);
    clients[id] = { email, password };
  }
  return clients;
}
