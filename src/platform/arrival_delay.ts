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

/** One round trip: answered `at` (epoch ms), taking `ms`. */
interface Trip {
  at: number;
  ms: number;
}

/**
 * The longest trip within one horizon, as a sliding-window maximum: the trips that may still be
 * the longest, ascending by answer time with their lengths descending. Every account's limiter
 * asks it on every request, so it must not scan every trip of the host (10,000 accounts list
 * 10,000 pages at once): each trip goes in and out once.
 */
interface WindowMax {
  horizonMs: number;
  candidates: Trip[];
  /** The earliest answer time still asked about; a query before it rebuilds the window. */
  since: number;
}

/** Creates an empty record of round trips. */
export function createArrivalDelay(): ArrivalDelay {
  // Ascending by answer time (answers are recorded as they come, nearly in order).
  const trips: Trip[] = [];
  const windows = new Map<number, WindowMax>();
  let keepMs = 0;

  // Trips before `head` are forgotten; they are cut off in bulk, as a splice per query would
  // copy every trip kept.
  let head = 0;

  function forget(before: number): void {
    while (head < trips.length && trips[head]!.at < before) head++;
    if (head >= 1_024 && 2 * head >= trips.length) {
      trips.splice(0, head);
      head = 0;
    }
  }

  /** Adds `trip` to a window's candidates, keeping them ascending by time, descending by length. */
  function offer(window: WindowMax, trip: Trip): void {
    const { candidates } = window;
    let i = candidates.length;
    while (i > 0 && candidates[i - 1]!.at > trip.at) i--;
    // Dominated by a later trip at least as long: it can never be the longest again.
    for (let j = i; j < candidates.length; j++) if (candidates[j]!.ms >= trip.ms) return;
    let k = i;
    while (k > 0 && candidates[k - 1]!.ms <= trip.ms) k--;
    candidates.splice(k, i - k, trip);
  }

  function windowFor(horizonMs: number, since: number): WindowMax {
    let window = windows.get(horizonMs);
    if (window === undefined || since < window.since) {
      window = { horizonMs, candidates: [], since };
      for (let i = head; i < trips.length; i++) if (trips[i]!.at >= since) offer(window, trips[i]!);
      windows.set(horizonMs, window);
    }
    return window;
  }

  return {
    observe(sentAt, answeredAt) {
      const trip = { at: answeredAt, ms: Math.max(0, answeredAt - sentAt) };
      let i = trips.length;
      while (i > head && trips[i - 1]!.at > answeredAt) i--;
      trips.splice(i, 0, trip);
      for (const window of windows.values()) if (trip.at >= window.since) offer(window, trip);
    },
    recentMaxMs(now, horizonMs) {
      keepMs = Math.max(keepMs, horizonMs);
      forget(now - keepMs);
      const since = now - horizonMs;
      const window = windowFor(horizonMs, since);
      window.since = since;
      const { candidates } = window;
      let drop = 0;
      while (drop < candidates.length && candidates[drop]!.at < since) drop++;
      if (drop > 0) candidates.splice(0, drop);
      return candidates[0]?.ms ?? 0;
    },
    lastAnsweredAt: () => trips.at(-1)?.at,
  };
}
