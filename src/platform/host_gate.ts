import { onAbort } from "../abort_listeners.ts";
import type { Clock } from "../clock.ts";
import type { RateLimit } from "../duration.ts";
import {
  type ArrivalDelay,
  createArrivalDelay,
  createLoopStalls,
  type LoopStalls,
} from "./lateness.ts";
import {
  GATE_BUSY_LAG_MS,
  GATE_HEADROOM,
  GATE_INITIAL_HOLD_MS,
  GATE_RESERVED_SHARE,
  GATE_RESUM_MS,
  GATE_SAMPLES,
  GATE_SPARE,
  SOCKET_IDLE_SHARE,
  SOCKET_RESERVE,
  SOCKET_SHARE,
} from "./tuning.ts";

/** Options for {@linkcode createHostGate}. */
export interface HostGateOptions {
  /**
   * The operator's ceiling on requests in flight to the host at once, every account of the
   * process together. Below it, the gate sizes itself from the work (see
   * {@linkcode HostGate.addDemand}); with no work declared, the ceiling is the bound.
   * @default none: the work alone sizes the gate
   */
  maxInFlight?: number;
  /** Time source, to measure how long requests hold their place. @default Date.now */
  clock?: Pick<Clock, "now">;
}

/**
 * Whose turn comes first at the gate: `"ahead"` for the quick requests everything else waits on
 * (logins, and list requests: an account's syncs cannot start before its listing), then
 * `"behind"` for campaign syncs.
 */
export type GatePriority = "ahead" | "behind";

/** The priorities in the order they are let in. */
const PRIORITIES = ["ahead", "behind"] as const satisfies readonly GatePriority[];

/** What an account's requests ask of a host: its limiter's rate limit, read live. */
export interface Demand {
  readonly limit: RateLimit;
}

/**
 * Bounds the requests in flight to one host; the others wait their turn, first come first served
 * within their priority, every `"ahead"` waiter before any `"behind"` one. A few places are kept
 * for `"ahead"` requests only. The bound follows Little's law: the declared accounts' request rates
 * times the latency measured, plus headroom, under the operator's ceiling.
 */
export interface HostGate {
  /** Waits for room, then holds it until the returned function is called (once). @default priority "behind" */
  enter(signal?: AbortSignal, priority?: GatePriority): Promise<() => void>;
  /** Declares an account's requests to this host until the returned function is called (once). */
  addDemand(demand: Demand): () => void;
  /** Requests holding room now. */
  readonly inFlight: number;
  /** Requests waiting for room now. */
  readonly waiting: number;
  /** The bound it enforces now. */
  readonly maxInFlight: number;
  /** The operator's ceiling on {@linkcode maxInFlight}. */
  readonly ceiling: number;
  /** How late requests to this host may arrive, learnt from its pages' round trips. */
  readonly arrivalDelay: ArrivalDelay;
  /** When this process's event loop was held, as the host's requests may have left late. */
  readonly stalls: LoopStalls;
}

/** Creates a gate for one host. Share one gate between all accounts that talk to that host. */
export function createHostGate(options: HostGateOptions = {}): HostGate {
  const { maxInFlight: ceiling = Infinity, clock = { now: Date.now } } = options;
  if (ceiling !== Infinity && (!Number.isInteger(ceiling) || ceiling < 1)) {
    throw new RangeError(`maxInFlight must be a whole number of at least 1, not ${ceiling}`);
  }
  // Sized for the syncs, the steady work: logins and pages are a burst at the start that goes
  // ahead within that room. Counting their hold times too fed back: under a start's load they
  // take seconds, which grew the room, which let more of them in at once.
  const stalls = createLoopStalls();
  const sizer = createInFlightSizer({
    ceiling,
    now: () => clock.now(),
    keptUp: (since) => !stalls.heldLongerSince(since, GATE_BUSY_LAG_MS),
  });
  let inFlight = 0;
  const queues: Record<GatePriority, WaitQueue> = {
    ahead: createWaitQueue(),
    behind: createWaitQueue(),
  };

  function boundFor(priority: GatePriority): number {
    const bound = sizer.bound();
    if (priority === "ahead" || bound === Infinity) return bound;
    return bound - Math.min(Math.floor(bound * GATE_RESERVED_SHARE), bound - 1);
  }

  /** Lets waiters in while there is room for them, in the order of their priorities. */
  function admitWaiting(): void {
    for (const priority of PRIORITIES) {
      const queue = queues[priority];
      const bound = boundFor(priority);
      while (queue.size > 0 && inFlight < bound) {
        inFlight++;
        queue.shift()!();
      }
    }
  }

  function holder(priority: GatePriority): () => void {
    let held = true;
    const since = clock.now();
    return () => {
      if (!held) return;
      held = false;
      inFlight--;
      // Logins and pages are not counted (see the sizer above).
      if (priority !== "ahead") sizer.observe(clock.now() - since);
      admitWaiting();
    };
  }

  return {
    enter(signal, priority = "behind") {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const queue = queues[priority];
      if (queue.size === 0 && inFlight < boundFor(priority)) {
        inFlight++;
        return Promise.resolve(holder(priority));
      }
      return new Promise((resolve, reject) => {
        const admit = () => {
          off();
          resolve(holder(priority));
        };
        const leave = queue.push(admit);
        const off = signal
          ? onAbort(signal, () => {
            leave();
            reject(signal.reason);
          })
          : () => {};
      });
    },
    addDemand(demand) {
      const remove = sizer.add(demand);
      admitWaiting();
      return remove;
    },
    get inFlight() {
      return inFlight;
    },
    get waiting() {
      return queues.ahead.size + queues.behind.size;
    },
    get maxInFlight() {
      return sizer.bound();
    },
    ceiling,
    arrivalDelay: createArrivalDelay(),
    stalls,
  };
}

/**
 * A gate's waiters of one priority, first in first out; each may leave the queue (its signal
 * aborted) in constant time, and is then skipped when its turn comes. A stop aborts every waiter
 * at once, so a search of an array each would hold the event loop for seconds at 10,000
 * accounts; and a `Set` taken from its front scans the holes its earlier deletions left (7.5 µs
 * a take with 5,000 waiting, against 0.2 µs here).
 */
interface WaitQueue {
  /** Waiters still in the queue. */
  readonly size: number;
  /** Queues `admit`; returns what takes it out of the queue (once; no-op once taken). */
  push(admit: () => void): () => void;
  /** Takes the first waiter still in the queue; undefined when none is. */
  shift(): (() => void) | undefined;
}

function createWaitQueue(): WaitQueue {
  type Item = { admit?: () => void };
  let items: Item[] = [];
  let head = 0;
  let size = 0;
  /** Takes `item` out; an empty queue drops what its waiters who left still hold. */
  const take = (item: Item) => {
    item.admit = undefined;
    if (--size > 0) return;
    items = [];
    head = 0;
  };
  return {
    get size() {
      return size;
    },
    push(admit) {
      const item: Item = { admit };
      items.push(item);
      size++;
      return () => void (item.admit !== undefined && take(item));
    },
    shift() {
      while (head < items.length) {
        const item = items[head++]!;
        const { admit } = item;
        if (admit === undefined) continue;
        take(item);
        // The taken front is cut off in bulk, as a shift each would copy every waiter behind it.
        if (head >= 1_024 && 2 * head >= items.length) {
          items = items.slice(head);
          head = 0;
        }
        return admit;
      }
      return undefined;
    },
  };
}

/** One gate per origin, created on first use: what a process shares between its accounts. */
export interface HostGates {
  /** The gate of `url`'s origin. */
  forUrl(url: string): HostGate;
  /**
   * Tells every gate that this process's event loop was held from `from` to `to` (epoch ms; see
   * src/platform/lateness.ts): requests sent then left late, and their limiters allow for it.
   */
  noteStall(from: number, to: number): void;
  /**
   * The fetch to reach the hosts with: it keeps at most {@linkcode idleSocketBudget} idle
   * connections to a host, so that with the requests in flight the sockets stay within the
   * open-files limit (a kept-alive socket holds a descriptor, and Deno keeps every one by default).
   */
  readonly fetch: typeof fetch;
  /** Closes the connections {@linkcode fetch} keeps. */
  close(): void;
}

/**
 * Creates the gates of a process, each with `options`; with no `maxInFlight`, each is bounded by
 * {@linkcode socketBudget} as well as by its work.
 */
export function createHostGates(
  options: HostGateOptions = {},
  readLimits: () => string = readProcLimits,
): HostGates {
  options = { ...options, maxInFlight: options.maxInFlight ?? socketBudget(readLimits) };
  const gates = new Map<string, HostGate>();
  const idle = idleSocketBudget(readLimits);
  let client: Deno.HttpClient | undefined;
  return {
    fetch: idle === Infinity ? globalThis.fetch : (input, init) => {
      client ??= Deno.createHttpClient({ poolMaxIdlePerHost: idle });
      return fetch(input, { ...init, client });
    },
    close() {
      client?.close();
      client = undefined;
    },
    forUrl(url) {
      const origin = new URL(url).origin;
      let gate = gates.get(origin);
      if (!gate) gates.set(origin, gate = createHostGate(options));
      return gate;
    },
    noteStall(from, to) {
      for (const gate of gates.values()) gate.stalls.note(from, to);
    },
  };
}

/*
 * How many requests a host gate lets in flight, from the work (Little's law): the accounts'
 * request rates (each `count / windowMs`) times how long a request holds its place, plus
 * headroom for the randomness of arrivals and one account's whole window at once, under the
 * operator's ceiling. The hold time is the mean of the latest syncs, so the bound follows the
 * latency as it changes; logins and pages are not counted (see createHostGate).
 */
/** Options for {@linkcode createInFlightSizer}. */
export interface InFlightSizerOptions {
  /** The bound never goes above this. */
  ceiling: number;
  /** Hold times averaged. @default 64 */
  samples?: number;
  /** Time source, in ms: the accounts' limits are read again at most once a second. @default Date.now */
  now?: () => number;
  /**
   * Whether this process kept up since `since` (epoch ms): its event loop was never held long. A
   * hold longer than the one assumed counts only if it did (see {@linkcode InFlightSizer.observe}).
   * @default always
   */
  keptUp?: (since: number) => boolean;
}

/** The sizing of one host's gate. */
export interface InFlightSizer {
  /** Counts an account's requests until the returned function is called (once). */
  add(demand: { readonly limit: RateLimit }): () => void;
  /**
   * Records how long a request held its place, in ms, until now. A hold longer than the one
   * assumed counts only if this process `keptUp` all along: a process too busy to read its answers
   * on time stretches every hold itself, and room sized on those would let in more requests to
   * wait here, which stretches the holds further, up to the ceiling. So the room grows with the
   * platform's latency, never with this process's own backlog; it may always shrink.
   */
  observe(holdMs: number): void;
  /**
   * The bound in force: the ceiling while no account is counted; otherwise sized from the most
   * work counted at once so far, not the work left, as accounts end together (see below).
   */
  bound(): number;
  /**
   * The hold time the bound assumes now, in ms: the mean of the latest `samples`, or
   * {@linkcode GATE_INITIAL_HOLD_MS} before any was measured.
   */
  holdMs(): number;
}

/** Creates a sizer with no account counted and no hold time measured. */
export function createInFlightSizer(options: InFlightSizerOptions): InFlightSizer {
  const { ceiling, samples = GATE_SAMPLES, now = Date.now, keptUp = () => true } = options;
  // One entry per call of add(), so an account counted twice is also removed twice; each with
  // the rate it was counted at.
  const demands = new Set<{ demand: { readonly limit: RateLimit }; perMs: number }>();
  // The latest hold times, a ring of `samples`, and their sum.
  const holds: number[] = [];
  let oldest = 0;
  let sum = 0;
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
    if (summedAt === undefined || at - summedAt >= GATE_RESUM_MS || at < summedAt) {
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

  const holdMs = () => holds.length === 0 ? GATE_INITIAL_HOLD_MS : sum / holds.length;

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
    observe(ms) {
      const value = Math.max(0, ms);
      if (value > holdMs() && !keptUp(now() - value)) return;
      if (holds.length < samples) holds.push(value);
      else {
        sum -= holds[oldest]!;
        holds[oldest] = value;
        oldest = (oldest + 1) % samples;
      }
      sum += value;
    },
    bound() {
      if (demands.size === 0) return ceiling;
      const { perMs, widest } = demand();
      // Less a hair: a sum of many rates must not round up a whole place.
      const needed = Math.ceil(perMs * holdMs() * GATE_HEADROOM - 1e-6) +
        Math.max(GATE_SPARE, widest);
      return Math.min(ceiling, needed);
    },
    holdMs,
  };
}

/** Requests per ms that `limit` allows. */
function rateOf(limit: RateLimit): number {
  return limit.count / limit.windowMs;
}

/**
 * The requests this process may have in flight before it runs out of file descriptors: each holds
 * a socket, and past the open-files limit neither a socket nor a file opens (`EMFILE`). Four fifths
 * of the soft limit (`ulimit -n`, read from Linux's `/proc/self/limits`), less
 * {@linkcode SOCKET_RESERVE} for the database, the checkpoint and the logs; unbounded where the
 * limit cannot be read or is unlimited.
 */
export function socketBudget(readLimits: () => string = readProcLimits): number {
  const soft = openFilesLimit(readLimits);
  if (soft === Infinity) return Infinity;
  return Math.max(GATE_SPARE, Math.floor(soft * SOCKET_SHARE) - SOCKET_RESERVE);
}

/**
 * The idle kept-alive connections to one host this process may keep: a tenth of the open-files
 * limit, beside the {@linkcode socketBudget} of requests in flight; unbounded where the limit
 * cannot be read or is unlimited.
 */
export function idleSocketBudget(readLimits: () => string = readProcLimits): number {
  const soft = openFilesLimit(readLimits);
  return soft === Infinity ? Infinity : Math.max(GATE_SPARE, Math.floor(soft * SOCKET_IDLE_SHARE));
}

const readProcLimits = () => Deno.readTextFileSync("/proc/self/limits");

/** The soft open-files limit (`ulimit -n`) from Linux's `/proc/self/limits`; else Infinity. */
function openFilesLimit(readLimits: () => string): number {
  let text: string;
  try {
    text = readLimits();
  } catch {
    return Infinity;
  }
  const soft = /^Max open files\s+(\d+)/m.exec(text)?.[1];
  return soft === undefined ? Infinity : Number(soft);
}
