import { ENDED } from "../abort_listeners.ts";
import { type Clock, systemClock } from "../clock.ts";

/** Options for {@linkcode createBatcher}. */
export interface BatcherOptions {
  /** Items that trigger a flush at once. @default 100 */
  maxSize?: number;
  /** Longest an item waits for its flush, in ms. @default 250 */
  maxWaitMs?: number;
  /** Timer source. @default systemClock */
  clock?: Clock;
  /** Called once with the first failed flush, so the caller can stop the run. @default no-op */
  onError?: (error: unknown) => void;
}

/** Collects items and writes them in batches, one flush at a time, in order. */
export interface Batcher<T> {
  /** Queues an item; it is flushed within `maxWaitMs` or when the batch is full. */
  add(item: T): void;
  /** Flushes what is queued and waits for every flush so far; rejects if any failed. */
  drain(): Promise<void>;
  /** Items queued or being written. */
  readonly pending: number;
}

/**
 * Creates a batcher that calls `flush` by count and by time, never two flushes at once.
 * After a failed flush it writes nothing more: `drain()` rejects with that error.
 */
export function createBatcher<T>(
  flush: (items: T[]) => Promise<void>,
  options: BatcherOptions = {},
): Batcher<T> {
  const { maxSize = 100, maxWaitMs = 250, clock = systemClock, onError = () => {} } = options;
  let buffer: T[] = [];
  let writing = 0;
  let chain: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  let timer: AbortController | undefined;

  function cut(): void {
    timer?.abort(ENDED);
    timer = undefined;
    if (buffer.length === 0) return;
    const items = buffer;
    buffer = [];
    writing += items.length;
    chain = chain.then(async () => {
      try {
        if (!failure) await flush(items);
      } catch (error) {
        if (!failure) onError(error);
        failure ??= { error };
      } finally {
        writing -= items.length;
      }
    });
  }

  return {
    add(item) {
      buffer.push(item);
      if (buffer.length >= maxSize) return cut();
      if (timer) return;
      timer = new AbortController();
      clock.sleep(maxWaitMs, timer.signal).then(cut, () => {});
    },
    async drain() {
      cut();
      await chain;
      if (failure) throw failure.error;
    },
    get pending() {
      return buffer.length + writing;
    },
  };
}
