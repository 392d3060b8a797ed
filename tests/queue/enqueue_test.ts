import assert from "node:assert/strict";
import type { PgBoss } from "pg-boss";
import { enqueueAccounts } from "../../src/queue/enqueue.ts";
import { openQueue, SYNC_QUEUE } from "../../src/queue/queue.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { withFreshServerDatabase } from "../store/_helpers.ts";

async function withQueue(fn: (boss: PgBoss) => Promise<void>): Promise<void> {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const boss = await openQueue(url, { heartbeatMs: 10_000, supervise: false, poolSize: 2 });
    try {
      await fn(boss);
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });
}

Deno.test("enqueueAccounts never queues an account twice, queued or running", async () => {
  await withQueue(async (boss) => {
    assert.deepEqual(await enqueueAccounts(boss, ["a", "b"]), { queued: ["a", "b"], skipped: [] });
    assert.deepEqual(await enqueueAccounts(boss, ["a", "b", "c"]), {
      queued: ["c"],
      skipped: ["a", "b"],
    });
    const [job] = await boss.fetch(SYNC_QUEUE);
    assert.ok(job);
    assert.deepEqual(await enqueueAccounts(boss, ["a", "b", "c"]), {
      queued: [],
      skipped: ["a", "b", "c"],
    }, "a running account is not queued either");
    await boss.complete(SYNC_QUEUE, job.id);
    const done = (job.data as { account: string }).account;
    assert.deepEqual(await enqueueAccounts(boss, [done]), { queued: [done], skipped: [] });
  });
});
