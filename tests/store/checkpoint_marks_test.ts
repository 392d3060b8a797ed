import assert from "node:assert/strict";
import { writeMarks } from "../../src/store/checkpoint_marks.ts";
import { openPgCheckpoint } from "../../src/store/pg_checkpoint.ts";
import { withServerDatabase } from "./_helpers.ts";

const run = (runId: string, account: string) => ({
  runId,
  account,
  apiUrl: "http://platform.test",
  pageSize: 100,
  startedAt: 1_700_000_000_000,
});

withServerDatabase(
  "writeMarks writes many runs' marks in one statement, each as its own call would",
  async ({ db }) => {
    const checkpoint = openPgCheckpoint(db.sql);
    await checkpoint.createRun(run("r1", "acme"));
    await checkpoint.createRun(run("r2", "globex"));
    await checkpoint.markFailed("r2", "c1", "503");
    const found = await writeMarks(db.sql, [
      { kind: "synced", runId: "r1", id: "c1", syncedAt: "2024-01-01T00:00:00Z" },
      { kind: "synced", runId: "r1", id: "c2", syncedAt: "2024-01-01T00:00:01Z" },
      {
        kind: "done",
        runId: "r2",
        ids: ["c1", "c2"],
        outcome: "synced",
        changes: new Map([["c1", "updated"]]),
      },
      { kind: "done", runId: "r1", ids: ["c1"], outcome: "synced" },
      { kind: "synced", runId: "gone", id: "c1", syncedAt: "2024-01-01T00:00:02Z" },
    ], 1_700_000_001_000);
    assert.deepEqual([...found].toSorted(), ["r1", "r2"], "a run that is not there is left out");
    assert.deepEqual([...await checkpoint.syncedPending("r1")], [["c2", "2024-01-01T00:00:01Z"]]);
    assert.deepEqual([...await checkpoint.done("r2")].toSorted(), [["c1", "synced"], [
      "c2",
      "synced",
    ]]);
    const progress = await checkpoint.progress("r2");
    assert.equal(progress.failed, 0, "a done campaign leaves the failed ones");
    assert.equal(progress.updated, 1);
    assert.equal((await checkpoint.getRun("r1"))?.updatedAt, 1_700_000_001_000);
  },
);

withServerDatabase(
  "The PostgreSQL checkpoint groups the marks of runs that write at once, and fails only an unknown run's",
  async ({ db }) => {
    const checkpoint = openPgCheckpoint(db.sql, { groups: { maxWaitMs: 20 } });
    await checkpoint.createRun(run("r1", "acme"));
    await checkpoint.createRun(run("r2", "globex"));
    const outcomes = await Promise.allSettled([
      checkpoint.recordSynced("r1", "c1", "2024-01-01T00:00:00Z"),
      checkpoint.markDone("r2", ["c5"], "synced"),
      checkpoint.markDone("nope", ["c5"], "synced"),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status), ["fulfilled", "fulfilled", "rejected"]);
    const error = (outcomes[2] as PromiseRejectedResult).reason;
    assert.equal(error.name, "CheckpointError");
    assert.match(
      error.message,
      /^Cannot mark 1 campaigns synced in run nope in checkpoint .*: unknown run nope$/,
    );
    assert.deepEqual([...await checkpoint.done("r2")], [["c5", "synced"]]);
  },
);
