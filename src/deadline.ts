/**
 * One deadline helper on the injected clock, as std's `deadline`: a wait that ends when its
 * promise settles, its time is up, or its signal fires, whichever comes first.
 */
import { ENDED } from "./abort_listeners.ts";
import { type Clock, systemClock } from "./clock.ts";

/** Options for {@linkcode deadline} and {@linkcode clockTimeout}. */
export interface DeadlineOptions {
  /** The timer the time is up on. @default systemClock */
  clock?: Clock;
  /** Ends the wait early: it then rejects with the signal's reason. @default never */
  signal?: AbortSignal;
  /** What the wait rejects with once its time is up. @default a DOMException named "TimeoutError" */
  reason?: unknown;
}

/**
 * What `promise` settles to, unless `ms` pass on the clock first (rejects with `reason`) or
 * `signal` fires (rejects with its reason). The promise is left to settle on its own: nobody
 * listens to it any more, and its rejection is not unhandled.
 */
export async function deadline<T>(
  promise: Promise<T>,
  ms: number,
  options: DeadlineOptions = {},
): Promise<T> {
  promise.catch(() => {}); // may settle after the deadline, when nobody listens any more
  const settled = new AbortController();
  const timeout = clockTimeout(ms, { ...options, signal: settled.signal });
  const stop = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  try {
    return await Promise.race([promise, aborted(stop)]);
  } finally {
    settled.abort(ENDED);
  }
}

/**
 * A signal that aborts with `reason` once `ms` pass on the clock (`AbortSignal.timeout` on an
 * injected clock); `signal` cancels its timer, and it then never aborts.
 */
export function clockTimeout(ms: number, options: DeadlineOptions = {}): AbortSignal {
  const { clock = systemClock, signal } = options;
  const reason = options.reason ?? new DOMException("Signal timed out.", "TimeoutError");
  const controller = new AbortController();
  clock.sleep(ms, signal).then(() => controller.abort(reason), () => {});
  return controller.signal;
}

function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
}
