import assert from "node:assert/strict";
import type { SyncSummary } from "../../src/run_summary.ts";
import { exitCodeFor } from "../../src/sync/summary.ts";
import { overallStatus, totalize } from "../../src/sync/totals.ts";

const base: SyncSummary = {
  run_id: "run-acme",
  account: "acme",
  status: "ok",
  campaigns_total: 100,
  synced: 100,
  inserted: 100,
  updated: 0,
  unchanged: 0,
  skipped: 0,
  failed: 0,
  rejected: 0,
  deleted: 0,
  deletions_withheld: 0,
  requests: 101,
  rate_limited: 0,
  retries: 3,
  timeouts: 1,
  token_refreshes: 0,
  duration_ms: 600_000,
  drift: {
    duplicates: 0,
    conflicting: 0,
    missing: 0,
    has_more_mismatches: 0,
    total_changes: 0,
    truncated: 0,
  },
  rate_limit: "10/60s",
  rate_limit_source: "configured",
};

const globex: SyncSummary = {
  ...base,
  run_id: "run-globex",
  account: "globex",
  status: "partial",
  campaigns_total: 15,
  synced: 12,
  inserted: 2,
  updated: 4,
  unchanged: 6,
  failed: 2,
  rejected: 1,
  deleted: 2,
  requests: 17,
  rate_limited: 1,
  retries: 2,
  timeouts: 0,
  token_refreshes: 1,
  duration_ms: 30_000,
};

Deno.test("A one-account report is that account's summary plus an accounts list of it", () => {
  const report = totalize([base], 601_234);
  assert.deepEqual(report, { ...base, accounts: [base] });
});

Deno.test("A many-account report adds the counters up and takes the run's wall time", () => {
  const report = totalize([base, globex], 601_234.4);
  assert.deepEqual(report, {
    status: "partial",
    campaigns_total: 115,
    synced: 112,
    inserted: 102,
    updated: 4,
    unchanged: 6,
    skipped: 0,
    failed: 2,
    rejected: 1,
    deleted: 2,
    deletions_withheld: 0,
    requests: 118,
    rate_limited: 1,
    retries: 5,
    timeouts: 1,
    token_refreshes: 1,
    duration_ms: 601_234,
    accounts: [base, globex],
  });
});

Deno.test("The overall status is interrupted, else failed, else partial, else ok", () => {
  assert.equal(overallStatus(["ok", "ok"]), "ok");
  assert.equal(overallStatus(["ok", "partial"]), "partial");
  assert.equal(overallStatus(["partial", "failed", "ok"]), "failed");
  assert.equal(overallStatus(["failed", "interrupted", "partial"]), "interrupted");
});

Deno.test("Many accounts exit 1 when one could not run and 2 when one is partial", () => {
  const failed = { ...globex, status: "failed" as const };
  assert.equal(exitCodeFor(totalize([base, base], 1), undefined), 0);
  assert.equal(exitCodeFor(totalize([base, globex], 1), undefined), 2);
  assert.equal(exitCodeFor(totalize([globex, failed, base], 1), undefined), 1);
  const stopped = totalize([failed, { ...base, status: "interrupted" }], 1);
  assert.equal(exitCodeFor(stopped, "SIGINT"), 130);
  assert.equal(exitCodeFor(stopped, "max-duration"), 75);
});
