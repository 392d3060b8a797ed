import { type Clock, systemClock } from "../clock.ts";
import type { RateLimit } from "../duration.ts";
import type { ArrivalDelay, LoopStalls } from "./lateness.ts";
import {
  LATENESS_CAP_SHARE,
  LATENESS_HORIZON_WINDOWS,
  MARGIN_MAX_MS,
  MARGIN_MIN_MS,
  MARGIN_SHARE,
} from "./tuning.ts";

/** Options for {@linkcode createRateLimiter}. */
export interface RateLimiterOptions {
  /** Time source and sleeper. @default systemClock */
  clock?: Clock;
  /** Send times (epoch ms) of requests made before this limiter existed, e.g. by a crashed run. @default [] */
  history?: readonly number[];
  /**
   * Called with the send time of every request as it leaves ({@linkcode Departure.sent}), to
   * persist it; the request leaves once it resolves. @default no-op
   */
  onSend?: (at: number) => void | Promise<void>;
  /**
   * Extra time after a send leaves the window before its slot is reused, covering the
   * difference in delay between two requests on their way to the platform (which stamps them
   * on arrival). @default 2% of the window, at least 50 ms and at most 500 ms
   */
  marginMs?: number;
  /**
   * Round trips of pages from the platform's host: the margin is never below the longest
   * one answered in the last 1.25 windows (which covers the requests that left a window ago), at
   * most a tenth of the window, since a request cannot reach the platform later than a page that
   * left with it is answered. @default none: the margin alone
   */
  arrivalDelay?: Pick<ArrivalDelay, "recentMaxMs">;
  /**
   * When this process's event loop was held: a request sent during a stall reached the platform
   * late, so the request that takes its place a window later waits for as long as it was held
   * after its send (up to a whole window); and a machine busy enough to hold this process may hold
   * the platform's reading of a request on its way as long, so a send's margin is never below the
   * longest stall between its leaving and its answer (a guess: at most a tenth of the window).
   * @default none
   */
  stalls?: Pick<LoopStalls, "heldAfter" | "longestDuring">;
}

/** An admitted request, not yet on its way. */
export interface Departure {
  /**
   * Says the request leaves at `at` (epoch ms, default now): its place in the window moves from
   * its admission to then, and `onSend` persists it. Until then, the window counts it as leaving
   * any moment. Call it once, just before sending, and send once it resolves: its place then
   * moves to the time persisting ended, if later. If persisting fails it rejects with that
   * error and frees the place: the request must not leave.
   */
  sent(at?: number): Promise<void>;
  /** Says the request will not leave after all (stopped before it was sent): it frees its place. */
  cancel(): void;
  /**
   * Says the platform answered the request at `at` (epoch ms, default now; its headers are
   * enough): it counted the request no later, so the request that takes its place a window later
   * needs no more margin than this round trip, however late the host's other requests arrived.
   * `lateMs`: how much longer the round trip took than the host's quickest of its kind; the
   * request may have reached the platform that late (a connection slow to open, a busy machine),
   * so its place is reused that much later, up to a window. @default lateMs 0
   */
  answered(at?: number, lateMs?: number): void;
}

/** A client-side mirror of the platform's sliding-window log for one account. */
export interface RateLimiter {
  /**
   * Waits, in arrival order, until a request may leave without a 429, and holds its place in
   * the window; the request calls `sent()` on the returned departure when it actually leaves.
   */
  acquire(signal?: AbortSignal): Promise<Departure>;
  /** Admits nothing before `at` (epoch ms): the platform said 429 and asked us to wait. */
  holdUntil(at: number): void;
  /** The latest time given to {@linkcode holdUntil} (epoch ms); 0 before any. */
  readonly heldUntil: number;
  /**
   * Doubles the safety margin (up to a tenth of the window): a 429 arrived although the
   * window had room, so delays to the platform vary more than the margin allowed for.
   */
  widenMargin(): void;
  /** The safety margin in force, in ms. */
  readonly marginMs: number;
  /**
   * The earliest time (epoch ms) the `n`th request could leave if all were queued at `from`
   * (epoch ms) and each sent as soon as it may. @default from now
   */
  finishTimeFor(n: number, from?: number): number;
  /** Requests waiting for a slot now. */
  readonly waiting: number;
  /** Milliseconds spent with at least one request waiting for a slot. */
  readonly waitedMs: number;
  /** The rate limit it enforces. */
  readonly limit: RateLimit;
  /**
   * Enforces `next` from now on (the platform advertised it); every send still known, including
   * the `history` it started with, counts against the new window.
   */
  adopt(next: RateLimit): void;
  /**
   * Trusts the platform's count when it is stricter than ours: at most `remaining` more requests
   * leave before `resetAt` (epoch ms).
   */
  trustRemaining(remaining: number, resetAt: number): void;
}

/**
 * Creates a sliding-window limiter that admits at most `limit.count` requests in any
 * `limit.windowMs`, counting every request sent (retries and failures included), as the platform does.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter({ count: 10, windowMs: 60_000 });
 * const departure = await limiter.acquire(signal);
 * departure.sent(); // now send the request
 * ```
 */
export function createRateLimiter(limit: RateLimit, options: RateLimiterOptions = {}): RateLimiter {
  const { clock = systemClock, history = [], onSend = () => {}, arrivalDelay, stalls } = options;
  let marginMs = options.marginMs ?? defaultMarginMs(limit.windowMs);
  // The sends that can still matter, ascending: at most `count`. An unsent one leaves any moment.
  const sends: Send[] = [...history].sort((a, b) => a - b).slice(-limit.count).map((at) => ({
    at,
    sent: true,
  }));
  let heldUntil = 0;
  let tail: Promise<unknown> = Promise.resolve();
  let waiting = 0;
  let waitedMs = 0;
  /** When `waiting` last rose from 0. */
  let waitStart = 0;

  /**
   * The margin after `send`, at `now`: the set one, or if longer the recent arrival delay or the
   * longest stall while the send was on its way (guesses of how late it arrived: at most a tenth
   * of the window), or what that very send measured (how long the loop was held after it, how much
   * longer than the host's quickest its round trip took: up to a whole window); but never more than
   * the send's own round trip when it was answered (the platform counted it before it answered).
   */
  function marginAt(now: number, send: Pick<Send, "at" | "answeredAt" | "lateMs">): number {
    const learnt = arrivalDelay?.recentMaxMs(now, LATENESS_HORIZON_WINDOWS * limit.windowMs) ?? 0;
    const onItsWay = stalls?.longestDuring(send.at, send.answeredAt ?? now) ?? 0;
    const guessed = Math.max(learnt, onItsWay);
    const capped = Math.min(limit.windowMs * LATENESS_CAP_SHARE, guessed);
    const held = Math.max(stalls?.heldAfter(send.at) ?? 0, ownLateness(send));
    const answered = send.answeredAt === undefined ? Infinity : send.answeredAt - send.at;
    return Math.max(marginMs, Math.min(Math.max(capped, Math.min(limit.windowMs, held)), answered));
  }

  /** How late `send` itself may have arrived, told by its round trip (see `Departure.answered`). */
  function ownLateness(send: Pick<Send, "lateMs">): number {
    return Math.min(limit.windowMs, send.lateMs ?? 0);
  }

  /** When a send's place in the window may end, before the margins every send shares. */
  const freedAt = (send: Send) => send.at + ownLateness(send);

  /** The send whose slot the next request takes, if the window is full. */
  function blockingSend(times: readonly Send[], from: number): Send | undefined {
    if (times.length < limit.count) return undefined;
    // A request admitted but not sent yet will reach the platform no earlier than `from`.
    const leaves = (send: Send) => send.sent ? send.at : Math.max(send.at, from);
    const order = times.slice().sort((a, b) =>
      leaves(a) + ownLateness(a) - leaves(b) - ownLateness(b)
    );
    const send = order[order.length - limit.count]!;
    return send.sent ? send : { ...send, at: leaves(send) };
  }

  /** When the next request may leave, given the sends so far. */
  function nextSlot(times: readonly Send[], from: number): number {
    const blocking = blockingSend(times, from);
    const free = blocking === undefined
      ? from
      : blocking.at + limit.windowMs + marginAt(clock.now(), blocking);
    return Math.max(from, free, heldUntil);
  }

  function insert(send: Send): void {
    let i = sends.length;
    while (i > 0 && sends[i - 1]!.at > send.at) i--;
    sends.splice(i, 0, send);
    // Forget the request that left whose place ends first; one still to leave always matters.
    while (sends.length > limit.count) sends.splice(Math.max(0, firstFreed()), 1);
  }

  /** The index of the sent request whose place ends first; -1 when none was sent. */
  function firstFreed(): number {
    let first = -1;
    sends.forEach((send, i) => {
      if (send.sent && (first < 0 || freedAt(send) < freedAt(sends[first]!))) first = i;
    });
    return first;
  }

  function remove(send: Send): void {
    const index = sends.indexOf(send);
    if (index >= 0) sends.splice(index, 1);
  }

  /**
   * Persists a send before its request leaves. A slow write delays the request, so its place
   * moves to when the write ended; a failed one means it never leaves, so its place is freed.
   */
  async function persist(left: Send): Promise<void> {
    try {
      await onSend(left.at);
    } catch (error) {
      remove(left);
      throw error;
    }
    // Until now it counted as leaving any moment, so that no later send could push it out of
    // the log however long the write took (a database outage): the limiter never forgets it.
    remove(left);
    left.at = Math.max(left.at, clock.now());
    left.sent = true;
    insert(left);
  }

  async function takeTurn(signal?: AbortSignal): Promise<Departure> {
    for (;;) {
      signal?.throwIfAborted();
      const now = clock.now();
      const at = nextSlot(sends, now);
      if (at <= now) {
        const send: Send = { at: now, sent: false };
        insert(send);
        let settled = false;
        let left: Send | undefined;
        /** Takes the admitted request out of the window, and puts it back at `leftAt` if it left. */
        const settle = (leftAt?: number): Promise<void> => {
          if (settled) return Promise.resolve();
          settled = true;
          remove(send);
          if (leftAt === undefined) return Promise.resolve();
          left = { at: Math.max(send.at, leftAt), sent: false };
          insert(left);
          return persist(left);
        };
        return {
          sent: (leftAt = clock.now()) => settle(leftAt),
          cancel: () => void settle(),
          answered(at = clock.now(), lateMs = 0) {
            if (!left?.sent) return;
            left.answeredAt = at;
            left.lateMs = lateMs;
          },
        };
      }
      await clock.sleep(at - now, signal);
    }
  }

  return {
    acquire(signal) {
      if (waiting++ === 0) waitStart = clock.now();
      const turn = tail.then(() => takeTurn(signal)).finally(() => {
        if (--waiting === 0) waitedMs += clock.now() - waitStart;
      });
      tail = turn.catch(() => {});
      return turn;
    },
    holdUntil(at) {
      heldUntil = Math.max(heldUntil, at);
    },
    get heldUntil() {
      return heldUntil;
    },
    widenMargin() {
      const cap = limit.windowMs * LATENESS_CAP_SHARE;
      marginMs = Math.max(marginMs, Math.min(cap, Math.max(1, marginMs) * 2));
    },
    get marginMs() {
      return marginMs;
    },
    finishTimeFor(n, from = clock.now()) {
      if (n <= 0) return from;
      // Two windows' worth are scheduled one by one (the sends known and their lateness decide
      // them); past them each request takes the slot of the one `count` before it, a window and a
      // margin later.
      const simulated = Math.min(n, 2 * limit.count);
      const times = [...sends];
      const at: number[] = [];
      let last = from;
      for (let i = 0; i < simulated; i++) {
        last = nextSlot(times, last);
        at.push(last);
        times.push({ at: last, sent: true });
        if (times.length > limit.count) times.shift();
      }
      if (n === simulated) return last;
      const base = simulated - limit.count + ((n - 1 - simulated) % limit.count);
      const rounds = Math.floor((n - 1 - simulated) / limit.count) + 1;
      return at[base]! + rounds * (limit.windowMs + marginMs);
    },
    get waiting() {
      return waiting;
    },
    get waitedMs() {
      return waitedMs + (waiting > 0 ? clock.now() - waitStart : 0);
    },
    get limit() {
      return limit;
    },
    adopt(next) {
      limit = { ...next };
      if (options.marginMs === undefined) marginMs = defaultMarginMs(limit.windowMs);
      for (const at of unknownSends(history, sends)) insert({ at, sent: true });
    },
    trustRemaining(remaining, resetAt) {
      const now = clock.now();
      const held = sends.filter((s) => !s.sent || s.at > now - limit.windowMs).length;
      const unknown = limit.count - held - remaining;
      if (unknown <= 0) return; // our own count is as strict, and knows each send's time
      // Requests someone else sent (or the platform counts otherwise): they leave at its reset.
      const at = Math.min(now, resetAt - limit.windowMs);
      for (let i = 0; i < unknown; i++) insert({ at, sent: true });
      if (remaining <= 0) heldUntil = Math.max(heldUntil, resetAt);
    },
  };
}

/** The margin of a window when none is set: 2% of it, from 50 ms to 500 ms. */
function defaultMarginMs(windowMs: number): number {
  return Math.min(MARGIN_MAX_MS, Math.max(MARGIN_MIN_MS, windowMs * MARGIN_SHARE));
}

/** The sends of `history` not among `sends` yet (one for one: two sends may share a time). */
function unknownSends(history: readonly number[], sends: readonly Send[]): number[] {
  const known = new Map<number, number>();
  for (const send of sends) if (send.sent) known.set(send.at, (known.get(send.at) ?? 0) + 1);
  return history.filter((at) => {
    const left = known.get(at) ?? 0;
    if (left > 0) known.set(at, left - 1);
    return left === 0;
  });
}

interface Send {
  at: number;
  /** False while the request is admitted but has not left yet. */
  sent: boolean;
  /** When the platform answered it (epoch ms), once it has. */
  answeredAt?: number;
  /** How late it may have reached the platform, told by its round trip (see `Departure.answered`). */
  lateMs?: number;
}
