import assert from "node:assert/strict";
import type { ProgressSnapshot } from "../../src/report/progress.ts";
import { createWorkerMetrics, renderWorkerMetrics } from "../../src/worker/worker_metrics.ts";
import type { RunSummary } from "../../src/run_summary.ts";

const summary: RunSummary = {
  run_id: "r1",
  status: "ok",
  campaigns_total: 3,
  synced: 3,
  inserted: 1,
  updated: 1,
  unchanged: 1,
  skipped: 0,
  failed: 0,
  rejected: 0,
  deleted: 0,
  deletions_withheld: 0,
  requests: 5,
  rate_limited: 0,
  retries: 0,
  timeouts: 0,
  token_refreshes: 1,
  duration_ms: 1_500,
};

const progress: ProgressSnapshot = {
  pagesDone: 0,
  pagesTotal: null,
  campaignsDone: 0,
  campaignsTotal: null,
  inFlight: 0,
  rateWaitMs: 0,
  retries: 0,
  etaMs: null,
};

Deno.test("A worker's metrics carry the worker and the account on every series", async () => {
  const text = await renderWorkerMetrics('box"1', [
    { summary, account: "acme", requests: [], lastSuccessUnix: 100 },
  ]);
  const series = text.split("\n").filter((line) => line && !line.startsWith("#"));
  assert.ok(series.length > 5);
  for (const line of series) {
    assert.match(line, /^adsync_\w+\{worker="box\\"1",account="acme"/);
  }
  assert.match(text, /^adsync_campaigns_synced\{worker="box\\"1",account="acme"\} 3$/m);
});

Deno.test("A worker's live numbers follow its jobs from their start to their end", () => {
  const metrics = createWorkerMetrics("box-1", undefined);
  assert.deepEqual(metrics.live(), {
    accountsInProgress: 0,
    requestsInFlight: 0,
    rateLimitWaitMs: 0,
  });
  const first = metrics.track();
  const second = metrics.track();
  first.follow({ progress: () => undefined });
  first.follow({ progress: () => ({ ...progress, inFlight: 2, rateWaitMs: 500 }) });
  second.follow({ progress: () => ({ ...progress, inFlight: 3, rateWaitMs: 250 }) });
  assert.deepEqual(metrics.live(), {
    accountsInProgress: 2,
    requestsInFlight: 5,
    rateLimitWaitMs: 750,
  });
  first.end();
  assert.deepEqual(metrics.live(), {
    accountsInProgress: 1,
    requestsInFlight: 3,
    rateLimitWaitMs: 250,
  });
  second.end();
  assert.equal(metrics.live().accountsInProgress, 0);
});

Deno.test("A worker keeps each account's latest run and its last success across runs", async () => {
  const metrics = createWorkerMetrics("box-1", undefined);
  await metrics.record({ summary, account: "acme", requests: [], lastSuccessUnix: 100 });
  const failed = { ...summary, status: "failed" as const };
  await metrics.record({ summary: failed, account: "acme", requests: [], lastSuccessUnix: null });
  assert.deepEqual(metrics.runs(), [
    { summary: failed, account: "acme", requests: [], lastSuccessUnix: 100 },
  ]);
});

Deno.test("The worker's metrics file ends with the latest run of every account it ran", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/adsync-worker.prom`;
    const metrics = createWorkerMetrics("box-1", path);
    await Promise.all([
      metrics.record({ summary, account: "acme", requests: [], lastSuccessUnix: 100 }),
      metrics.record({
        summary: { ...summary, synced: 2 },
        account: "globex",
        requests: [],
        lastSuccessUnix: 100,
      }),
    ]);
    const text = await Deno.readTextFile(path);
    assert.match(text, /^adsync_campaigns_synced\{worker="box-1",account="acme"\} 3$/m);
    assert.match(text, /^adsync_campaigns_synced\{worker="box-1",account="globex"\} 2$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("A worker adds up each account's runs for its counters and keeps the last for its gauges", async () => {
  const metrics = createWorkerMetrics("box-1", undefined);
  const run = (requests: number) => ({
    summary: { ...summary, requests },
    account: "acme",
    requests: [{ endpoint: "sync" as const, status: "200", count: requests }],
    lastSuccessUnix: 100,
  });
  await metrics.record(run(5));
  await metrics.record(run(7));
  assert.deepEqual(metrics.runs().map((r) => r.summary.requests), [7]);
  assert.deepEqual(metrics.totals().map((r) => r.summary.requests), [12]);
  assert.deepEqual(metrics.totals()[0]!.requests, [{ endpoint: "sync", status: "200", count: 12 }]);
});
