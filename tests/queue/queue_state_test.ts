import assert from "node:assert/strict";
import postgres from "postgres";
import { enqueueAccounts } from "../../src/queue/enqueue.ts";
import { openQueue, SYNC_QUEUE } from "../../src/queue/queue.ts";
import {
  accountQueueStates,
  formatQueueState,
  WORKER_HOLDER_PREFIX,
} from "../../src/queue/queue_state.ts";
import { releaseLease, takeLease } from "../../src/store/account_lease.ts";
import { migrate } from "../../src/store/migrations.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { withFreshServerDatabase } from "../store/_helpers.ts";

Deno.test("accountQueueStates is empty where no worker ever made the queue", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      assert.deepEqual([...await accountQueueStates(sql, ["a"])], []);
    } finally {
      await sql.end();
    }
  });
});

Deno.test("accountQueueStates tells queued, running on which worker, retrying and failed", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const boss = await openQueue(url, { supervise: false, poolSize: 2 });
    const sql = postgres(url, { max: 3, onnotice: () => {} });
    try {
      await enqueueAccounts(boss, ["running", "retrying", "failed", "queued"]);
      const fetched = await boss.fetch(SYNC_QUEUE, { batchSize: 3 });
      const byAccount = new Map(fetched.map((j) => [(j.data as { account: string }).account, j]));
      // Jobs come out in creation order: the first three accounts are active now.
      await migrate(sql);
      const lease = await takeLease(sql, "running", {
        holder: `${WORKER_HOLDER_PREFIX}box-7`,
        ttlMs: 30_000,
      });
      assert.ok("token" in lease);
      await boss.fail(SYNC_QUEUE, byAccount.get("retrying")!.id);
      const failed = byAccount.get("failed")!;
      await boss.fail(SYNC_QUEUE, failed.id);
      for (let i = 0; i < 2; i++) {
        const [again] = await boss.fetch(SYNC_QUEUE, { ignoreStartAfter: true });
        assert.equal(again?.id === failed.id || again?.id === byAccount.get("retrying")!.id, true);
        await boss.fail(SYNC_QUEUE, again!.id);
      }
      const states = await accountQueueStates(sql, [
        "running",
        "retrying",
        "failed",
        "queued",
        "x",
      ]);
      const cells = Object.fromEntries([...states].map(([a, s]) => [a, formatQueueState(s)]));
      assert.equal(cells.running, "running on box-7");
      assert.equal(cells.queued, "queued");
      assert.equal(cells.x, undefined, "an account never queued has no state");
      assert.deepEqual(
        [cells.retrying, cells.failed].sort(),
        ["failed", "retrying"],
        "one of the two failed jobs ran out of tries",
      );
      await releaseLease(sql, "running", lease.token);
    } finally {
      await sql.end();
      await boss.stop({ graceful: false, close: true });
    }
  });
});
