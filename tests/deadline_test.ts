import assert from "node:assert/strict";
import { clockTimeout, deadline } from "../src/deadline.ts";
import { createFakeClock, settle } from "./_fake_clock.ts";

Deno.test("deadline gives the answer that comes in time and cancels its timer", async () => {
  const clock = createFakeClock(0);
  assert.equal(await deadline(Promise.resolve(7), 1_000, { clock }), 7);
  await settle();
  assert.equal(clock.pending, 0, "no timer left behind");
  const refused = new Error("refused");
  assert.equal(await deadline(Promise.reject(refused), 1_000, { clock }).catch((e) => e), refused);
});

Deno.test("deadline rejects with its reason once its time is up on the clock", async () => {
  const clock = createFakeClock(0);
  const reason = new Error("no answer within 1 s");
  const waiting = deadline(new Promise(() => {}), 1_000, { clock, reason }).catch((e) => e);
  await clock.tick(999);
  let ended = false;
  void waiting.then(() => ended = true);
  await settle();
  assert.equal(ended, false, "not before its time");
  await clock.tick(1);
  assert.equal(await waiting, reason);
  const plain = deadline(new Promise<never>(() => {}), 10, { clock }).catch((e: Error) => e);
  await clock.tick(10);
  assert.equal((await plain).name, "TimeoutError", "std's reason by default");
});

Deno.test("deadline ends at once with the signal's reason when its signal fires", async () => {
  const clock = createFakeClock(0);
  const stop = new AbortController();
  const waiting = deadline(new Promise(() => {}), 60_000, { clock, signal: stop.signal })
    .catch((e) => e);
  const reason = new Error("stopped");
  stop.abort(reason);
  assert.equal(await waiting, reason);
  await settle();
  assert.equal(clock.pending, 0, "its timer is cancelled");
});

Deno.test("clockTimeout aborts on the clock, and never once cancelled", async () => {
  const clock = createFakeClock(0);
  const timeout = clockTimeout(500, { clock, reason: "late" });
  await clock.tick(499);
  assert.equal(timeout.aborted, false);
  await clock.tick(1);
  assert.equal(timeout.aborted, true);
  assert.equal(timeout.reason, "late");
  const cancel = new AbortController();
  const cancelled = clockTimeout(500, { clock, signal: cancel.signal });
  cancel.abort();
  await clock.tick(1_000);
  assert.equal(cancelled.aborted, false);
});
