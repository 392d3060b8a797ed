import assert from "node:assert/strict";
import postgres from "postgres";
import { enqueueAccounts } from "../../src/queue/enqueue.ts";
import { handBack } from "../../src/queue/hand_back.ts";
import { openQueue, RETRY_LIMIT, SYNC_QUEUE } from "../../src/queue/queue.ts";
import {
  accountQueueStates,
  failedAccountJobs,
  formatQueueState,
  queueJobCounts,
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
        ["failed: no reason recorded", "retrying"],
        "one of the two failed jobs ran out of tries",
      );
      await releaseLease(sql, "running", lease.token);
    } finally {
      await sql.end();
      await boss.stop({ graceful: false, close: true });
    }
  });
});

Deno.test("A job handed back for later shows when it comes back, its try not spent", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const boss = await openQueue(url, { supervise: false, poolSize: 2 });
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    try {
      await migrate(sql);
      await enqueueAccounts(boss, ["later", "now"]);
      const jobs = await boss.fetch(SYNC_QUEUE, { batchSize: 2, includeMetadata: true });
      const byAccount = new Map(jobs.map((j) => [(j.data as { account: string }).account, j]));
      const before = Date.now();
      await handBack(sql, byAccount.get("later")!, "throttled", { delayMs: 3_600_000 });
      await handBack(sql, byAccount.get("now")!, "worker stopping");
      const states = await accountQueueStates(sql, ["later", "now"]);
      const later = states.get("later")!;
      assert.equal(later.state, "retrying");
      const until = Date.parse(later.until!);
      assert.ok(
        until >= before + 3_600_000 - 1_000 && until <= Date.now() + 3_600_000,
        later.until!,
      );
      assert.equal(states.get("now")!.until, null, "due at once: nothing to show");
      assert.equal(formatQueueState(states.get("now")), "retrying");
      const [row] = await sql`select retry_count, retry_limit from pgboss.job
        where singleton_key = 'later' and name = ${SYNC_QUEUE}`;
      // Its next fetch counts one more retry: the limit is raised by as much.
      assert.deepEqual([row!.retry_count, row!.retry_limit], [0, RETRY_LIMIT + 1], "no try spent");
      // Nobody may take it before its time.
      assert.deepEqual(
        (await boss.fetch(SYNC_QUEUE, { batchSize: 5 })).map((j) => j.data),
        [{ account: "now" }],
      );
    } finally {
      await sql.end();
      await boss.stop({ graceful: false, close: true });
    }
  });
});

Deno.test("formatQueueState says when a deferred job comes back: the time, the date beyond a day", () => {
  const now = Date.parse("2026-12-02T12:00:00Z");
  const state = { state: "retrying" as const, worker: null, tries: 0 };
  const at = (iso: string) => formatQueueState({ ...state, until: iso }, now);
  assert.equal(at("2026-12-02T12:34:56.789Z"), "deferred until 12:34:56Z");
  assert.equal(at("2026-12-03T11:00:00.000Z"), "deferred until 11:00:00Z");
  assert.equal(at("2026-12-04T09:00:00.000Z"), "deferred until 2026-12-04 09:00:00Z");
  assert.equal(formatQueueState({ ...state, until: null }, now), "retrying");
});

Deno.test("A job failed for good shows its reason, counts as failed, and enqueue queues its account again", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const boss = await openQueue(url, { supervise: false, poolSize: 2 });
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    try {
      await migrate(sql);
      assert.equal(await failedAccountJobs(sql), 0);
      await enqueueAccounts(boss, ["doomed", "fine"]);
      for (let tries = 0; tries <= RETRY_LIMIT; tries++) {
        const [job] = await boss.fetch(SYNC_QUEUE, { ignoreStartAfter: true });
        assert.equal((job?.data as { account: string }).account, "doomed");
        await boss.fail(SYNC_QUEUE, job!.id, {
          error: `Run r${tries} of account doomed failed: 500`,
        });
      }
      const states = await accountQueueStates(sql, ["doomed", "fine"]);
      const doomed = states.get("doomed")!;
      assert.deepEqual([doomed.state, doomed.reason], [
        "failed",
        "Run r2 of account doomed failed: 500",
      ]);
      assert.equal(formatQueueState(doomed), "failed: Run r2 of account doomed failed: 500");
      assert.equal(states.get("fine")!.reason, null);
      assert.equal(await failedAccountJobs(sql), 1);

      assert.deepEqual(await enqueueAccounts(boss, ["doomed", "fine"]), {
        queued: ["doomed"],
        skipped: ["fine"],
      });
      assert.equal(states.size, 2);
      assert.equal((await accountQueueStates(sql, ["doomed"])).get("doomed")!.state, "queued");
      assert.equal(await failedAccountJobs(sql), 0, "queued again: no longer failed");
    } finally {
      await sql.end();
      await boss.stop({ graceful: false, close: true });
    }
  });
});

Deno.test("queueJobCounts counts the jobs as they are now: ready, deferred, active and failed", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const boss = await openQueue(url, { supervise: false, poolSize: 2 });
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    try {
      await enqueueAccounts(boss, ["a", "b", "c", "d"]);
      // A reading before the jobs move, as a first scrape or pg-boss's monitor takes one.
      assert.deepEqual(await queueJobCounts(sql), { ready: 4, deferred: 0, active: 0, failed: 0 });
      await boss.getQueueStats(SYNC_QUEUE);
      const jobs = await boss.fetch(SYNC_QUEUE, { batchSize: 3, includeMetadata: true });
      await handBack(sql, jobs[0]!, "throttled", { delayMs: 3_600_000 });
      assert.deepEqual(await queueJobCounts(sql), { ready: 1, deferred: 1, active: 2, failed: 0 });
      // What the worker's scrape read before: pg-boss's counts as cached before the jobs moved.
      const [cached] = await boss.getQueueStats(SYNC_QUEUE);
      assert.deepEqual([cached?.readyCount, cached?.activeCount], [4, 0]);
    } finally {
      await sql.end();
      await boss.stop({ graceful: false, close: true });
    }
  });
});
