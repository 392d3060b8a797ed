import assert from "node:assert/strict";
import { createHostGate } from "../../src/platform/host_gate.ts";
import { createFakeClock } from "../_fake_clock.ts";
import { acmeAccount } from "../_fixtures.ts";
import { countOutcome, createRequestStats, outcomeRows } from "../../src/platform/account.ts";

Deno.test("An account's limiter keeps a margin of the round trips its host's quick requests took", async () => {
  const clock = createFakeClock(0);
  const hostGate = createHostGate();
  const account = acmeAccount({
    rateLimit: { count: 1, windowMs: 10_000 },
    clock,
    hostGate,
  });
  assert.equal(account.limiter.marginMs, 200, "2% of the window");
  hostGate.arrivalDelay.observe(0, 800); // another account's page took 800 ms
  const first = await account.limiter.acquire();
  await first.sent();
  const second = account.limiter.acquire().then(() => clock.now());
  await clock.runAll();
  assert.equal(await second, 10_800);
});

Deno.test("New request stats count nothing", () => {
  const stats = createRequestStats();
  assert.deepEqual(
    [stats.requests, stats.rateLimited, stats.retries, stats.timeouts, stats.inFlight],
    [0, 0, 0, 0, 0],
  );
  assert.deepEqual(outcomeRows(stats), []);
});

Deno.test("Outcomes are counted per endpoint and status, and come back as metric rows", () => {
  const stats = createRequestStats();
  countOutcome(stats, "list", "200");
  countOutcome(stats, "list", "503");
  countOutcome(stats, "list", "200");
  countOutcome(stats, "sync", "200");
  countOutcome(stats, "token", "timeout");
  assert.deepEqual(outcomeRows(stats), [
    { endpoint: "list", status: "200", count: 2 },
    { endpoint: "list", status: "503", count: 1 },
    { endpoint: "sync", status: "200", count: 1 },
    { endpoint: "token", status: "timeout", count: 1 },
  ]);
});

Deno.test("Two stats never share their outcomes", () => {
  const a = createRequestStats();
  const b = createRequestStats();
  countOutcome(a, "sync", "network");
  assert.deepEqual(outcomeRows(b), []);
});
