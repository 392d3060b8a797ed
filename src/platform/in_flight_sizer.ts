/**
 * How many requests a host gate lets in flight, from the work (Little's law): the accounts'
 * request rates (each `count / windowMs`) times how long a request holds its place, plus
 * headroom for the randomness of arrivals and one account's whole window at once, under the
 * operator's ceiling. The hold time is the mean of the latest requests of each kind, so the
 * bound follows the latency as it changes; it is the longer kind's mean (campaign syncs take
 * seconds where pages take milliseconds), so a run's quick listing never shrinks the bound the
 * syncs that follow it need.
 * @module
 */
import type { RateLimit } from "../duration.ts";

/** Options for {@linkcode createInFlightSizer}. */
export interface InFlightSizerOptions {
  /** The bound never goes above this. */
  ceiling: number;
  /** Factor on the mean requests in flight (rate x hold time). @default 1.25 */
  headroom?: number;
  /** Places added on top, at least; more when one account's window holds more requests. @default 16 */
  spare?: number;
  /** Hold time assumed for a kind of request before any was measured, in ms. @default 1_000 */
  initialHoldMs?: number;
  /**
   * The kinds of request expected: each counts as {@linkcode initialHoldMs} until measured, so the
   * quick kind measured first (a run's pages) cannot shrink the bound before the slow kind (its
   * syncs) has been measured. @default none: only the kinds measured count
   */
  kinds?: readonly string[];
  /** Hold times averaged per kind of request. @default 64 */
  samples?: number;
  /** Time source, in ms: the accounts' limits are read again at most once a second. @default Date.now */
  now?: () => number;
}

/** The sizing of one host's gate. */
export interface InFlightSizer {
  /** Counts an account's requests until the returned function is called (once). */
  add(demand: { readonly limit: RateLimit }): () => void;
  /** Records how long a request of `kind` held its place, in ms. */
  observe(holdMs: number, kind?: string): void;
  /**
   * The bound in force: the ceiling while no account is counted; otherwise sized from the most
   * work counted at once so far, not the work left, as accounts end together (see below).
   */
  bound(): number;
  /** The hold time the bound assumes now, in ms. */
  holdMs(): number;
}

/** Creates a sizer with no account counted and no hold time measured. */
export function createInFlightSizer(options: InFlightSizerOptions): InFlightSizer {
  const { ceiling, headroom = 1.25, spare = 16, initialHoldMs = 1_000, samples = 64 } = options;
  const { now = Date.now, kinds: expected = [] } = options;
  // One entry per call of add(), so an account counted twice is also removed twice; each with
  // the rate it was counted at.
  const demands = new Set<{ demand: { readonly limit: RateLimit }; perMs: number }>();
  const kinds = new Map<string, RollingMean>();
  // The accounts' rates summed, kept as accounts come and go, and read again from their limits
  // once a second (a limit the platform advertised may change): the gate asks on every request,
  // so no request may cost a pass over every account.
  let perMs = 0;
  let widest = 0;
  let summedAt: number | undefined;
  // The most work counted at once while some is: accounts that started together end together,
  // each with its last window's requests at once, and a bound shrinking with the accounts left
  // would make those requests queue, each delaying the window after it.
  let peak = { perMs: 0, widest: 0 };

  function demand(): { perMs: number; widest: number } {
    const at = now();
    if (summedAt === undefined || at - summedAt >= 1_000 || at < summedAt) {
      perMs = 0;
      widest = 0;
      for (const entry of demands) {
        entry.perMs = rateOf(entry.demand.limit);
        perMs += entry.perMs;
        widest = Math.max(widest, entry.demand.limit.count);
      }
      summedAt = at;
    }
    peak = { perMs: Math.max(peak.perMs, perMs), widest: Math.max(peak.widest, widest) };
    return peak;
  }

  function holdMs(): number {
    let longest = 0;
    for (const mean of kinds.values()) longest = Math.max(longest, mean.value());
    const unmeasured = kinds.size === 0 || expected.some((kind) => !kinds.has(kind));
    return unmeasured ? Math.max(longest, initialHoldMs) : longest;
  }

  return {
    add(added) {
      const entry = { demand: added, perMs: rateOf(added.limit) };
      demands.add(entry);
      perMs += entry.perMs;
      widest = Math.max(widest, added.limit.count);
      return () => {
        if (!demands.delete(entry)) return;
        perMs -= entry.perMs;
        if (demands.size === 0) peak = { perMs: 0, widest: 0 };
      };
    },
    observe(ms, kind = "any") {
      let mean = kinds.get(kind);
      if (!mean) kinds.set(kind, mean = createRollingMean(samples));
      mean.add(Math.max(0, ms));
    },
    bound() {
      if (demands.size === 0) return ceiling;
      const { perMs, widest } = demand();
      // Less a hair: a sum of many rates must not round up a whole place.
      const needed = Math.ceil(perMs * holdMs() * headroom - 1e-6) + Math.max(spare, widest);
      return Math.min(ceiling, needed);
    },
    holdMs,
  };
}

/** Requests per ms that `limit` allows. */
function rateOf(limit: RateLimit): number {
  return limit.count / limit.windowMs;
}

interface RollingMean {
  add(value: number): void;
  value(): number;
}

/** The mean of the latest `size` values. */
function createRollingMean(size: number): RollingMean {
  const values: number[] = [];
  let next = 0;
  let sum = 0;
  return {
    add(value) {
      if (values.length < size) values.push(value);
      else {
        sum -= values[next]!;
        values[next] = value;
        next = (next + 1) % size;
      }
      sum += value;
    },
    value: () => values.length === 0 ? 0 : sum / values.length,
  };
}
