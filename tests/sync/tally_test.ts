import assert from "node:assert/strict";
import { createTally } from "../../src/sync/tally.ts";

Deno.test("Tally moves queued campaigns to synced, failed and undone", () => {
  const tally = createTally();
  tally.queue(5);
  tally.synced(2);
  tally.failed();
  tally.leftUndone();
  const counts = tally.snapshot();
  assert.deepEqual(
    { queued: counts.queued, synced: counts.synced, failed: counts.failed, undone: counts.undone },
    { queued: 1, synced: 2, failed: 1, undone: 1 },
  );
});

Deno.test("Tally counts skipped, rejected, missing, deleted and changed campaigns without queueing them", () => {
  const tally = createTally();
  tally.skip(3);
  tally.reject(2);
  tally.miss(4);
  tally.deleted(1);
  tally.withheld(5);
  tally.changed({ inserted: 6, updated: 7, unchanged: 8 });
  tally.pageDone();
  tally.pageUndone();
  assert.deepEqual(tally.snapshot(), {
    pagesDone: 1,
    queued: 0,
    synced: 0,
    inserted: 6,
    updated: 7,
    unchanged: 8,
    skipped: 3,
    failed: 4,
    rejected: 2,
    deleted: 1,
    withheld: 5,
    undone: 1,
  });
});

Deno.test("Tally refuses to finish more campaigns than are queued", () => {
  const tally = createTally();
  tally.queue(1);
  assert.throws(() => tally.synced(2), (error: unknown) => {
    assert.ok(error instanceof RangeError);
    assert.equal(error.message, "Cannot move 2 campaigns to synced: 1 queued");
    return true;
  });
  assert.equal(tally.snapshot().queued, 1, "a refused transition changes nothing");
});

Deno.test("Tally snapshots are copies the tally does not change afterwards", () => {
  const tally = createTally();
  const before = tally.snapshot();
  tally.queue(2);
  assert.equal(before.queued, 0);
});
