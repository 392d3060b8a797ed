import assert from "node:assert/strict";
import type { TimerSource } from "../../src/clock.ts";
import { createArrivalDelay, createLoopStalls, watchLoopLag } from "../../src/platform/lateness.ts";

Deno.test("ArrivalDelay reports the longest round trip answered within the horizon", () => {
  const delay = createArrivalDelay();
  assert.equal(delay.recentMaxMs(1_000, 500), 0, "nothing observed yet");
  assert.equal(delay.lastAnsweredAt(), undefined);
  delay.observe(1_000, 1_040);
  delay.observe(1_100, 1_350);
  delay.observe(1_300, 1_400);
  assert.equal(delay.lastAnsweredAt(), 1_400);
  assert.equal(delay.recentMaxMs(1_420, 1_000), 250);
  assert.equal(delay.recentMaxMs(1_420, 50), 100, "only the answer at 1400 is within 50 ms");
  assert.equal(delay.recentMaxMs(2_380, 1_000), 100, "the 250 ms trip was answered too long ago");
  assert.equal(delay.recentMaxMs(3_000, 1_000), 0);
});

Deno.test("ArrivalDelay takes answers recorded out of order, and never a negative trip", () => {
  const delay = createArrivalDelay();
  delay.observe(900, 1_500);
  delay.observe(1_000, 1_100);
  delay.observe(2_000, 1_990);
  assert.equal(delay.recentMaxMs(1_600, 1_000), 600);
  assert.equal(delay.recentMaxMs(1_600, 200), 600);
  assert.equal(delay.recentMaxMs(2_000, 100), 0);
  assert.equal(delay.recentMaxMs(2_000, 1_000), 600);
});

Deno.test("ArrivalDelay's longest trip matches a scan of every trip, over a long run of answers", () => {
  const delay = createArrivalDelay();
  const seen: Array<{ at: number; ms: number }> = [];
  let seed = 7;
  const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
  let now = 0;
  for (let i = 0; i < 5_000; i++) {
    now += Math.floor(random() * 20);
    // Answers come nearly in order: now and then one a little earlier than the latest.
    const answeredAt = now - (random() < 0.1 ? Math.floor(random() * 30) : 0);
    const ms = Math.floor(random() * 500);
    delay.observe(answeredAt - ms, answeredAt);
    seen.push({ at: answeredAt, ms });
    for (const horizon of [300, 2_000]) {
      const expected = Math.max(0, ...seen.filter((t) => t.at >= now - horizon).map((t) => t.ms));
      assert.equal(delay.recentMaxMs(now, horizon), expected, `at ${now}, horizon ${horizon}`);
    }
  }
});

Deno.test("ArrivalDelay tells how much longer a round trip took than the quickest of its kind", () => {
  const delay = createArrivalDelay();
  assert.equal(delay.excessMs("sync 200", 600), 0, "the first is the quickest");
  assert.equal(delay.excessMs("sync 200", 500), 0);
  assert.equal(delay.excessMs("sync 200", 3_500), 3_000);
  assert.equal(delay.excessMs("sync 429", 5), 0, "a refusal is a kind of its own");
  assert.equal(delay.excessMs("sync 200", 520), 20);
});

Deno.test("LoopStalls says how long after a moment the loop was still held, and 0 outside stalls", () => {
  const stalls = createLoopStalls();
  stalls.note(1_000, 1_140);
  stalls.note(5_000, 5_020);
  assert.equal(stalls.heldAfter(1_000), 140);
  assert.equal(stalls.heldAfter(1_100), 40);
  assert.equal(stalls.heldAfter(999), 0);
  assert.equal(stalls.heldAfter(1_140), 0);
  assert.equal(stalls.heldAfter(3_000), 0);
  assert.equal(stalls.heldAfter(5_010), 10);
  assert.equal(stalls.heldAfter(9_000), 0);
});

Deno.test("LoopStalls keeps only its latest stalls", () => {
  const stalls = createLoopStalls(2);
  stalls.note(0, 100);
  stalls.note(200, 300);
  stalls.note(400, 500);
  assert.equal(stalls.heldAfter(50), 0);
  assert.equal(stalls.heldAfter(250), 50);
  assert.equal(stalls.heldAfter(450), 50);
});

Deno.test("LoopStalls tells the longest stall that held the loop within a span, and a new stall at once", () => {
  const stalls = createLoopStalls();
  assert.equal(stalls.longestDuring(0, 10_000), 0);
  stalls.note(1_000, 1_300);
  stalls.note(2_000, 2_100);
  assert.equal(stalls.longestDuring(0, 10_000), 300);
  assert.equal(stalls.longestDuring(1_500, 10_000), 100, "the 300 ms one ended before");
  assert.equal(stalls.longestDuring(0, 1_000), 0, "the 300 ms one began as the span ended");
  assert.equal(stalls.longestDuring(1_299, 1_301), 300, "held the loop at the span's start");
  assert.equal(stalls.longestDuring(1_400, 1_900), 0, "between the two");
  stalls.note(2_500, 3_000);
  assert.equal(stalls.longestDuring(1_500, 10_000), 500, "noted since the last answer");
  assert.equal(stalls.longestDuring(2_050, 2_600), 500, "two stalls in the span: the longer");
  assert.equal(stalls.longestDuring(3_000, 10_000), 0);
});

Deno.test("LoopStalls tells whether a stall that ended after a time was longer than a length", () => {
  const stalls = createLoopStalls();
  assert.equal(stalls.heldLongerSince(0, 0), false);
  stalls.note(1_000, 1_300);
  stalls.note(2_000, 2_100);
  assert.equal(stalls.heldLongerSince(0, 250), true);
  assert.equal(stalls.heldLongerSince(1_500, 250), false, "the 300 ms one ended before");
  assert.equal(stalls.heldLongerSince(1_500, 99), true);
  assert.equal(stalls.heldLongerSince(1_500, 100), false, "longer, not as long");
});

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
