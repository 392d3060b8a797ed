import assert from "node:assert/strict";
import type { PgBoss } from "pg-boss";
import { openQueue, TICK_QUEUE } from "../../src/queue/queue.ts";
import { applySchedule } from "../../src/queue/schedule.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { withFreshServerDatabase } from "../store/_helpers.ts";

async function withQueue(fn: (boss: PgBoss) => Promise<void>): Promise<void> {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const boss = await openQueue(url, { supervise: false, poolSize: 2 });
    try {
      await fn(boss);
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
  });
}

Deno.test("SYNC_SCHEDULE stores its cron for the tick queue in UTC, and a change replaces it", async () => {
  await withQueue(async (boss) => {
    await applySchedule(boss, "*/5 * * * *");
    const stored = await boss.getSchedule(TICK_QUEUE);
    assert.deepEqual([stored?.cron, stored?.timezone], ["*/5 * * * *", "UTC"]);
    await applySchedule(boss, "0 * * * *");
    const changed = await boss.getSchedules(TICK_QUEUE);
    assert.deepEqual(changed.map((s) => s.cron), ["0 * * * *"], "one schedule, the new one");
  });
});

Deno.test("The same SYNC_SCHEDULE again leaves the stored schedule untouched", async () => {
  await withQueue(async (boss) => {
    await applySchedule(boss, "*/5 * * * *");
    const before = await boss.getSchedule(TICK_QUEUE);
    await applySchedule(boss, "*/5 * * * *");
    const after = await boss.getSchedule(TICK_QUEUE);
    assert.equal(after?.updatedOn.getTime(), before?.updatedOn.getTime());
  });
});

Deno.test("SYNC_SCHEDULE=off removes the schedule; unset leaves another deployment's in place", async () => {
  await withQueue(async (boss) => {
    await applySchedule(boss, "*/5 * * * *");
    await applySchedule(boss, undefined);
    assert.equal((await boss.getSchedule(TICK_QUEUE))?.cron, "*/5 * * * *");
    await applySchedule(boss, "off");
    assert.equal(await boss.getSchedule(TICK_QUEUE), null);
    await applySchedule(boss, "off");
    assert.equal(await boss.getSchedule(TICK_QUEUE), null, "removing none is no error");
  });
});
