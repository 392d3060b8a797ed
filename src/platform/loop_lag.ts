/**
 * Watches how late this process runs its timers. A busy machine (another process on the cores,
 * a disk stall under a synchronous checkpoint write, a long garbage collection) holds the event
 * loop, and a request that left just before lies in a socket buffer that long: it reaches the
 * platform late, and the platform's window counts it from then. The host gates record each
 * stall (src/platform/loop_stalls.ts), so the limiters allow for it after the requests it held.
 * @module
 */
import type { TimerSource } from "../clock.ts";

/** Options for {@linkcode watchLoopLag}. */
export interface LoopLagOptions {
  /** How often to check, in ms. @default 50 */
  intervalMs?: number;
  /** Lateness below this is noise and not reported, in ms. @default 10 */
  minLateMs?: number;
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
 * Calls `onLate(from, to)` (epoch ms) each time a check ran later than due by at least
 * `minLateMs`: the loop may have been held any time from the previous check (`from`) to this
 * one (`to`). Returns a function that stops watching.
 */
export function watchLoopLag(
  onLate: (from: number, to: number) => void,
  options: LoopLagOptions = {},
): () => void {
  const {
    intervalMs = 50,
    minLateMs = 10,
    now = () => performance.now(),
    epochNow = Date.now,
    timers = unrefTimers,
  } = options;
  let stopped = false;
  let timer: unknown;
  const arm = () => {
    const armedAt = now();
    const due = armedAt + intervalMs;
    timer = timers.setTimeout(() => {
      if (stopped) return;
      const ranAt = now();
      if (ranAt - due >= minLateMs) {
        // The loop may have been held any time since the last check: all of it counts.
        const to = epochNow();
        onLate(to - (ranAt - armedAt), to);
      }
      arm();
    }, intervalMs);
  };
  arm();
  return () => {
    stopped = true;
    timers.clearTimeout(timer);
  };
}
