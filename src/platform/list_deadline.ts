/**
 * The deadline of a list request, from the host's recent round trips. A page is answered at once
 * (the platform reads it, it does no work), so a list request still unanswered after a few times
 * the longest round trip of a page the host answered lately has hung, and the platform's hangs
 * never answer at all (a login's round trip is not counted: it may take longer, and says nothing
 * of pages). Cutting it then rather than at `AD_PLATFORM_LIST_TIMEOUT` sends its retry seconds
 * sooner; that matters, since no sync of the account can start before its page 1 arrives, and
 * every later window of its schedule follows the one its listing ended in.
 * @module
 */
import type { ArrivalDelay } from "./arrival_delay.ts";

/** How many times the longest recent round trip a list request is given. */
export const LIST_DEADLINE_FACTOR = 4;
/** The shortest deadline, in ms, however quick the host's answers. */
export const MIN_LIST_DEADLINE_MS = 250;
/** How far back the latest answer may be for the round trips to count, in ms. */
export const LIST_DEADLINE_HORIZON_MS = 2_000;
/**
 * The round trips that count: those answered in this span before the latest answer, in ms. Short,
 * since they follow how busy this process is: at the start of 1,000 accounts pages came back in up
 * to 450 ms while it read a thousand of them, and in a few ms half a second later (measured).
 */
export const LIST_DEADLINE_SPAN_MS = 500;

/**
 * The deadline of a list request leaving at `now`: {@linkcode LIST_DEADLINE_FACTOR} times the
 * longest round trip of a page answered in the {@linkcode LIST_DEADLINE_SPAN_MS} before the latest
 * answer, at least {@linkcode MIN_LIST_DEADLINE_MS}; `maxMs` (the configured deadline) when no
 * page was answered in the last {@linkcode LIST_DEADLINE_HORIZON_MS}, and never more than it.
 * After the second of `timedOut` attempts of the same page cut by their deadline, each one doubles
 * it: a page slower than the others (a platform's cache miss) is still waited for as long as
 * configured before its attempts run out, rather than cut again and again (the round trips are
 * learnt from pages answered, never from those cut).
 */
export function listDeadlineMs(
  roundTrips: Pick<ArrivalDelay, "recentMaxMs" | "lastAnsweredAt">,
  now: number,
  maxMs: number,
  timedOut = 0,
): number {
  const last = roundTrips.lastAnsweredAt();
  if (last === undefined || last < now - LIST_DEADLINE_HORIZON_MS) return maxMs;
  const recent = roundTrips.recentMaxMs(last, LIST_DEADLINE_SPAN_MS);
  const learnt = Math.max(MIN_LIST_DEADLINE_MS, LIST_DEADLINE_FACTOR * recent);
  return Math.min(maxMs, learnt * 2 ** Math.max(0, timedOut - 1));
}
