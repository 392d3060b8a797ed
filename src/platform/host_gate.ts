import { onAbort } from "../abort_listeners.ts";
import type { Clock } from "../clock.ts";
import type { RateLimit } from "../duration.ts";
import { type ArrivalDelay, createArrivalDelay } from "./arrival_delay.ts";
import { createInFlightSizer } from "./in_flight_sizer.ts";
import { createLoopStalls, type LoopStalls } from "./loop_stalls.ts";

/** Options for {@linkcode createHostGate}. */
export interface HostGateOptions {
  /**
   * The operator's ceiling on requests in flight to the host at once, every account of the
   * process together. Below it, the gate sizes itself from the work (see
   * {@linkcode HostGate.addDemand}); with no work declared, the ceiling is the bound.
   * @default none: the work alone sizes the gate
   */
  maxInFlight?: number;
  /**
   * Places only `"ahead"` requests may take: a retried page never waits for a slow sync to end
   * when the gate is full of syncs. @default a sixteenth of the bound in force, rounded down
   */
  reservedAhead?: number;
  /** Time source, to measure how long requests hold their place. @default Date.now */
  clock?: Pick<Clock, "now">;
}

/**
 * Whose turn comes first at the gate: `"ahead"` for the quick requests everything else waits on
 * (logins, and list requests: an account's syncs cannot start before its listing), then
 * `"behind"` for the rest (campaign syncs).
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
 * within their priority, every `"ahead"` waiter before any `"behind"` one. A few places are kept for `"ahead"` requests only. The bound follows Little's
 * law: the declared accounts' request rates times the latency measured, plus headroom, under the
 * operator's ceiling.
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
  const { reservedAhead } = options;
  if (
    reservedAhead !== undefined &&
    (!Number.isInteger(reservedAhead) || reservedAhead < 0 || reservedAhead >= ceiling)
  ) {
    throw new RangeError(
      `reservedAhead must be a whole number from 0 to maxInFlight - 1, not ${reservedAhead}`,
    );
  }
  const sizer = createInFlightSizer({
    ceiling,
    now: () => clock.now(),
    kinds: ["ahead", "behind"] satisfies GatePriority[],
  });
  let inFlight = 0;
  const queues: Record<GatePriority, Array<() => void>> = { ahead: [], behind: [] };

  function boundFor(priority: GatePriority): number {
    const bound = sizer.bound();
    if (priority === "ahead" || bound === Infinity) return bound;
    const reserved = Math.min(reservedAhead ?? Math.floor(bound / 16), bound - 1);
    return bound - reserved;
  }

  /** Lets waiters in while there is room for them, in the order of their priorities. */
  function admitWaiting(): void {
    for (const priority of PRIORITIES) {
      const queue = queues[priority];
      const bound = boundFor(priority);
      while (queue.length > 0 && inFlight < bound) {
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
      sizer.observe(clock.now() - since, priority);
      admitWaiting();
    };
  }

  return {
    enter(signal, priority = "behind") {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const queue = queues[priority];
      if (queue.length === 0 && inFlight < boundFor(priority)) {
        inFlight++;
        return Promise.resolve(holder(priority));
      }
      return new Promise((resolve, reject) => {
        const admit = () => {
          off();
          resolve(holder(priority));
        };
        queue.push(admit);
        const off = signal
          ? onAbort(signal, () => {
            queue.splice(queue.indexOf(admit), 1);
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
      return queues.ahead.length + queues.behind.length;
    },
    get maxInFlight() {
      return sizer.bound();
    },
    ceiling,
    arrivalDelay: createArrivalDelay(),
    stalls: createLoopStalls(),
  };
}

/** One gate per origin, created on first use: what a process shares between its accounts. */
export interface HostGates {
  /** The gate of `url`'s origin. */
  forUrl(url: string): HostGate;
  /**
   * Tells every gate that this process's event loop was held from `from` to `to` (epoch ms; see
   * src/platform/loop_lag.ts): requests sent then left late, and their limiters allow for it.
   */
  noteStall(from: number, to: number): void;
}

/** Creates the gates of a process, each with `options`. */
export function createHostGates(options: HostGateOptions = {}): HostGates {
  const gates = new Map<string, HostGate>();
  return {
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
