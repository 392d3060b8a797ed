/**
 * How late a request may reach a host after it left, learnt from the round trips of its pages
 * (list requests, which the platform answers at once): a request cannot reach the platform later
 * than its answer comes back, and requests that leave together meet the same queues on the way
 * (connections being opened, a busy event loop on either side). The rate limiters of the
 * accounts talking to the host add it to their safety margin, so the burst of a run's start,
 * when hundreds of requests leave at once and some reach the platform late, cannot make a window
 * hold one request too many. A login is not counted: the platform checks a password and issues a
 * token before it answers, so its round trip says how long that took, not how late requests
 * arrive. (A bound, and a loose one on a busy machine: at the start of 1,000 accounts, pages' round
 * trips of most of a second, our own event loop's delay in reading them, held every account's
 * second window that long, while requests reached the mock at most 87 ms late; a request's own
 * answer now bounds its slot's margin instead: see `Departure.answered` in rate_limiter.ts.)
 * @module
 */

/** The round trips of one host's pages, shared by every account talking to it. */
export interface ArrivalDelay {
  /** Records a page that left at `sentAt` and was answered at `answeredAt` (epoch ms). */
  observe(sentAt: number, answeredAt: number): void;
  /**
   * The longest round trip of a page answered in the `horizonMs` before `now`, or 0
   * when none was. Round trips answered earlier than the longest horizon asked so far are
   * forgotten.
   */
  recentMaxMs(now: number, horizonMs: number): number;
  /** When the latest round trip recorded was answered (epoch ms); undefined before any. */
  lastAnsweredAt(): number | undefined;
}

/** Creates an empty record of round trips. */
export function createArrivalDelay(): ArrivalDelay {
  // Ascending by answer time (answers are recorded as they come).
  const trips: Array<{ at: number; ms: number }> = [];
  let keepMs = 0;

  function forget(before: number): void {
    let drop = 0;
    while (drop < trips.length && trips[drop]!.at < before) drop++;
    if (drop > 0) trips.splice(0, drop);
  }

  return {
    observe(sentAt, answeredAt) {
      const ms = Math.max(0, answeredAt - sentAt);
      let i = trips.length;
      while (i > 0 && trips[i - 1]!.at > answeredAt) i--;
      trips.splice(i, 0, { at: answeredAt, ms });
    },
    recentMaxMs(now, horizonMs) {
      keepMs = Math.max(keepMs, horizonMs);
      forget(now - keepMs);
      let max = 0;
      for (let i = trips.length - 1; i >= 0 && trips[i]!.at >= now - horizonMs; i--) {
        max = Math.max(max, trips[i]!.ms);
      }
      return max;
    },
    lastAnsweredAt: () => trips.at(-1)?.at,
  };
}
