/**
 * How long an account's next request may wait without its last one leaving later. The first
 * window after a listing has room the syncs do not all need at once: when the account's requests
 * left are a multiple of its window's count (100 campaigns at 10 a window), only the chain of
 * slots that page 1 started decides when the last one leaves, and a sync taking another slot of
 * that first window may leave any time within the window. Sent at once, the first windows of
 * 1,000 accounts that listed together make one storm (9,000 syncs asked within a second or two)
 * that this process, the host gate and the platform must all absorb, and every account's next
 * window waits for it; spread over the window, they never form one.
 * @module
 */
import type { RateLimiter } from "./rate_limiter.ts";

/** The waits tried, as shares of the window, longest first. */
const SHARES = [0.8, 0.4, 0.2];

/**
 * The longest of 0.8, 0.4 and 0.2 windows that the first of the account's next `n` requests may
 * wait, all `n` then leaving as soon as they may, with the last leaving no later than if none
 * waited; 0 when none fits (the next request is one the finish depends on) or when no slot is free
 * now (the request waits for one anyway).
 */
export function slackMs(
  limiter: Pick<RateLimiter, "finishTimeFor" | "limit">,
  n: number,
  now: number,
): number {
  const { count, windowMs } = limiter.limit;
  if (n <= count || limiter.finishTimeFor(1, now) > now) return 0;
  // Once every slot is in use the schedule repeats each window: the requests of the last window
  // and one whole window before it decide the finish, however many windows come first.
  const m = ((n - 1) % count) + 1 + count;
  const finish = limiter.finishTimeFor(m, now);
  for (const share of SHARES) {
    const waitMs = share * windowMs;
    if (limiter.finishTimeFor(m, now + waitMs) <= finish) return waitMs;
  }
  return 0;
}

/**
 * {@linkcode slackMs} of `limiter` on `clock`, reused for 100 ms while `n` stays the same: the
 * syncs of a first window ask together, before any of them leaves or ends. Always 0 while the
 * window's count exceeds `concurrency` (the syncs an account has in progress at once): the
 * schedule {@linkcode slackMs} assumes sends each request as soon as its slot frees, and syncs
 * that wait would then hold up the ones behind them.
 */
export function slackGauge(
  limiter: Pick<RateLimiter, "finishTimeFor" | "limit">,
  now: () => number,
  concurrency: number,
): (n: number) => number {
  let last: { at: number; n: number; waitMs: number } | undefined;
  return (n) => {
    if (limiter.limit.count > concurrency) return 0;
    const at = now();
    if (last && last.n === n && at >= last.at && at - last.at < 100) {
      return Math.max(0, last.waitMs - (at - last.at));
    }
    const waitMs = slackMs(limiter, n, at);
    last = { at, n, waitMs };
    return waitMs;
  };
}
