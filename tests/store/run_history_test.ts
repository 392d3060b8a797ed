import assert from "node:assert/strict";
import { recentRuns, recordRunEnd, recordRunStart } from "../../src/store/run_history.ts";
import type { RunSummary } from "../../src/sync/run_summary.ts";
import { withEachDatabase } from "./_helpers.ts";

const SUMMARY: RunSummary = {
  run_id: "run-1",
  status: "partial",
  campaigns_total: 100,
  synced: 97,
  skipped: 0,
  failed: 2,
  rejected: 1,
  deleted: 3,
  deletions_withheld: 0,
  requests: 123,
  rate_limited: 0,
  retries: 21,
  timeouts: 9,
  token_refreshes: 1,
  duration_ms: 612_345,
};

withEachDatabase("A run's start and end round-trip through sync_runs", async ({ db }) => {
  const startedAt = new Date("2024-05-01T08:00:00.000Z");
  await recordRunStart(db.sql, {
    runId: "run-1",
    account: "acme",
    apiUrl: "http://localhost:3001",
    startedAt,
  });
  const [running] = await recentRuns(db.sql);
  assert.equal(running?.status, "running");
  assert.equal(running?.finished_at, null);

  await recordRunEnd(db.sql, { ...SUMMARY, lastError: "Cannot fetch page 3: 503" });

  const [run] = await recentRuns(db.sql);
  assert.ok(run?.finished_at instanceof Date);
  const { deletions_withheld: _, ...columns } = SUMMARY; // kept in `summary` only
  assert.deepEqual({ ...run, finished_at: null }, {
    ...columns,
    account: "acme",
    api_url: "http://localhost:3001",
    started_at: startedAt,
    finished_at: null,
    last_error: "Cannot fetch page 3: 503",
    summary: SUMMARY,
  });
});

withEachDatabase("recordRunEnd records a run whose start was never recorded", async ({ db }) => {
  await recordRunEnd(db.sql, { ...SUMMARY, run_id: "orphan", status: "failed" });
  const [run] = await recentRuns(db.sql);
  assert.equal(run?.run_id, "orphan");
  assert.equal(run?.status, "failed");
  assert.equal(run?.started_at, null);
  assert.equal(run?.last_error, null);
  assert.deepEqual(run?.summary, { ...SUMMARY, run_id: "orphan", status: "failed" });
});

withEachDatabase("recentRuns lists the newest runs first, up to the limit", async ({ db }) => {
  for (const day of [1, 3, 2]) {
    await recordRunStart(db.sql, {
      runId: `run-${day}`,
      account: "acme",
      apiUrl: "http://localhost:3001",
      startedAt: new Date(Date.UTC(2024, 4, day)),
    });
  }
  const runs = await recentRuns(db.sql, 2);
  assert.deepEqual(runs.map((run) => run.run_id), ["run-3", "run-2"]);
});
