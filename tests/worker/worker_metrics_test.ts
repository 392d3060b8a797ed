import assert from "node:assert/strict";
import { renderWorkerMetrics } from "../../src/worker/worker_metrics.ts";
import type { RunSummary } from "../../src/sync/run_summary.ts";

const summary = {
  run_id: "r1",
  status: "ok",
  campaigns_total: 3,
  synced: 3,
  skipped: 0,
  failed: 0,
  rejected: 0,
  deleted: 0,
  requests: 5,
  rate_limited: 0,
  retries: 0,
  timeouts: 0,
  token_refreshes: 1,
  duration_ms: 1_500,
} as RunSummary;

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
