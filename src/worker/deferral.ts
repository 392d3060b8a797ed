/**
 * When a worker hands an account back for later instead of holding a job slot asleep: the
 * platform throttles it for long (a 429 asking to wait more than a few windows) or its login
 * failed in a way a later try may mend (network, timeout, 5xx, 429; never 401/403).
 */
import { HttpError } from "../errors.ts";
import { classifyFailure } from "../platform/retry.ts";

/** A 429 asking to wait more than this many windows hands the account back instead. */
export const DEFER_AFTER_WINDOWS = 3;
/** The longest a failed login's account stays away before its next try, in ms. */
export const LOGIN_BACKOFF_CAP_MS = 30 * 60_000;

/** An account to hand back: how long it stays away, and why. */
export interface Deferral {
  delayMs: number;
  reason: string;
}

/** What the decision needs besides the error. */
export interface DeferralContext {
  /** Where it failed: the run's first login, or an API call (whose 429 the account is held for). */
  during: "login" | "request";
  /** The account's rate-limit window, in ms. */
  windowMs: number;
  /** Times the job was handed back before (its tries not spent), for a failed login's backoff. */
  handBacks: number;
}

/**
 * Whether to hand the account back for later, and for how long: a 429 whose wait (its
 * `Retry-After`, else one window) exceeds {@linkcode DEFER_AFTER_WINDOWS} windows, for that wait;
 * a login that failed transiently, for a window doubling with each hand-back (up to
 * {@linkcode LOGIN_BACKOFF_CAP_MS}), or the wait its 429 asked if longer. Anything else: none.
 */
export function deferralFor(error: unknown, context: DeferralContext): Deferral | undefined {
  const { windowMs, during } = context;
  const kind = classifyFailure(error);
  const asked = error instanceof HttpError && kind === "hold"
    ? error.retryAfterMs ?? windowMs
    : undefined;
  if (during === "request") {
    if (asked === undefined || asked <= DEFER_AFTER_WINDOWS * windowMs) return undefined;
    return { delayMs: asked, reason: `throttled: the platform asked to wait ${seconds(asked)}` };
  }
  if (kind !== "retry" && kind !== "hold") return undefined; // refused credentials, a bug
  const backoff = Math.min(LOGIN_BACKOFF_CAP_MS, windowMs * 2 ** Math.min(20, context.handBacks));
  const delayMs = Math.max(backoff, asked ?? 0);
  const what = error instanceof Error ? error.message : String(error);
  return { delayMs, reason: `login failed (${what}); trying again in ${seconds(delayMs)}` };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
