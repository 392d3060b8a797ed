import { type ArrivalDelay, createArrivalDelay } from "./arrival_delay.ts";

/** Options for {@linkcode createHostGate}. */
export interface HostGateOptions {
  /**
   * Requests in flight to the host at once, every account of the process together. Bounds the
   * connections opened at once, so a burst of admitted requests does not queue in the host's
   * accept backlog and reach it late. @default 64
   */
  maxInFlight?: number;
  /**
   * Places only `"ahead"` requests may take: a retried page never waits for a slow sync to end
   * when the gate is full of syncs. @default a sixteenth of maxInFlight, rounded down (4 of 64)
   */
  reservedAhead?: number;
}

/**
 * Whose turn comes first at the gate: `"ahead"` for the quick requests everything else waits on
 * (logins, and list requests: an account's syncs cannot start before its listing), `"behind"` for
 * the rest (campaign syncs).
 */
export type GatePriority = "ahead" | "behind";

/**
 * Bounds the requests in flight to one host; the others wait their turn, first come first served
 * within their priority, every `"ahead"` waiter before any `"behind"` one. A few places are kept
 * for `"ahead"` requests only.
 */
export interface HostGate {
  /** Waits for room, then holds it until the returned function is called (once). @default priority "behind" */
  enter(signal?: AbortSignal, priority?: GatePriority): Promise<() => void>;
  /** Requests holding room now. */
  readonly inFlight: number;
  /** Requests waiting for room now. */
  readonly waiting: number;
  /** The bound it enforces. */
  readonly maxInFlight: number;
  /** How late requests to this host may arrive, learnt from quick requests' round trips. */
  readonly arrivalDelay: ArrivalDelay;
}

/** Creates a gate for one host. Share one gate between all accounts that talk to that host. */
export function createHostGate(options: HostGateOptions = {}): HostGate {
  const { maxInFlight = 64 } = options;
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    throw new RangeError(`maxInFlight must be a whole number of at least 1, not ${maxInFlight}`);
  }
  const { reservedAhead = Math.floor(maxInFlight / 16) } = options;
  if (!Number.isInteger(reservedAhead) || reservedAhead < 0 || reservedAhead >= maxInFlight) {
    throw new RangeError(
      `reservedAhead must be a whole number from 0 to maxInFlight - 1, not ${reservedAhead}`,
    );
  }
  const bound: Record<GatePriority, number> = {
    ahead: maxInFlight,
    behind: maxInFlight - reservedAhead,
  };
  let inFlight = 0;
  const queues: Record<GatePriority, Array<() => void>> = { ahead: [], behind: [] };

  /** Lets waiters in while there is room for them, every `"ahead"` one first. */
  function admitWaiting(): void {
    for (const priority of ["ahead", "behind"] as const) {
      const queue = queues[priority];
      while (queue.length > 0 && inFlight < bound[priority]) {
        inFlight++;
        queue.shift()!();
      }
    }
  }

  function holder(): () => void {
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      inFlight--;
      admitWaiting();
    };
  }

  return {
    enter(signal, priority = "behind") {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const queue = queues[priority];
      if (queue.length === 0 && inFlight < bound[priority]) {
        inFlight++;
        return Promise.resolve(holder());
      }
      return new Promise((resolve, reject) => {
        const onAbort = () => {
          queue.splice(queue.indexOf(admit), 1);
          reject(signal?.reason);
        };
        const admit = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(holder());
        };
        queue.push(admit);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    get inFlight() {
      return inFlight;
    },
    get waiting() {
      return queues.ahead.length + queues.behind.length;
    },
    maxInFlight,
    arrivalDelay: createArrivalDelay(),
  };
}

/** One gate per origin, created on first use: what a process shares between its accounts. */
export interface HostGates {
  /** The gate of `url`'s origin. */
  forUrl(url: string): HostGate;
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
  };
}
