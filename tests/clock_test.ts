import assert from "node:assert/strict";
import { createSleep, MAX_TIMER_MS, sleep, type TimerSource } from "../src/clock.ts";
import { settle } from "./_fake_clock.ts";

/** Timers that fire only when the test says so, recording each delay asked for. */
function manualTimers() {
  const armed = new Map<number, { fn: () => void; ms: number }>();
  let next = 0;
  const timers: TimerSource = {
    setTimeout(fn, ms) {
      armed.set(++next, { fn, ms });
      return next;
    },
    clearTimeout(handle) {
      armed.delete(handle as number);
    },
  };
  /** Fires the one armed timer and returns the delay it was armed with. */
  const fire = () => {
    const [[id, timer]] = [...armed] as [[number, { fn: () => void; ms: number }]];
    armed.delete(id);
    timer.fn();
    return timer.ms;
  };
  return { timers, armed, fire };
}

Deno.test("sleep longer than a timer can hold is chained from timers that can", async () => {
  const { timers, armed, fire } = manualTimers();
  let woke = false;
  const days30 = 30 * 24 * 3_600_000; // 2.592e9 ms, past 2^31 - 1
  const sleeping = createSleep(timers)(days30).then(() => (woke = true));
  assert.equal(fire(), MAX_TIMER_MS);
  await settle();
  assert.equal(woke, false, "it does not wake after the first timer");
  assert.equal(fire(), days30 - MAX_TIMER_MS);
  await sleeping;
  assert.equal(woke, true);
  assert.equal(armed.size, 0);
});

Deno.test("sleep of a long time is cut short by its signal in any of its timers", async () => {
  const { timers, armed, fire } = manualTimers();
  const stop = new AbortController();
  const sleeping = createSleep(timers)(3 * MAX_TIMER_MS, stop.signal);
  fire();
  stop.abort(new Error("stopped"));
  await assert.rejects(sleeping, { message: "stopped" });
  assert.equal(armed.size, 0, "no timer is left behind");
});

Deno.test("sleep of 2^31 ms, 1 ms past a real timer's longest, never fires before a 20 ms timer", async () => {
  const stop = new AbortController();
  // setTimeout fires a delay of 2^31 ms at once: a MAX_TIMER_MS even 1 ms too long fails here.
  const long = sleep(2 ** 31, stop.signal).then(() => "long sleep woke", () => "aborted");
  const short = new Promise((resolve) => setTimeout(() => resolve("20 ms timer"), 20));
  assert.equal(await Promise.race([long, short]), "20 ms timer");
  stop.abort();
  assert.equal(await long, "aborted");
});
