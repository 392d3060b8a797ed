import assert from "node:assert/strict";
import type { PgBoss } from "pg-boss";
import { enqueueAccounts } from "../../src/queue/enqueue.ts";
import { handBack } from "../../src/queue/hand_back.ts";
import { openQueue, RETRY_LIMIT, SYNC_QUEUE } from "../../src/queue/queue.ts";
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

Deno.test("A handed-back job is due at once and keeps its tries", async () => {
  await withQueue(async (boss) => {
    await enqueueAccounts(boss, ["a"]);
    for (let round = 0; round < RETRY_LIMIT + 2; round++) {
      const [job] = await boss.fetch(SYNC_QUEUE, { includeMetadata: true });
      assert.ok(job, `round ${round}: the job is fetchable again at once`);
      await handBack(boss, job, "worker stopping");
    }
    const [job] = await boss.findJobs(SYNC_QUEUE, { key: "a" });
    assert.equal(job?.state, "retry");
    // A retrying job's next fetch counts a try; a new job's first does not.
    assert.equal(job.retryLimit - job.retryCount, RETRY_LIMIT + 1, "as many tries as a new job");
  });
});

Deno.test("A job handed back with a delay is not due before it", async () => {
  await withQueue(async (boss) => {
    await enqueueAccounts(boss, ["a"]);
    const [job] = await boss.fetch(SYNC_QUEUE, { includeMetadata: true });
    await handBack(boss, job!, "account locked", 60_000);
    assert.deepEqual(await boss.fetch(SYNC_QUEUE), []);
  });
});
