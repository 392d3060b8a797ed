import assert from "node:assert/strict";
import { createLiveRegistry, liveFromProgress } from "../../src/report/live_metrics.ts";
import { addRuns } from "../../src/report/metrics.ts";
import type { AccountOutcome } from "../../src/run_summary.ts";
import type { ProgressSnapshot } from "../../src/report/progress.ts";
import { parsePrometheus, valueOf } from "./_prometheus.ts";

const progress: ProgressSnapshot = {
  pagesDone: 1,
  pagesTotal: 2,
  campaignsDone: 10,
  campaignsTotal: 20,
  inFlight: 3,
  rateWaitMs: 1_500,
  retries: 0,
  etaMs: null,
};

const finished: AccountOutcome = {
  account: "acme",
  summary: {
    status: "ok",
    campaigns_total: 12,
    synced: 12,
    inserted: 12,
    updated: 0,
    unchanged: 0,
    skipped: 0,
    failed: 0,
    rejected: 0,
    deleted: 0,
    deletions_withheld: 0,
    requests: 14,
    rate_limited: 0,
    retries: 1,
    timeouts: 0,
    token_refreshes: 1,
    duration_ms: 2_000,
  },
  requests: [{ endpoint: "sync", status: "200", count: 12 }],
  lastSuccessUnix: 1_700_000_000,
};

Deno.test("Only accounts whose run has started and not ended count as in progress", () => {
  const live = liveFromProgress([
    { running: true, snapshot: () => progress },
    { running: true }, // logging in: no sync yet
    { running: false, snapshot: () => ({ ...progress, inFlight: 7 }) }, // ended
  ]);
  assert.deepEqual(live, { accountsInProgress: 2, requestsInFlight: 3, rateLimitWaitMs: 1_500 });
});

Deno.test("A scrape reads the live numbers and the ended runs as they are at that moment", async () => {
  let inFlight = 4;
  const runs: AccountOutcome[] = [];
  const scrape = createLiveRegistry({
    labels: { worker: "box-1" },
    runs: () => runs,
    live: () => ({
      accountsInProgress: 2,
      requestsInFlight: inFlight,
      rateLimitWaitMs: 2_500,
      queue: { ready: 5, deferred: 1, active: 2, failed: 3 },
    }),
    queue: true,
  });
  const first = parsePrometheus(await scrape());
  assert.equal(valueOf(first, "adsync_accounts_in_progress", { worker: "box-1" }), 2);
  assert.equal(valueOf(first, "adsync_requests_in_flight"), 4);
  assert.equal(valueOf(first, "adsync_rate_limit_wait_seconds"), 2.5);
  assert.equal(valueOf(first, "adsync_queue_jobs", { state: "ready" }), 5);
  assert.equal(valueOf(first, "adsync_queue_jobs", { state: "deferred" }), 1);
  assert.equal(valueOf(first, "adsync_queue_jobs", { state: "failed" }), 3);
  assert.ok(first.every((s) => s.name !== "adsync_campaigns_synced"), "no run has ended yet");

  inFlight = 0;
  runs.push(finished);
  const second = parsePrometheus(await scrape());
  assert.equal(valueOf(second, "adsync_requests_in_flight"), 0);
  assert.equal(
    valueOf(second, "adsync_campaigns_synced", { worker: "box-1", account: "acme" }),
    12,
  );
  assert.equal(valueOf(second, "adsync_requests_total", { endpoint: "sync", status: "200" }), 12);
  // A counter read twice is set again, not added to.
  const third = parsePrometheus(await scrape());
  assert.equal(valueOf(third, "adsync_requests_total", { endpoint: "sync", status: "200" }), 12);
  assert.ok(third.every((s) => s.labels.worker === "box-1"));
});

Deno.test("A sync's scrape has no queue, and a worker's queue that did not answer has no series", async () => {
  const live = () => ({ accountsInProgress: 0, requestsInFlight: 0, rateLimitWaitMs: 0 });
  const sync = await createLiveRegistry({ runs: () => [], live })();
  assert.doesNotMatch(sync, /adsync_queue_jobs/);
  const worker = await createLiveRegistry({ runs: () => [], live, queue: true })();
  assert.ok(parsePrometheus(worker).every((s) => s.name !== "adsync_queue_jobs"));
});

Deno.test("A live endpoint's _total counters add up every run of the process; last_run gauges show the last", async () => {
  const second: AccountOutcome = {
    ...finished,
    summary: { ...finished.summary, requests: 3, retries: 2 },
    requests: [{ endpoint: "sync", status: "200", count: 3 }],
  };
  let runs = [finished];
  let totals = [finished];
  const scrape = createLiveRegistry({
    runs: () => runs,
    totals: () => totals,
    live: () => ({ accountsInProgress: 0, requestsInFlight: 0, rateLimitWaitMs: 0 }),
  });
  const before = parsePrometheus(await scrape());
  runs = [second];
  totals = [addRuns(finished, second)];
  const after = parsePrometheus(await scrape());
  const sync200 = { endpoint: "sync", status: "200" };
  assert.equal(valueOf(before, "adsync_requests_total", sync200), 12);
  assert.equal(valueOf(after, "adsync_requests_total", sync200), 15, "a counter only grows");
  assert.equal(valueOf(after, "adsync_retries_total"), 3);
  assert.equal(valueOf(after, "adsync_last_run_requests", sync200), 3);
  assert.equal(valueOf(after, "adsync_last_run_retries"), 2);
  const text = await scrape();
  assert.match(text, /^# TYPE adsync_requests_total counter$/m);
  assert.match(text, /^# TYPE adsync_last_run_requests gauge$/m);
});
