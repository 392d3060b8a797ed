import assert from "node:assert/strict";
import { createArrivalDelay } from "../../src/platform/arrival_delay.ts";

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
