import type { RequestPolicy } from "../account_plan.ts";
import type { Clock } from "../clock.ts";
import type { RateLimit } from "../duration.ts";
import { createHostGate, type HostGate } from "./host_gate.ts";
import { createRateLimiter, type RateLimiter } from "./rate_limiter.ts";
import { createTokenManager, type Credentials, type TokenManager } from "./token_manager.ts";
import { createLimitLearner, type LimitLearner } from "./limits.ts";

/** One client account at the platform: who we are, how we log in, and how fast we may go. */
export interface Account {
  /** The `X-Client-ID` sent with every request; the `account` stored with each row. */
  clientId: string;
  /** The platform's base URL. */
  baseUrl: string;
  tokens: TokenManager;
  limiter: RateLimiter;
  /** Teaches the limiter the limit the platform's answers advertise. */
  limits: LimitLearner;
  stats: RequestStats;
  /** Bounds the requests in flight to the platform's host, shared with the other accounts there. */
  hostGate: HostGate;
}

/** Options for {@linkcode createAccount}. */
export interface AccountOptions {
  /** The platform's base URL. */
  baseUrl: string;
  clientId: string;
  credentials: Credentials;
  /** The configured limit: a ceiling, or with `rateLimitAuto` the limit until one is advertised. */
  rateLimit: RateLimit;
  /** `rate_limit: "auto"`: follow the limit the platform advertises, above `rateLimit` too. @default false */
  rateLimitAuto?: boolean;
  /** The limit the platform advertised to the account's last run, to start from. @default none */
  advertisedBefore?: RateLimit;
  /**
   * What the platform enforced in the account's last run, when its 429s showed `advertisedBefore`
   * wrong: the limit while it advertises that same claim. @default none
   */
  enforcedBefore?: RateLimit;
  /** The fetch to log in with. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Time source. @default systemClock */
  clock?: Clock;
  /**
   * How its logins are bounded and retried: the run's request policy, as its client's (a login
   * takes `timeoutMs`, `maxAttempts` and the backoff). @default 15 s, 5 attempts, 500 ms to 10 s
   */
  request?: Partial<RequestPolicy>;
  /** The gate of the platform's host, shared by every account of the process that talks to it. @default a gate of its own */
  hostGate?: HostGate;
  /** Send times of earlier runs still inside the platform's window. @default [] */
  history?: readonly number[];
  /** Called before each rate-limited request leaves, to persist its send time; it leaves once this resolves. @default no-op */
  onSend?: (at: number) => void | Promise<void>;
  /** Called with each new token, so logging can redact it. @default no-op */
  onToken?: (token: string) => void;
}

/** Creates an account with its own token, rate limiter and counters. */
export function createAccount(options: AccountOptions): Account {
  const { baseUrl, clientId, credentials, rateLimit, fetch, clock, history } = options;
  const stats = createRequestStats();
  const hostGate = options.hostGate ?? createHostGate();
  const tokens = createTokenManager(baseUrl, credentials, {
    ...options.request,
    fetch,
    clock,
    clientId,
    hostGate,
    onToken: options.onToken,
    onOutcome: (outcome) => countOutcome(stats, "token", outcome),
    onRetry: () => void stats.retries++,
  });
  const { arrivalDelay, stalls } = hostGate;
  const limiter = createRateLimiter(rateLimit, {
    clock,
    history,
    onSend: options.onSend,
    arrivalDelay,
    stalls,
  });
  const limits = createLimitLearner(limiter, { auto: options.rateLimitAuto, clock, history });
  if (options.advertisedBefore) limits.recall(options.advertisedBefore, options.enforcedBefore);
  return { clientId, baseUrl, tokens, limiter, limits, stats, hostGate };
}

/** Which platform endpoint a request went to. */
export type Endpoint = "token" | "list" | "sync";

/** Counts of what the platform client did, for the summary, progress and metrics. */
export interface RequestStats {
  /** Requests sent to rate-limited endpoints. */
  requests: number;
  /** 429 answers received. */
  rateLimited: number;
  /** Attempts repeated after a 5xx, a timeout or a network error. */
  retries: number;
  /** Requests that got no answer before their deadline. */
  timeouts: number;
  /** Requests now on the wire. */
  inFlight: number;
  /** Outcomes by endpoint and status (`"200"`, `"503"`, `"timeout"`, `"network"`). */
  outcomes: Map<string, number>;
}

/** Creates zeroed stats. */
export function createRequestStats(): RequestStats {
  return { requests: 0, rateLimited: 0, retries: 0, timeouts: 0, inFlight: 0, outcomes: new Map() };
}

/** Counts one outcome of a request to `endpoint`; a `"timeout"` in {@linkcode RequestStats.timeouts} too. */
export function countOutcome(stats: RequestStats, endpoint: Endpoint, status: string): void {
  const key = `${endpoint} ${status}`;
  stats.outcomes.set(key, (stats.outcomes.get(key) ?? 0) + 1);
  if (status === "timeout") stats.timeouts++;
}

/** The outcomes as rows, for metrics. */
export function outcomeRows(
  stats: RequestStats,
): Array<{ endpoint: Endpoint; status: string; count: number }> {
  return [...stats.outcomes].map(([key, count]) => {
    const [endpoint, status] = key.split(" ") as [Endpoint, string];
    return { endpoint, status, count };
  });
}
