import { HttpError, NetworkError, TimeoutError } from "../errors.ts";

/**
 * What a failed request means, and so what to do about it:
 * - `"retry"`: send it again after a backoff (a 5xx but 501, a timeout, a network failure);
 * - `"refresh"`: log in again and send it again (a 401: the token may have expired early);
 * - `"hold"`: hold the account for the wait the platform asks, then send it again (a 429);
 * - `"fatal"`: sending it again cannot help (another 3xx or 4xx, an invalid answer, refused
 *   credentials, a fresh token refused, a bug).
 */
export type FailureKind = "retry" | "refresh" | "hold" | "fatal";

/** What was already done for the request that failed. */
export interface FailureContext {
  /** The request was sent again with a new token after a 401. @default false */
  refreshed?: boolean;
}

/**
 * Says what a failure means: the one place that decides whether a request is retried,
 * replayed with a new token, held or given up, for logins and API calls alike.
 */
export function classifyFailure(error: unknown, context: FailureContext = {}): FailureKind {
  if (error instanceof TimeoutError || error instanceof NetworkError) return "retry";
  if (!(error instanceof HttpError)) return "fatal";
  // 501: the server does not implement the request at all (RFC 9110), a state no wait changes.
  if (error.status === 501) return "fatal";
  if (error.status >= 500 && error.status < 600) return "retry";
  // A 401 on a token just issued is not an expiry: the platform refuses us.
  if (error.status === 401) return context.refreshed ? "fatal" : "refresh";
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

/** The longest 429 wait honoured, in ms: a longer one is cut to it, and the request asks again. */
const MAX_HOLD_MS = 120_000;

/** 429 answers tolerated for one attempt at a request before it fails. */
export const MAX_HOLDS = 5;

/** How long a 429 holds the account: the wait the platform asked for, else a whole window. */
export function rateLimitHoldMs(error: HttpError, windowMs: number): number {
  return Math.min(MAX_HOLD_MS, error.retryAfterMs ?? windowMs);
}
