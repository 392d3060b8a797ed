/**
 * How late a request may reach the platform after it left: the platform counts a request when it
 * arrives, and the rate limiters reuse a slot only after the window plus this lateness (see
 * rate_limiter.ts). Two things make a request late, each measured here: the way to the platform
 * (learnt from the round trips of the host's pages, which the platform answers at once) and this
 * process (its event loop held by a busy machine, a disk stall or a long garbage collection, so
 * that a request stamped as sent left later).
 * @module
 */
import type { TimerSource } from "../clock.ts";
import { LOOP_CHECK_MS, LOOP_MIN_LATE_MS } from "./tuning.ts";

// The way to the platform: a request cannot reach it later than its answer comes back, and
// requests that leave together meet the same queues (connections being opened, a busy event loop
// on either side). A login is not counted: its round trip measures the platform's password check.
/**
 * The round trips of one host's answers, shared by every account talking to it: its pages' over
 * time, and the quickest of every kind of answer.
 */
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
  /**
   * Records a round trip of a request of `kind` (any endpoint and status, in ms) and returns how
   * much longer it took than the host's quickest of that kind so far: how late the request may
   * have reached the platform. The quickest is never forgotten: a platform that grows slower for
   * good is then waited for more, never less.
   */
  excessMs(kind: string, tripMs: number): number;
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
  const quickest = new Map<string, number>();

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
    excessMs(kind, tripMs) {
      const fastest = Math.min(quickest.get(kind) ?? Infinity, tripMs);
      quickest.set(kind, fastest);
      return Math.max(0, tripMs - fastest);
    },
  };
}

// This process: a request stamped as sent while the event loop was held left only once it ran
// again, and the platform's window counts it from then, so the request taking its slot a window
// later waits that much more. Only requests sent during a stall pay for it.
/** The stalls of one process, newest last. */
export interface LoopStalls {
  /** Records that the loop was held from `from` to `to` (epoch ms). */
  note(from: number, to: number): void;
  /** How long after `at` (epoch ms) a request stamped then may have left: 0 outside any stall. */
  heldAfter(at: number): number;
  /**
   * The longest stall that held the loop at some time from `from` to `to` (epoch ms), in ms; 0
   * when none did.
   */
  longestDuring(from: number, to: number): number;
  /** Whether a stall that ended after `at` (epoch ms) held the loop longer than `ms`. */
  heldLongerSince(at: number, ms: number): boolean;
}

/** Creates an empty record that keeps the latest `keep` stalls. @default keep 4096 */
export function createLoopStalls(keep = 4_096): LoopStalls {
  // Ascending by end, and so by start: the loop is held one stall after the other.
  const stalls: Array<{ from: number; to: number }> = [];

  /** The index of the first stall ending after `at`. */
  function firstEndingAfter(at: number): number {
    let low = 0;
    let high = stalls.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (stalls[mid]!.to > at) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  return {
    note(from, to) {
      if (to <= from) return;
      let i = stalls.length;
      while (i > 0 && stalls[i - 1]!.to > to) i--;
      stalls.splice(i, 0, { from, to });
      if (stalls.length > keep) stalls.splice(0, stalls.length - keep);
    },
    heldAfter(at) {
      // The first stall ending after `at`, and the next few, in case they overlap.
      const low = firstEndingAfter(at);
      let held = 0;
      for (let i = low; i < Math.min(stalls.length, low + 4); i++) {
        const stall = stalls[i]!;
        if (stall.from <= at) held = Math.max(held, stall.to - at);
      }
      return held;
    },
    longestDuring(from, to) {
      let ms = 0;
      for (let i = firstEndingAfter(from); i < stalls.length && stalls[i]!.from < to; i++) {
        ms = Math.max(ms, stalls[i]!.to - stalls[i]!.from);
      }
      return ms;
    },
    heldLongerSince(at, ms) {
      // From the newest back: a recent span holds a few stalls however many are kept.
      for (let i = stalls.length - 1; i >= 0 && stalls[i]!.to > at; i--) {
        if (stalls[i]!.to - stalls[i]!.from > ms) return true;
      }
      return false;
    },
  };
}

// The stalls are seen by how late this process runs a timer set every 50 ms.
/** Options for {@linkcode watchLoopLag}. */
export interface LoopLagOptions {
  /** Monotonic time in ms. @default performance.now */
  now?: () => number;
  /** Epoch time in ms, to report when the lateness happened. @default Date.now */
  epochNow?: () => number;
  /** Timers to check with; real ones do not keep the process alive. @default unref'd setTimeout */
  timers?: TimerSource;
}

const unrefTimers: TimerSource = {
  setTimeout(fn, ms) {
    const id = setTimeout(fn, ms);
    Deno.unrefTimer(id);
    return id;
  },
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/**
 * Calls `onLate(from, to)` (epoch ms) each time a check (one every {@linkcode LOOP_CHECK_MS})
 * ran later than due by at least {@linkcode LOOP_MIN_LATE_MS}: the loop may have been held any
 * time from the previous check (`from`) to this one (`to`). Returns a function that stops watching.
 */
export function watchLoopLag(
  onLate: (from: number, to: number) => void,
  options: LoopLagOptions = {},
): () => void {
  const { now = () => performance.now(), epochNow = Date.now, timers = unrefTimers } = options;
  let stopped = false;
  let timer: unknown;
  const arm = () => {
    const armedAt = now();
    const due = armedAt + LOOP_CHECK_MS;
    timer = timers.setTimeout(() => {
      if (stopped) return;
      const ranAt = now();
      if (ranAt - due >= LOOP_MIN_LATE_MS) {
        // The loop may have been held any time since the last check: all of it counts.
        const to = epochNow();
        onLate(to - (ranAt - armedAt), to);
      }
      arm();
    }, LOOP_CHECK_MS);
  };
  arm();
  return () => {
    stopped = true;
    timers.clearTimeout(timer);
  };
}
