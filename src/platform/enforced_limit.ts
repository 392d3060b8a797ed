/**
 * What a platform enforces, told from a 429 under a limit it advertised: the count of the
 * account's requests it accepted in the window before the refusal.
 * @module
 */
import type { RateLimit } from "../duration.ts";

/** One of the account's rate-limited requests as the platform may have counted it. */
export interface SentRequest {
  /** When it left (epoch ms, our clock). */
  at: number;
  /** The platform answered it 429: it was not counted. */
  refused: boolean;
}

/**
 * How late a request may reach the platform, as a share of the window: the most the limiter's
 * margin ever allows for (a tenth of the window), so no refusal it could explain lowers a limit.
 */
export const LATE_ARRIVAL_SHARE = 0.1;

/**
 * The count per `limit.windowMs` the platform enforces, told from its refusal of the request
 * sent at `refusedAt` (`sent` holds it, marked refused): the requests not refused that left
 * within the window before it, or since then up to `now` (sent together, any may have arrived
 * first; one refused later is no longer counted when its own 429 is read), never below 1.
 *
 * Returns `undefined` when the refusal does not contradict `limit`: the requests not refused in
 * the window, with those that left up to {@linkcode LATE_ARRIVAL_SHARE} of a window before it
 * (which a late arrival would have kept in the platform's window), reach `limit.count`. Such a
 * 429 is one of timing, which the limiter's margin answers, not a wrong limit.
 *
 * @example
 * ```ts
 * const sent = [{ at: 0, refused: false }, { at: 5, refused: false }, { at: 6, refused: true }];
 * enforcedCount(sent, 6, 20, { count: 100, windowMs: 6_000 }); // 2
 * ```
 */
export function enforcedCount(
  sent: readonly SentRequest[],
  refusedAt: number,
  now: number,
  limit: RateLimit,
): number | undefined {
  const from = refusedAt - limit.windowMs;
  const lateFrom = from - limit.windowMs * LATE_ARRIVAL_SHARE;
  let accepted = 0;
  let justBefore = 0;
  for (const request of sent) {
    if (request.refused) continue;
    if (request.at > from && request.at <= now) accepted++;
    else if (request.at > lateFrom && request.at <= from) justBefore++;
  }
  if (accepted + justBefore >= limit.count) return undefined;
  return Math.max(1, accepted);
}
