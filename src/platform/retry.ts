import pRetry from "p-retry";
import { type Clock, systemClock } from "../clock.ts";
import { HttpError, NetworkError, TimeoutError } from "../errors.ts";

/** How failed attempts are repeated: the same for logins and for the API calls. */
export interface RetryOptions {
  /** Time source and sleeper for backoff. @default systemClock */
  clock?: Clock;
  /** Attempts in all for 5xx, timeouts and network errors. @default 5 */
  maxAttempts?: number;
  /** First backoff ceiling in ms; it doubles each attempt, and the wait is random below it. @default 500 */
  backoffBaseMs?: number;
  /** Largest backoff ceiling in ms. @default 10_000 */
  backoffCapMs?: number;
  /** Source of randomness for jitter, in [0, 1). @default Math.random */
  random?: () => number;
  /** Ends the backoff waits (and so the retries); an attempt under way is never cut by it. @default never */
  signal?: AbortSignal;
  /** Called before each backoff, with the error and the wait. @default no-op */
  onRetry?: (error: Error, attempt: number, delayMs: number) => void;
}

/**
 * Whether repeating a request can help: a 5xx, a timeout or a network failure. Never a 2xx
 * (an invalid answer is the platform's word), a redirect or another 4xx.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof HttpError) return error.status >= 500 && error.status < 600;
  return error instanceof TimeoutError || error instanceof NetworkError;
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
 * Runs `attempt` until it succeeds, fails in a way retrying cannot help, or has used its attempts.
 * A backoff follows each failed attempt, except a timeout (it already waited its deadline).
 * The stop signal only ends waits between attempts: a result that arrives is always returned.
 */
export async function withRetries<T>(
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
    onRetry = () => {},
  } = options;
  return await pRetry(attempt, {
    retries: Math.max(0, maxAttempts - 1),
    minTimeout: 0,
    maxTimeout: 0,
    // No `signal` here on purpose: p-retry would drop a result that arrives after a stop.
    shouldRetry: ({ error }) => isRetryable(error),
    onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
      if (!isRetryable(error) || retriesLeft === 0) return;
      // A timed-out attempt already waited its whole deadline: its retry does not wait again.
      const delayMs = error instanceof TimeoutError
        ? 0
        : backoffDelay(attemptNumber, backoffBaseMs, backoffCapMs, random);
      onRetry(error, attemptNumber, delayMs);
      await clock.sleep(delayMs, signal);
    },
  });
}
