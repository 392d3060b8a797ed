import assert from "node:assert/strict";
import { createRateLimiter } from "../../src/platform/rate_limiter.ts";
import { slackGauge, slackMs } from "../../src/platform/slack.ts";
import { createFakeClock } from "../_fake_clock.ts";

const limit = { count: 10, windowMs: 60_000 };

/** A limiter whose window holds `sent` sends at the clock's now (page 1 and its failed attempts). */
function after(sent: number) {
  const clock = createFakeClock(1_000_000);
  const history = Array.from({ length: sent }, () => clock.now());
  return { clock, limiter: createRateLimiter(limit, { clock, history, marginMs: 500 }) };
}

Deno.test("slackMs lets the first window's syncs wait most of a window when the rest is a multiple of 10", () => {
  // Page 1 left; 100 syncs to go: the last one follows page 1's slot, whatever the other 9 do.
  const { clock, limiter } = after(1);
  assert.equal(slackMs(limiter, 100, clock.now()), 0.8 * limit.windowMs);
  // Three failed attempts before page 1 came: the same.
  const retried = after(4);
  assert.equal(slackMs(retried.limiter, 100, retried.clock.now()), 0.8 * limit.windowMs);
});

Deno.test("slackMs gives no wait when the next sync's slot carries the last request", () => {
  // 95 syncs after page 1: slots 1 to 5 of the first window each serve the last window too.
  const { clock, limiter } = after(1);
  assert.equal(slackMs(limiter, 95, clock.now()), 0);
});

Deno.test("slackMs gives no wait for what fits in the window, nor when no slot is free", () => {
  const { clock, limiter } = after(1);
  assert.equal(slackMs(limiter, 9, clock.now()), 0, "everything left goes now");
  const full = after(10);
  assert.equal(slackMs(full.limiter, 100, full.clock.now()), 0, "the next waits for a slot anyway");
});

Deno.test("slackMs never moves the finish: the waited schedule ends with the one that did not wait", () => {
  for (const [sent, n] of [[1, 100], [4, 100], [1, 95], [2, 41], [1, 50], [7, 63]] as const) {
    const { clock, limiter } = after(sent);
    const now = clock.now();
    const waitMs = slackMs(limiter, n, now);
    assert.ok(
      limiter.finishTimeFor(n, now + waitMs) <= limiter.finishTimeFor(n, now),
      `${sent}, ${n}`,
    );
  }
});

Deno.test("slackGauge reuses a slack for 100 ms, and gives none while fewer syncs than a window run at once", async () => {
  const { clock, limiter } = after(1);
  const gauge = slackGauge(limiter, () => clock.now(), 10);
  assert.equal(gauge(100), 48_000);
  await clock.tick(50);
  assert.equal(gauge(100), 48_000 - 50, "the same slack, 50 ms spent");
  assert.equal(gauge(95), 0, "asked anew for another count");
  const narrow = slackGauge(limiter, () => clock.now(), 5);
  assert.equal(narrow(100), 0);
});
