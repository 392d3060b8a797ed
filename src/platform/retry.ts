import type { Logger } from "@logtape/logtape";
import pRetry from "p-retry";
import { errorCode, HttpError, NetworkError, TimeoutError } from "../errors.ts";
import { type Clock, systemClock } from "../clock.ts";
import { MAX_HOLD_MS, MAX_HOLDS } from "./tuning.ts";

/**
 * What a failed request means, and so what to do about it:
 * - `"retry"`: send it again after a backoff (a 5xx but 501, a timeout, a network failure);
 * - `"refresh"`: log in again and send it again (a 401: the token may have expired early);
 * - `"hold"`: hold the account for the wait the platform asks, then send it again (a 429);
 * - `"fatal"`: sending it again cannot help (another 3xx or 4xx, an invalid answer, refused
 *   credentials, a fresh token refused, a bug).
 */
export type FailureKind = "retry" | "refresh" | "hold" | "fatal";

/**
 * Says what a failure means: the one place that decides whether a request is retried,
 * replayed with a new token, held or given up, for logins and API calls alike. `refreshed`:
 * the request was already sent again with a new token after a 401.
 */
export function classifyFailure(error: unknown, { refreshed = false } = {}): FailureKind {
  if (error instanceof TimeoutError || error instanceof NetworkError) return "retry";
  if (!(error instanceof HttpError)) return "fatal";
  // 501: the server does not implement the request at all (RFC 9110), a state no wait changes.
  if (error.status === 501) return "fatal";
  if (error.status >= 500 && error.status < 600) return "retry";
  // A 401 on a token just issued is not an expiry: the platform refuses us.
  if (error.status === 401) return refreshed ? "fatal" : "refresh";
  if (error.status === 429) return "hold";
  return "fatal";
}

/**
 * Whether repeating a request after a backoff can help: a 5xx, a timeout or a network failure.
 * Never a 2xx (an invalid answer is the platform's word), a redirect or another 4xx.
 */
export function isRetryable(error: unknown): boolean {
  return classifyFailure(error) === "retry";
}

/** How long a 429 holds the account: the wait the platform asked for, else a whole window. */
export function rateLimitHoldMs(error: HttpError, windowMs: number): number {
  return Math.min(MAX_HOLD_MS, error.retryAfterMs ?? windowMs);
}

/** How failed attempts are repeated: the same loop for logins and for the API calls. */
export interface RetryOptions {
  /** Time source and sleeper for backoff. @default systemClock */
  clock?: Clock;
  /** Attempts in all for 5xx, timeouts and network errors. @default 5 */
  maxAttempts?: number;
  /**
   * First backoff ceiling in ms; it doubles with each failure backed off (not a timeout), and the
   * wait is random below it. @default 500
   */
  backoffBaseMs?: number;
  /** Largest backoff ceiling in ms. @default 10_000 */
  backoffCapMs?: number;
  /** Source of randomness for jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /** Ends the backoff waits (and so the retries); an attempt under way is never cut by it. @default never */
  signal?: AbortSignal;
  /** Called before each backoff, with the error and the wait. @default no-op */
  onRetry?: (error: Error, attempt: number, delayMs: number) => void;
  /**
   * Called on a 401 (`"refresh"`) to forget the refused token; the attempt is then sent again
   * at once, once: a second 401 is fatal. @default none: a 401 is fatal
   */
  onRefresh?: (error: HttpError) => void;
  /**
   * Called on every 429 (`"hold"`) to hold the account for the wait asked; returns whether it
   * did. A held attempt is sent again at once, up to {@linkcode MAX_HOLDS} answers in all; a 429
   * not held is fatal. @default none: a 429 is fatal
   */
  onHold?: (error: HttpError) => boolean;
}

/** An `onRetry` that logs each retry on `log` at debug level: the error, the attempt, the wait. */
export function retryLogger(log: Logger): NonNullable<RetryOptions["onRetry"]> {
  return (error, attempt, delayMs) =>
    log.debug("{message}; retry {attempt} in {delayMs} ms", {
      message: error.message,
      error_code: errorCode(error),
      attempt,
      delayMs,
    });
}

/** Full jitter: a random wait below an exponentially growing ceiling. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number,
): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
}

/**
 * Runs `attempt` until it succeeds or fails in a way the budgets or {@linkcode classifyFailure}
 * say is final: a `"retry"` failure is retried after a backoff (none after a timeout: it already
 * waited its deadline; so its ceiling doubles only with the failures backed off) up to
 * `maxAttempts` attempts; a `"refresh"` or a `"hold"` sends the same
 * attempt again, and each retry starts those two budgets anew. The stop signal only ends waits
 * between attempts: a result that arrives is always returned.
 *
 * The loop is p-retry's (the spec's library table); the decisions and the waits are ours. Its own
 * waits multiply the ceiling by a random 1 to 2 (`randomize`), where full jitter draws below it,
 * on real timers and `Math.random`, which tests cannot drive; and given the stop signal it drops
 * a result that arrives after the signal fired.
 */
export function retry<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const {
    clock = systemClock,
    maxAttempts = 5,
    backoffBaseMs = 500,
    backoffCapMs = 10_000,
    random = Math.random,
    signal,
  } = options;
  const { onRetry = () => {}, onRefresh, onHold } = options;
  let failed = 0;
  let backedOff = 0;
  let again = { refreshed: false, holds: 0 };
  /** Whether the failure just handled is sent again. */
  let retrying = false;
  return pRetry(attempt, {
    retries: Infinity, // the budgets are counted here
    minTimeout: 0, // and the waits taken here
    shouldRetry: () => retrying,
    async onFailedAttempt({ error }) {
      retrying = false;
      const kind = classifyFailure(error, again);
      if (kind === "refresh" && onRefresh) {
        again.refreshed = true;
        onRefresh(error as HttpError);
        return void (retrying = true);
      }
      if (kind === "hold" && onHold?.(error as HttpError) && ++again.holds < MAX_HOLDS) {
        return void (retrying = true);
      }
      if (kind !== "retry" || ++failed >= maxAttempts) return;
      const delayMs = error instanceof TimeoutError
        ? 0
        : backoffDelay(++backedOff, backoffBaseMs, backoffCapMs, random);
      onRetry(error, failed, delayMs);
      await clock.sleep(delayMs, signal);
      again = { refreshed: false, holds: 0 };
      retrying = true;
    },
  });
}
