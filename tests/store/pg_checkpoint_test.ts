/**
 * What the PostgreSQL checkpoint adds to the shared contract (checkpoint_contract_test.ts): many
 * processes (workers) share it, so each account's runs and send log are kept apart, and a run
 * one process began is resumed by another from the rows alone.
 */
import assert from "node:assert/strict";
import { CheckpointError } from "../../src/store/checkpoint.ts";
import { openPgCheckpoint } from "../../src/store/pg_checkpoint.ts";
import { withServerDatabase } from "./_helpers.ts";

const run = (runId: string, account: string, startedAt: number) => ({
  runId,
  account,
  apiUrl: "http://platform.test",
  pageSize: 50,
  startedAt,
});
const page = (n: number, ids: string[]) => ({
  page: n,
  records: ids.map((id) => ({ id })),
  total: 4,
  hasMore: n < 2,
});

withServerDatabase(
  "Two workers' runs of different accounts are kept apart",
  async ({ db, reopen }) => {
    const other = await reopen();
    try {
      const first = openPgCheckpoint(db.sql);
      const second = openPgCheckpoint(other.sql);
      await first.createRun(run("run-a", "acct-a", 1_000));
      await second.createRun(run("run-b", "acct-b", 2_000));
      await first.savePage("run-a", page(1, ["a1", "a2"]));
      await second.savePage("run-b", page(1, ["b1"]));
      await first.markDone("run-a", ["a1", "a2"], "synced");
      await second.markFailed("run-b", "b1", "500 from the platform");

      assert.equal((await second.latestUnfinished("acct-a"))?.runId, "run-a");
      assert.equal((await first.latestUnfinished("acct-b"))?.runId, "run-b");
      assert.deepEqual((await second.pages("run-a")).map((p) => p.page), [1]);
      assert.deepEqual(await first.done("run-b"), new Map());
      assert.equal((await first.progress("run-a")).synced, 2);
      assert.deepEqual(
        [(await first.progress("run-b")).failed, (await first.progress("run-b")).synced],
        [1, 0],
      );

      await first.finishRun("run-a", "ok");
      assert.equal(
        await second.latestUnfinished("acct-a"),
        undefined,
        "a finished run is not resumed",
      );
      assert.equal(
        (await first.latestUnfinished("acct-b"))?.status,
        "running",
        "the other goes on",
      );
      assert.deepEqual((await first.latestRuns(10)).map((r) => r.runId), ["run-b", "run-a"]);
    } finally {
      await other.close();
    }
  },
);

withServerDatabase(
  "A run one process began is resumed by another from where it stopped",
  async ({ db, reopen }) => {
    const crashed = openPgCheckpoint(db.sql, { now: () => 5_000 });
    await crashed.createRun(run("run-1", "acct", 1_000));
    await crashed.setTotals("run-1", 4, 2);
    await crashed.setPageLimit("run-1", 25);
    await crashed.savePage("run-1", page(1, ["c1", "c2"]));
    await crashed.markDone("run-1", ["c1"], "synced");
    await crashed.recordSynced("run-1", "c2", "2024-05-01T00:00:00.000Z");
    await crashed.close(); // the process is gone; nothing of it lives in memory

    const other = await reopen();
    try {
      const taker = openPgCheckpoint(other.sql, { now: () => 9_000 });
      const resumed = await taker.latestUnfinished("acct");
      assert.deepEqual(resumed, {
        runId: "run-1",
        account: "acct",
        apiUrl: "http://platform.test",
        pageSize: 50,
        startedAt: 1_000,
        updatedAt: 5_000,
        status: "running",
        total: 4,
        pagesTotal: 2,
        pageLimit: 25,
        lastError: null,
      });
      assert.deepEqual(await taker.pages("run-1"), [page(1, ["c1", "c2"])]);
      assert.deepEqual(await taker.done("run-1"), new Map([["c1", "synced"]]));
      assert.deepEqual(
        await taker.syncedPending("run-1"),
        new Map([["c2", "2024-05-01T00:00:00.000Z"]]),
      );
      await taker.savePage("run-1", page(2, ["c3", "c4"]));
      await taker.markDone("run-1", ["c2", "c3", "c4"], "synced");
      await taker.finishRun("run-1", "ok");
      const finished = await openPgCheckpoint(db.sql).getRun("run-1");
      assert.equal(finished?.status, "ok");
      assert.equal(finished?.updatedAt, 9_000, "the taker's clock stamps its writes");
      assert.equal((await taker.progress("run-1")).synced, 4);
    } finally {
      await other.close();
    }
  },
);

withServerDatabase("The send log is kept per account and pruned per account", async ({ db }) => {
  const checkpoint = openPgCheckpoint(db.sql, { sendRetentionMs: 1_000 });
  await checkpoint.recordSend("acct-b", 100);
  await checkpoint.recordSend("acct-b", 200);
  for (let i = 0; i < 99; i++) await checkpoint.recordSend("acct-a", 10_000 + i * 10);
  assert.deepEqual(await checkpoint.recentSends("acct-b", 0), [100, 200]);
  const acctA = await checkpoint.recentSends("acct-a", 0);
  assert.equal(acctA.length, 99);
  assert.equal(acctA[0], 10_000, "pruned only past the retention");
  assert.deepEqual(await checkpoint.recentSends("acct-a", 10_970), [10_970, 10_980]);

  await checkpoint.pruneSends("acct-a", 10_500);
  assert.equal((await checkpoint.recentSends("acct-a", 0))[0], 10_500);
  assert.deepEqual(await checkpoint.recentSends("acct-b", 0), [100, 200], "b's log untouched");
});

withServerDatabase(
  "The PostgreSQL checkpoint prunes an account's old sends on every 100th send",
  async ({ db }) => {
    const checkpoint = openPgCheckpoint(db.sql, { sendRetentionMs: 1_000 });
    await checkpoint.recordSend("acct-b", 100);
    for (let i = 0; i < 98; i++) await checkpoint.recordSend("acct-a", i);
    await checkpoint.recordSend("acct-a", 5_000); // the 100th send: prunes acct-a before 4_000
    assert.deepEqual(await checkpoint.recentSends("acct-a", 0), [5_000]);
    assert.deepEqual(
      await checkpoint.recentSends("acct-b", 0),
      [100],
      "another account's log kept",
    );
  },
);

withServerDatabase(
  "A write to an unknown run fails naming the checkpoint, never its URL",
  async ({ db }) => {
    const checkpoint = openPgCheckpoint(db.sql, { where: "PostgreSQL (workers)" });
    await assert.rejects(checkpoint.setTotals("no-such-run", 1, 1), (error) => {
      assert.ok(error instanceof CheckpointError);
      assert.equal(
        error.message,
        "Cannot set totals of run no-such-run in checkpoint PostgreSQL (workers): unknown run no-such-run",
      );
      return true;
    });
    await assert.rejects(checkpoint.finishRun("no-such-run", "ok"), CheckpointError);
  },
);
