import type { Clock } from "../src/clock.ts";

/** A clock whose time moves only when a test says so. */
export interface FakeClock extends Clock {
  /** Moves time forward by `ms`, waking every sleeper due on the way, in order. */
  tick(ms: number): Promise<void>;
  /** Moves time forward by `ms` waking nobody, as a process too busy to run its timers does. */
  stall(ms: number): void;
  /** Moves time to each pending wake-up in turn until no sleeper remains (at most `limit` steps). */
  runAll(limit?: number): Promise<void>;
  /** Sleepers not yet woken. */
  readonly pending: number;
}

interface Timer {
  at: number;
  wake: () => void;
}

/** Lets promise chains and zero-delay timers settle. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Creates a fake clock starting at `start` (epoch ms). */
export function createFakeClock(start = 1_700_000_000_000): FakeClock {
  let now = start;
  const timers: Timer[] = [];

  async function wakeDue(until: number): Promise<boolean> {
    await settle();
    timers.sort((a, b) => a.at - b.at);
    const next = timers[0];
    if (!next || next.at > until) return false;
    timers.shift();
    now = Math.max(now, next.at);
    next.wake();
    await settle();
    return true;
  }

  return {
    now: () => now,
    sleep(ms, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise((resolve, reject) => {
        const timer: Timer = {
          at: now + Math.max(0, ms),
          wake: () => {
            signal?.removeEventListener("abort", onAbort);
            resolve();
          },
        };
        const onAbort = () => {
          timers.splice(timers.indexOf(timer), 1);
          reject(signal?.reason);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        timers.push(timer);
      });
    },
    async tick(ms) {
      const target = now + ms;
      while (await wakeDue(target));
      now = target;
    },
    stall(ms) {
      now += ms;
    },
    async runAll(limit = 10_000) {
      for (let i = 0; i < limit && await wakeDue(Infinity); i++);
    },
    get pending() {
      return timers.length;
    },
  };
}
