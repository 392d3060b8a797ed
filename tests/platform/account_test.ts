import assert from "node:assert/strict";
import { createHostGate } from "../../src/platform/host_gate.ts";
import { createFakeClock } from "../_fake_clock.ts";
import { acmeAccount } from "../_fixtures.ts";

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
