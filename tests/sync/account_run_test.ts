import assert from "node:assert/strict";
import { createAccount } from "../../src/platform/account.ts";
import { progressSnapshot } from "../../src/sync/account_run.ts";
import type { SyncProgress } from "../../src/sync/run_sync.ts";
import { createFakeClock } from "../_fake_clock.ts";
import { MOCK_CREDENTIALS } from "../_fixtures.ts";

const progress: SyncProgress = {
  total: 100,
  pagesTotal: 10,
  pagesDone: 10,
  synced: 40,
  skipped: 5,
  failed: 1,
  rejected: 4,
  queued: 50,
};

function account(clock = createFakeClock(0)) {
  return createAccount({
    baseUrl: "http://api.test",
    clientId: "acme",
    credentials: MOCK_CREDENTIALS,
    rateLimit: { count: 10, windowMs: 60_000 },
    clock,
  });
}

Deno.test("Progress ETA follows the limiter's schedule for the requests left", async () => {
  const clock = createFakeClock(0);
  const acme = account(clock);
  for (let i = 0; i < 10; i++) (await acme.limiter.acquire()).sent(); // the window is full now
  await clock.tick(30_000);
  const snapshot = progressSnapshot(progress, acme, clock.now());
  // 50 syncs left at 10 a window: the last leaves at the start of the 5th window from the
  // first send (+ the limiter's safety margin of 500 ms a window).
  assert.equal(snapshot.etaMs, 5 * 60_500 - 30_000);
  assert.equal(snapshot.campaignsDone, 50);
  assert.equal(snapshot.campaignsTotal, 100);
});

Deno.test("Progress has no ETA before the first page tells the total", () => {
  const snapshot = progressSnapshot(
    { ...progress, total: null, pagesTotal: null, pagesDone: 0, queued: 0 },
    account(),
    0,
  );
  assert.equal(snapshot.etaMs, null);
  assert.equal(snapshot.campaignsTotal, null);
});
