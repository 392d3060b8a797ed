import { onAbort } from "./abort_listeners.ts";

/** Time as the limiter, retries and progress see it; injected so tests need not wait. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The timer functions a sleeper runs on; injected so tests can check long sleeps. */
export interface TimerSource {
  /** Calls `fn` once after `ms` (at most {@linkcode MAX_TIMER_MS}); returns a handle. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer by its handle. */
  clearTimeout(handle: unknown): void;
}

const realTimers: TimerSource = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as number),
};

/** The longest delay `setTimeout` holds (2^31 - 1 ms, 24.8 days): anything longer fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Creates a sleep function on `timers`. A sleep longer than {@linkcode MAX_TIMER_MS} is a chain
 * of shorter timers, so it never fires early.
 */
export function createSleep(
  timers: TimerSource = realTimers,
): (ms: number, signal?: AbortSignal) => Promise<void> {
  return (ms, signal) => {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      let left = Number.isNaN(ms) ? 0 : Math.max(0, ms);
      let timer: unknown;
      const arm = () => {
        const step = Math.min(left, MAX_TIMER_MS);
        left -= step;
        timer = timers.setTimeout(() => {
          if (left > 0) return arm();
          off();
          resolve();
        }, step);
      };
      arm();
      const off = signal
        ? onAbort(signal, () => {
          timers.clearTimeout(timer);
          reject(signal.reason);
        })
        : () => {};
    });
  };
}

/** Sleeps on a real timer that an abort signal can cut short; any length works. */
export const sleep: (ms: number, signal?: AbortSignal) => Promise<void> = createSleep();

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now(), sleep };
