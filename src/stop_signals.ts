/**
 * The stop of a long-running command (sync, worker): the first SIGINT, SIGTERM or SIGHUP (or the
 * `--max-duration` budget) stops starting work; a second signal, or the grace period running
 * out, cuts requests on the wire; once cut, the process exits regardless after a closing bound
 * (or on a third signal), since only a database that does not answer can hold it that long.
 */
import type { StopReason } from "./sync/summary.ts";

/** The signals that stop a command gracefully. */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/** Options of {@linkcode listenForStop}. */
export interface StopOptions {
  /** How long requests in flight get after the first stop, in ms. */
  graceMs: number;
  /** How long the close may take once requests are cut, in ms, before `exitNow`. @default 5_000 */
  closingBoundMs?: number;
  /** Stops on its own after this long, as `max-duration`. @default never */
  maxDurationMs?: number;
  /** Says what the first stop does (one line on stderr). */
  onStop(reason: StopReason): void;
  /** Ends the process when the close outlasts its bound, or on a third signal. */
  exitNow(reason: StopReason): void;
}

/** A command's stop, as its parts see it. */
export interface Stop {
  /** Aborted by the first stop: start no more work. */
  signal: AbortSignal;
  /** Aborted by a second signal or the end of the grace period: cut requests on the wire. */
  wireSignal: AbortSignal;
  /** What stopped the command, if anything did. */
  reason(): StopReason | undefined;
  /** Removes the listeners and timers. */
  dispose(): void;
}

/** Listens for the stop signals (and the budget) until `dispose()`. */
export function listenForStop(options: StopOptions): Stop {
  const { graceMs, closingBoundMs = 5_000, maxDurationMs } = options;
  const stop = new AbortController();
  const wire = new AbortController();
  let reason: StopReason | undefined;
  const timers: ReturnType<typeof setTimeout>[] = [];
  wire.signal.addEventListener("abort", () => {
    timers.push(setTimeout(() => options.exitNow(reason ?? "SIGTERM"), closingBoundMs));
  });
  const request = (why: StopReason) => {
    if (wire.signal.aborted) return options.exitNow(reason ?? why);
    if (stop.signal.aborted) {
      wire.abort(new DOMException(`${why} received twice`, "AbortError"));
      return;
    }
    reason = why;
    options.onStop(why);
    stop.abort(new DOMException(`Stopped by ${why}`, "AbortError"));
    timers.push(setTimeout(
      () => wire.abort(new DOMException("Grace period over", "AbortError")),
      graceMs,
    ));
  };
  const listeners = STOP_SIGNALS.map((name) => [name, () => request(name)] as const);
  for (const [name, listener] of listeners) Deno.addSignalListener(name, listener);
  if (maxDurationMs !== undefined) {
    timers.push(setTimeout(() => request("max-duration"), maxDurationMs));
  }
  return {
    signal: stop.signal,
    wireSignal: wire.signal,
    reason: () => reason,
    dispose() {
      for (const timer of timers) clearTimeout(timer);
      for (const [name, listener] of listeners) Deno.removeSignalListener(name, listener);
    },
  };
}
