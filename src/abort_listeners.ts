/**
 * Abort listeners in O(1) each. `EventTarget.addEventListener` looks through a signal's listeners
 * for a duplicate before it adds one, so a run's signal with one listener per waiting request
 * (10,000 accounts, each with requests waiting for a slot or a backoff) costs every new waiter a
 * scan of all the others. Here a signal gets one real listener, and the callbacks behind it live
 * in a set.
 * @module
 */

const callbacks = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `fn` once when `signal` aborts (at once, in a microtask, if it already has), unless the
 * returned function was called first. Safe to call the returned function more than once.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    let cancelled = false;
    queueMicrotask(() => cancelled || fn());
    return () => void (cancelled = true);
  }
  let set = callbacks.get(signal);
  if (!set) {
    const created = new Set<() => void>();
    callbacks.set(signal, set = created);
    signal.addEventListener("abort", () => {
      callbacks.delete(signal);
      for (const callback of created) callback();
    }, { once: true });
  }
  const entry = () => fn();
  set.add(entry);
  return () => void set.delete(entry);
}

/**
 * A signal that aborts when any of `signals` does, with its reason, like `AbortSignal.any`, but
 * registered through {@linkcode onAbort}; `dispose` unregisters it once it is no longer needed.
 */
export function anySignal(
  signals: readonly AbortSignal[],
): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const already = signals.find((s) => s.aborted);
  if (already) {
    controller.abort(already.reason);
    return { signal: controller.signal, dispose: () => {} };
  }
  const off = signals.map((s) => onAbort(s, () => controller.abort(s.reason)));
  return { signal: controller.signal, dispose: () => off.forEach((unsubscribe) => unsubscribe()) };
}

/**
 * The reason to abort a controller whose only listeners are the caller's own timers, once the
 * work they guard has ended: `abort()` without a reason builds a `DOMException`, stack and all,
 * and every request and statement ends one.
 */
export const ENDED: unique symbol = Symbol("ended");
