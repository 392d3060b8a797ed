import assert from "node:assert/strict";
import type { TimerSource } from "../../src/clock.ts";
import { watchLoopLag } from "../../src/platform/loop_lag.ts";

/** Timers that fire only when the test says, at a time the test sets. */
function manualTimers() {
  let due: (() => void) | undefined;
  let now = 0;
  const timers: TimerSource = {
    setTimeout: (fn) => (due = fn, 1),
    clearTimeout: () => void (due = undefined),
  };
  return {
    timers,
    now: () => now,
    /** Fires the pending check at `at`. */
    fireAt(at: number) {
      now = at;
      const fn = due;
      due = undefined;
      fn?.();
    },
    get armed() {
      return due !== undefined;
    },
  };
}

Deno.test("watchLoopLag reports each time the loop ran its check late, from the check before", () => {
  const t = manualTimers();
  const reports: Array<[number, number]> = [];
  const stop = watchLoopLag((from, to) => reports.push([from, to]), {
    intervalMs: 50,
    minLateMs: 10,
    now: t.now,
    epochNow: () => 1_000_000 + t.now(),
    timers: t.timers,
  });
  t.fireAt(55); // 5 ms late: noise
  t.fireAt(245); // due at 105: held up to 190 ms since the check at 55
  t.fireAt(295); // on time
  assert.deepEqual(reports, [[1_000_055, 1_000_245]]);
  stop();
  assert.equal(t.armed, false, "stopping clears the pending check");
});
