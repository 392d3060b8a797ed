import { type Clock, systemClock } from "../clock.ts";
import type { RateLimit } from "../duration.ts";

/** Options for {@linkcode createRateLimiter}. */
export interface RateLimiterOptions {
  /** Time source and sleeper. @default systemClock */
  clock?: Clock;
  /** Send times (epoch ms) of requests made before this limiter existed, e.g. by a crashed run. @default [] */
  history?: readonly number[];
  /** Called with the send time of every admitted request, before it leaves (to persist it). @default no-op */
  onSend?: (at: number) => void;
  /**
   * Extra time after a send leaves the window before its slot is reused, covering the
   * difference in delay between two requests on their way to the platform (which stamps them
   * on arrival). @default 2% of the window, at least 100 ms and at most 500 ms
   */
  marginMs?: number;
}

/** A client-side mirror of the platform's sliding-window log for one account. */
export interface RateLimiter {
  /** Waits, in arrival order, until a request may leave without a 429, and records it as sent. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Admits nothing before `at` (epoch ms): the platform said 429 and asked us to wait. */
  holdUntil(at: number): void;
  /**
   * Doubles the safety margin (up to a tenth of the window): a 429 arrived although the
   * window had room, so delays to the platform vary more than the margin allowed for.
   */
  widenMargin(): void;
  /** The safety margin in force, in ms. */
  readonly marginMs: number;
  /** The earliest time (epoch ms) the `n`th request from now could leave, if all were queued now. */
  finishTimeFor(n: number): number;
  /** Requests waiting for a slot now. */
  readonly waiting: number;
  /** Milliseconds spent with at least one request waiting for a slot. */
  readonly waitedMs: number;
  /** The rate limit it enforces. */
  readonly limit: RateLimit;
}

/**
 * Creates a sliding-window limiter that admits at most `limit.count` requests in any
 * `limit.windowMs`, counting every request sent (retries and failures included), as the platform does.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ count: 10, windowMs: 60_000 });
 * await limiter.acquire(signal); // now send the request
 * ```
 */
export function createRateLimiter(limit: RateLimit, options: RateLimiterOptions = {}): RateLimiter {
  const {
    clock = systemClock,
    history = [],
    onSend = () => {},
  } = options;
  let marginMs = options.marginMs ?? Math.min(500, Math.max(100, limit.windowMs * 0.02));
  // The send times that can still matter: at most `count`, ascending.
  const sends = [...history].sort((a, b) => a - b).slice(-limit.count);
  let heldUntil = 0;
  let tail: Promise<void> = Promise.resolve();
  let waiting = 0;
  let waitedMs = 0;
  let waitStart: number | undefined;

  /** When the next request may leave, given sends so far. */
  function nextSlot(times: readonly number[], from: number): number {
    const blocking = times.length >= limit.count ? times[times.length - limit.count]! : undefined;
    const free = blocking === undefined ? from : blocking + limit.windowMs + marginMs;
    return Math.max(from, free, heldUntil);
  }

  async function takeTurn(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const now = clock.now();
      const at = nextSlot(sends, now);
      if (at <= now) {
        sends.push(now);
        if (sends.length > limit.count) sends.shift();
        onSend(now);
        return;
      }
      await clock.sleep(at - now, signal);
    }
  }

  function startWaiting(): void {
    if (waiting++ === 0) waitStart = clock.now();
  }
  function stopWaiting(): void {
    if (--waiting === 0 && waitStart !== undefined) waitedMs += clock.now() - waitStart;
  }

  return {
    acquire(signal) {
      startWaiting();
      const turn = tail.then(() => takeTurn(signal)).finally(stopWaiting);
      tail = turn.catch(() => {});
      return turn;
    },
    holdUntil(at) {
      heldUntil = Math.max(heldUntil, at);
    },
    widenMargin() {
      marginMs = Math.max(marginMs, Math.min(limit.windowMs / 10, Math.max(1, marginMs) * 2));
    },
    get marginMs() {
      return marginMs;
    },
    finishTimeFor(n) {
      const times = [...sends];
      let at = clock.now();
      for (let i = 0; i < n; i++) {
        at = nextSlot(times, at);
        times.push(at);
      }
      return at;
    },
    get waiting() {
      return waiting;
    },
    get waitedMs() {
      return waitedMs + (waitStart !== undefined && waiting > 0 ? clock.now() - waitStart : 0);
    },
    limit,
  };
}
