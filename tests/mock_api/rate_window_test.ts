import assert from "node:assert/strict";
import { createRateWindow } from "../../mock-api/rate_window.ts";

const TEN_PER_MINUTE = { count: 10, windowMs: 60_000 };

Deno.test("RateWindow refuses the 11th request inside the window and names the wait", () => {
  const window = createRateWindow(TEN_PER_MINUTE);
  for (let i = 0; i < 10; i++) assert.equal(window.admit("acme", i * 1_000), 0);
  assert.equal(window.admit("acme", 15_000), 45_000);
});

Deno.test("RateWindow accepts again exactly when the oldest request leaves the window", () => {
  const window = createRateWindow(TEN_PER_MINUTE);
  for (let i = 0; i < 10; i++) window.admit("acme", i * 1_000);
  assert.equal(window.admit("acme", 59_999), 1);
  assert.equal(window.admit("acme", 60_000), 0);
  assert.equal(window.admit("acme", 60_000), 1_000);
  assert.equal(window.admit("acme", 61_000), 0);
});

Deno.test("RateWindow does not count refused requests", () => {
  const window = createRateWindow({ count: 2, windowMs: 1_000 });
  window.admit("acme", 0);
  window.admit("acme", 0);
  for (let t = 1; t < 1_000; t += 100) assert.ok(window.admit("acme", t) > 0);
  assert.equal(window.admit("acme", 1_000), 0);
  assert.equal(window.admit("acme", 1_000), 0);
});

Deno.test("RateWindow keeps one window per client", () => {
  const window = createRateWindow({ count: 1, windowMs: 1_000 });
  assert.equal(window.admit("acme", 0), 0);
  assert.equal(window.admit("acme", 1), 999);
  assert.equal(window.admit("globex", 1), 0);
  assert.equal(window.admit("default", 1), 0);
});

Deno.test("RateWindow keeps a client refused for the penalty after a 429", () => {
  const window = createRateWindow({ count: 1, windowMs: 1_000 }, { penaltyMs: 5_000 });
  window.admit("acme", 0);
  assert.equal(window.admit("acme", 500), 5_000);
  assert.equal(window.admit("globex", 500), 0);
  assert.equal(window.admit("acme", 5_500), 0);
});

Deno.test("RateWindow restarts the penalty on every refused request", () => {
  const window = createRateWindow({ count: 1, windowMs: 1_000 }, { penaltyMs: 5_000 });
  window.admit("acme", 0);
  window.admit("acme", 500);
  assert.equal(window.admit("acme", 5_000), 5_000);
  assert.equal(window.admit("acme", 9_999), 5_000);
  assert.equal(window.admit("acme", 14_999), 0);
});
