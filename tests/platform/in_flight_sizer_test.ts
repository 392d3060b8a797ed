import assert from "node:assert/strict";
import type { RateLimit } from "../../src/duration.ts";
import { createInFlightSizer } from "../../src/platform/in_flight_sizer.ts";

const TEN_A_MINUTE: RateLimit = { count: 10, windowMs: 60_000 };

/** Counts `n` accounts of `limit`; returns their removers. */
function addAccounts(
  sizer: ReturnType<typeof createInFlightSizer>,
  n: number,
  limit = TEN_A_MINUTE,
): Array<() => void> {
  return Array.from({ length: n }, () => sizer.add({ limit }));
}

Deno.test("The bound is the ceiling while no account is counted", () => {
  const sizer = createInFlightSizer({ ceiling: 256, now: () => 0 });
  assert.equal(sizer.bound(), 256);
});

Deno.test("The bound follows Little's law: rate x hold time x headroom, plus the spare places", () => {
  const sizer = createInFlightSizer({ ceiling: 10_000, now: () => 0 });
  addAccounts(sizer, 600); // 600 x 10 a minute = 100 requests a second
  // 0.1 request/ms x 1,000 ms held (not measured yet) x 1.25 = 125, plus 16 spare.
  assert.equal(sizer.bound(), 141);
  sizer.observe(2_000);
  assert.equal(sizer.holdMs(), 2_000);
  assert.equal(sizer.bound(), 0.1 * 2_000 * 1.25 + 16);
});

Deno.test("The bound never goes above the operator's ceiling", () => {
  const sizer = createInFlightSizer({ ceiling: 50, now: () => 0 });
  addAccounts(sizer, 600);
  assert.equal(sizer.bound(), 50);
});

Deno.test("One account whose window holds more than the spare gets its whole window of places", () => {
  const sizer = createInFlightSizer({ ceiling: 10_000, now: () => 0 });
  sizer.add({ limit: { count: 100, windowMs: 3_600_000 } });
  sizer.observe(10);
  assert.equal(sizer.bound(), 1 + 100, "a hair of rate, then the window's 100 at once");
});

Deno.test("The hold time is the longer kind's mean, so quick pages never shrink what syncs need", () => {
  const sizer = createInFlightSizer({ ceiling: 10_000, now: () => 0 });
  sizer.observe(2_000, "sync");
  sizer.observe(4_000, "sync");
  for (let i = 0; i < 10; i++) sizer.observe(20, "list");
  assert.equal(sizer.holdMs(), 3_000);
});

Deno.test("An expected kind not yet measured counts as the initial hold time", () => {
  const sizer = createInFlightSizer({
    ceiling: 10_000,
    initialHoldMs: 1_500,
    kinds: ["list", "sync"],
    now: () => 0,
  });
  sizer.observe(40, "list");
  assert.equal(sizer.holdMs(), 1_500, "the syncs to come are assumed slow until measured");
  sizer.observe(900, "sync");
  assert.equal(sizer.holdMs(), 900, "both measured: the longer mean, below the assumption");
});

Deno.test("The hold time is the mean of the latest samples only", () => {
  const sizer = createInFlightSizer({ ceiling: 10_000, samples: 3, now: () => 0 });
  for (const ms of [9_000, 100, 200, 300]) sizer.observe(ms);
  assert.equal(sizer.holdMs(), 200, "the 9 s outlier has rolled out");
  sizer.observe(-50);
  assert.equal(sizer.holdMs(), (200 + 300 + 0) / 3, "a negative hold counts as 0");
});

Deno.test("The bound keeps the peak work while accounts end, and resets once none is left", () => {
  const sizer = createInFlightSizer({ ceiling: 10_000, now: () => 0 });
  const removers = addAccounts(sizer, 600);
  const peak = sizer.bound();
  for (const remove of removers.slice(1)) remove();
  assert.equal(sizer.bound(), peak, "the last windows of accounts ending together still fit");
  removers[0]!();
  assert.equal(sizer.bound(), 10_000, "no account: the ceiling");
  addAccounts(sizer, 6);
  assert.equal(sizer.bound(), Math.ceil(0.001 * 1_000 * 1.25) + 16, "sized anew from the work");
});

Deno.test("Removing an account twice removes it once; an account counted twice is removed twice", () => {
  const sizer = createInFlightSizer({ ceiling: 10_000, now: () => 0 });
  const demand = { limit: TEN_A_MINUTE };
  const first = sizer.add(demand);
  const second = sizer.add(demand);
  first();
  first();
  assert.notEqual(sizer.bound(), 10_000, "the second count still holds");
  second();
  assert.equal(sizer.bound(), 10_000);
});

Deno.test("A limit that changes is read again after a second, not on every request", () => {
  let now = 0;
  const sizer = createInFlightSizer({ ceiling: 10_000, now: () => now });
  const demand = { limit: { count: 10, windowMs: 1_000 } }; // 0.01 request/ms
  sizer.add(demand);
  assert.equal(sizer.bound(), Math.ceil(0.01 * 1_000 * 1.25) + 16);
  demand.limit = { count: 100, windowMs: 1_000 }; // the platform advertised more
  now = 999;
  assert.equal(sizer.bound(), 13 + 16, "still the sum of a moment ago");
  now = 1_000;
  assert.equal(sizer.bound(), Math.ceil(0.1 * 1_000 * 1.25) + 100);
});
