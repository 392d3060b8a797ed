import assert from "node:assert/strict";
import {
  lastAdvertisedLimit,
  recentRuns,
  recordRunEnds,
  recordRunStarts,
} from "../../src/store/run_history.ts";
import type { RunSummary } from "../../src/run_summary.ts";
import { RUN_SUMMARY } from "../_fixtures.ts";
import { withEachDatabase } from "./_helpers.ts";

const SUMMARY: RunSummary = {
  ...RUN_SUMMARY,
  status: "partial",
  synced: 97,
  inserted: 10,
  updated: 7,
  unchanged: 80,
  failed: 2,
  rejected: 1,
  deleted: 3,
  deletions_withheld: 0,
  requests: 123,
  duration_ms: 612_345,
};

withEachDatabase("A run's start and end round-trip through sync_runs", async ({ db }) => {
  const startedAt = new Date("2024-05-01T08:00:00.000Z");
  await recordRunStarts(db.sql, [{
    runId: "run-1",
    account: "acme",
    apiUrl: "http://localhost:3001",
    startedAt,
  }]);
  const [running] = await recentRuns(db.sql);
  assert.equal(running?.status, "running");
  assert.equal(running?.finished_at, null);

  await recordRunEnds(db.sql, [{ ...SUMMARY, last_error: "Cannot fetch page 3: 503" }]);

  const [run] = await recentRuns(db.sql);
  assert.ok(run?.finished_at instanceof Date);
  assert.deepEqual({ ...run, finished_at: null }, {
    ...SUMMARY,
    account: "acme",
    api_url: "http://localhost:3001",
    started_at: startedAt,
    finished_at: null,
    last_error: "Cannot fetch page 3: 503",
    summary: { ...SUMMARY, last_error: "Cannot fetch page 3: 503" },
  });
});

withEachDatabase("recordRunEnds records a run whose start was never recorded", async ({ db }) => {
  await recordRunEnds(db.sql, [{ ...SUMMARY, run_id: "orphan", status: "failed" }]);
  const [run] = await recentRuns(db.sql);
  assert.equal(run?.run_id, "orphan");
  assert.equal(run?.status, "failed");
  assert.equal(run?.started_at, null);
  assert.equal(run?.last_error, null);
  assert.deepEqual(run?.summary, { ...SUMMARY, run_id: "orphan", status: "failed" });
});

withEachDatabase("recentRuns lists the newest runs first, up to the limit", async ({ db }) => {
  for (const day of [1, 3, 2]) {
    await recordRunStarts(db.sql, [{
      runId: `run-${day}`,
      account: "acme",
      apiUrl: "http://localhost:3001",
      startedAt: new Date(Date.UTC(2024, 4, day)),
    }]);
  }
  const runs = await recentRuns(db.sql, 2);
  assert.deepEqual(runs.map((run) => run.run_id), ["run-3", "run-2"]);
});

withEachDatabase(
  "lastAdvertisedLimit gives the limit the account's latest run was advertised",
  async ({ db }) => {
    const end = async (
      runId: string,
      account: string,
      rate_limit: string,
      source: string,
      advertised?: string,
    ) => {
      await recordRunStarts(db.sql, [{
        runId,
        account,
        apiUrl: "http://x",
        startedAt: new Date(),
      }]);
      await recordRunEnds(db.sql, [{
        ...SUMMARY,
        run_id: runId,
        rate_limit,
        rate_limit_source: source,
        ...(advertised ? { rate_limit_advertised: advertised } : {}),
      } as RunSummary]);
    };
    assert.equal(await lastAdvertisedLimit(db.sql, "acme"), undefined, "no run yet");
    await end("run-a", "acme", "20/1s", "advertised");
    await end("run-b", "globex", "5/60s", "advertised");
    assert.deepEqual(await lastAdvertisedLimit(db.sql, "acme"), { advertised: "20/1s" });
    assert.deepEqual(await lastAdvertisedLimit(db.sql, "globex"), { advertised: "5/60s" });
    await end("run-c", "acme", "10/1s", "configured");
    assert.equal(await lastAdvertisedLimit(db.sql, "acme"), undefined, "the latest run's word");
    await recordRunStarts(db.sql, [{
      runId: "run-d",
      account: "globex",
      apiUrl: "http://x",
      startedAt: new Date(),
    }]);
    assert.deepEqual(
      await lastAdvertisedLimit(db.sql, "globex"),
      { advertised: "5/60s" },
      "a running run says nothing",
    );
    await end("run-e", "acme", "10/1s", "enforced", "100/1s");
    assert.deepEqual(
      await lastAdvertisedLimit(db.sql, "acme"),
      { advertised: "100/1s", enforced: "10/1s" },
      "a run that found the advertisement wrong says both",
    );
  },
);

withEachDatabase(
  "An account's latest run is found through an index, not by reading every account's runs",
  async ({ db }) => {
    // Forbid a full read where an index can serve: the plan then shows which index it takes.
    await db.sql.begin(async (sql) => {
      await sql`set local enable_seqscan = off`;
      const plan = await sql.unsafe(
        `explain select summary->>'rate_limit' from sync_runs
         where account = 'acme' and finished_at is not null and summary is not null
         order by finished_at desc, run_id desc limit 1`,
      );
      const text = plan.map((row) => Object.values(row).join(" ")).join("\n");
      assert.match(text, /sync_runs_by_account/);
    });
  },
);

withEachDatabase(
  "recordRunStarts and recordRunEnds record many runs at once, a run given twice as its last says",
  async ({ db }) => {
    const startedAt = new Date("2024-05-01T08:00:00.000Z");
    const starts = ["run-a", "run-b", "run-c"].map((runId, i) => ({
      runId,
      account: `acct_${i}`,
      apiUrl: "http://localhost:3001",
      startedAt,
    }));
    await recordRunStarts(db.sql, [...starts, { ...starts[0]!, account: "acct_moved" }]);
    await recordRunEnds(db.sql, [
      { ...SUMMARY, run_id: "run-a", status: "failed" },
      { ...SUMMARY, run_id: "run-b" },
      { ...SUMMARY, run_id: "run-a", status: "ok", synced: 100 },
    ]);
    const runs = await recentRuns(db.sql);
    const byId = new Map(runs.map((run) => [run.run_id, run]));
    assert.equal(runs.length, 3);
    assert.equal(byId.get("run-a")?.account, "acct_moved");
    assert.equal(byId.get("run-a")?.status, "ok");
    assert.equal(byId.get("run-a")?.synced, 100);
    assert.equal(byId.get("run-a")?.summary?.synced, 100);
    assert.equal(byId.get("run-b")?.status, "partial");
    assert.ok(byId.get("run-b")?.finished_at instanceof Date);
    assert.equal(byId.get("run-c")?.status, "running");
    assert.equal(byId.get("run-c")?.finished_at, null);
  },
);
