/**
 * When this process's event loop was held (a busy machine, a disk stall under a synchronous
 * checkpoint write, a long garbage collection: see src/platform/loop_lag.ts). A request stamped
 * as sent while the loop was held left only once it ran again, so it reached the platform that
 * much later, and the platform's window counts it from then: the request that takes its place a
 * window later must wait that much more. Only requests sent during a stall pay for it.
 * @module
 */

/** The stalls of one process, newest last. */
export interface LoopStalls {
  /** Records that the loop was held from `from` to `to` (epoch ms). */
  note(from: number, to: number): void;
  /** How long after `at` (epoch ms) a request stamped then may have left: 0 outside any stall. */
  heldAfter(at: number): number;
  /** The longest stall that ended after `at` (epoch ms), in ms; 0 when none did. */
  longestSince(at: number): number;
}

/** Creates an empty record that keeps the latest `keep` stalls. @default keep 4096 */
export function createLoopStalls(keep = 4_096): LoopStalls {
  // Ascending by end: the loop is held one stall after the other.
  const stalls: Array<{ from: number; to: number }> = [];
  // The latest answer of longestSince(), asked again by every limiter of the process.
  let longest: { at: number; noted: number; ms: number } | undefined;
  let noted = 0;

  /** The index of the first stall ending after `at`. */
  function firstEndingAfter(at: number): number {
    let low = 0;
    let high = stalls.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (stalls[mid]!.to > at) high = mid;
      else low = mid + 1;
    }
    return low;
  }

  return {
    note(from, to) {
      if (to <= from) return;
      noted++;
      let i = stalls.length;
      while (i > 0 && stalls[i - 1]!.to > to) i--;
      stalls.splice(i, 0, { from, to });
      if (stalls.length > keep) stalls.splice(0, stalls.length - keep);
    },
    heldAfter(at) {
      // The first stall ending after `at`, and the next few, in case they overlap.
      const low = firstEndingAfter(at);
      let held = 0;
      for (let i = low; i < Math.min(stalls.length, low + 4); i++) {
        const stall = stalls[i]!;
        if (stall.from <= at) held = Math.max(held, stall.to - at);
      }
      return held;
    },
    longestSince(at) {
      // Asked for about the same time by many limiters: the answer holds 100 ms, or until a stall.
      if (longest && longest.noted === noted && Math.abs(longest.at - at) < 100) return longest.ms;
      let ms = 0;
      for (let i = firstEndingAfter(at); i < stalls.length; i++) {
        ms = Math.max(ms, stalls[i]!.to - stalls[i]!.from);
      }
      longest = { at, noted, ms };
      return ms;
    },
  };
}
