import assert from "node:assert/strict";
import type { PgBoss } from "pg-boss";
import postgres from "postgres";
import { enqueueAccounts } from "../../src/queue/enqueue.ts";
import { completeJob, handBack, type HeldJob } from "../../src/queue/hand_back.ts";
import { openQueue, RETRY_LIMIT, SYNC_QUEUE } from "../../src/queue/queue.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { withFreshServerDatabase } from "../store/_helpers.ts";

interface Queue {
  boss: PgBoss;
  sql: postgres.Sql;
}

async function withQueue(fn: (queue: Queue) => Promise<void>): Promise<void> {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const boss = await openQueue(url, { heartbeatMs: 10_000, supervise: false, poolSize: 4 });
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    try {
      await fn({ boss, sql });
    } finally {
      await sql.end();
      await boss.stop({ graceful: false, close: true });
    }
  });
}

async function jobRow(sql: postgres.Sql, account: string) {
  const [row] = await sql<
    {
      state: string;
      retry_count: number;
      retry_limit: number;
      due_in_ms: number;
      output: unknown;
    }[]
  >`select state::text as state, retry_count, retry_limit, output,
      (extract(epoch from start_after - now()) * 1000)::float8 as due_in_ms
    from pgboss.job where name = ${SYNC_QUEUE} and singleton_key = ${account}`;
  return row!;
}

/** Claims `account`'s job, fenced data included. */
async function claim(boss: PgBoss): Promise<HeldJob> {
  const [job] = await boss.fetch(SYNC_QUEUE, { includeMetadata: true });
  assert.ok(job, "the job is due");
  return job;
}

Deno.test("A handed-back job is due at once and keeps its tries", async () => {
  await withQueue(async ({ boss, sql }) => {
    await enqueueAccounts(boss, ["a"]);
    for (let round = 0; round < RETRY_LIMIT + 2; round++) {
      assert.equal(await handBack(sql, await claim(boss), "worker stopping"), "settled");
    }
    const row = await jobRow(sql, "a");
    assert.equal(row.state, "retry");
    assert.deepEqual(row.output, { handedBack: "worker stopping" });
    // A retrying job's next fetch counts a try; a new job's first does not.
    assert.equal(row.retry_limit - row.retry_count, RETRY_LIMIT + 1, "as many tries as a new job");
  });
});

Deno.test("A job handed back with a delay or until an instant is not due before it", async () => {
  await withQueue(async ({ boss, sql }) => {
    await enqueueAccounts(boss, ["a", "b"]);
    await handBack(sql, await claim(boss), "account locked", { delayMs: 60_000 });
    const [now] = await sql<{ now: Date }[]>`select now() as now`;
    const until = new Date(now!.now.getTime() + 30_000);
    await handBack(sql, await claim(boss), "account driven by w1", { until });
    assert.deepEqual(await boss.fetch(SYNC_QUEUE), []);
    const a = await jobRow(sql, "a");
    const b = await jobRow(sql, "b");
    assert.ok(a.due_in_ms > 55_000 && a.due_in_ms <= 60_000, `due in ${a.due_in_ms} ms`);
    assert.ok(b.due_in_ms > 25_000 && b.due_in_ms <= 30_000, `due in ${b.due_in_ms} ms`);
  });
});

Deno.test("A claim racing a hand-back never finds the job due before its time, and its tries stay unspent", async () => {
  await withQueue(async ({ boss, sql }) => {
    await enqueueAccounts(boss, ["a"]);
    const rounds = 8;
    const stolen: string[] = [];
    for (let round = 0; round < rounds; round++) {
      // The job comes due for the round, claimed by the worker about to hand it back.
      const before = await jobRow(sql, "a");
      assert.notEqual(before.state, "failed", `round ${round}: the job's tries are spent`);
      await sql`update pgboss.job set start_after = now() where singleton_key = 'a'`;
      const job = await claim(boss);
      // Another worker polls as fast as it can while the hand-back happens (as a worker that
      // re-fetches right after its own hand-back does).
      let racing = true;
      const claimer = (async () => {
        while (racing) {
          const [taken] = await boss.fetch(SYNC_QUEUE, { includeMetadata: true });
          if (taken) return taken;
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 5));
      await handBack(sql, job, "account driven by w1", { delayMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      racing = false;
      const taken = await claimer;
      if (taken) stolen.push(`round ${round}: claimed again at try ${taken.retryCount + 1}`);
      if (taken) await handBack(sql, taken, "account driven by w1", { delayMs: 60_000 });
    }
    assert.deepEqual(stolen, [], "no claim found the job due before its time");
    const row = await jobRow(sql, "a");
    assert.equal(row.state, "retry");
    assert.ok(row.due_in_ms > 50_000, `due in ${row.due_in_ms} ms, not at once`);
    assert.equal(row.retry_limit - row.retry_count, RETRY_LIMIT + 1, "no try spent");
  });
});

Deno.test("A hand-back or completion of a job another worker took over leaves it alone", async () => {
  await withQueue(async ({ boss, sql }) => {
    await enqueueAccounts(boss, ["a"]);
    const stale = await claim(boss);
    // Failed over (a silent heartbeat) and claimed by another worker.
    await boss.fail(SYNC_QUEUE, stale.id);
    const [current] = await boss.fetch(SYNC_QUEUE, {
      includeMetadata: true,
      ignoreStartAfter: true,
    });
    assert.ok(current);
    assert.equal(await handBack(sql, stale, "worker stopping", { adopt: true }), "busy");
    assert.equal(await completeJob(sql, stale, { status: "ok" }), "busy");
    const row = await jobRow(sql, "a");
    assert.deepEqual([row.state, row.retry_count], ["active", 1], "still the other worker's");
    assert.equal(await completeJob(sql, current, { status: "ok" }), "settled");
    assert.equal(await handBack(sql, current, "late"), "gone");
    assert.equal((await jobRow(sql, "a")).state, "completed");
  });
});

Deno.test("A run that outlived its claim settles the account's job once nobody else holds it", async () => {
  await withQueue(async ({ boss, sql }) => {
    await enqueueAccounts(boss, ["a", "b"]);
    const [a, b] = [await claim(boss), await claim(boss)];
    await boss.fail(SYNC_QUEUE, [a.id, b.id]); // the supervisor, after a database restart
    assert.equal(await completeJob(sql, a, { status: "ok" }), "busy", "not without adopt");
    assert.equal(await completeJob(sql, a, { status: "ok" }, { adopt: true }), "settled");
    const row = await jobRow(sql, "a");
    assert.deepEqual([row.state, row.output], ["completed", { status: "ok" }]);
    assert.equal(await handBack(sql, b, "worker stopping", { adopt: true }), "settled");
    const again = await jobRow(sql, "b");
    // The claim the supervisor failed is refunded: as many tries left as a new job.
    assert.equal(again.retry_limit - again.retry_count, RETRY_LIMIT + 1);
  });
});
