import assert from "node:assert/strict";
import { createGroupCommit } from "../../src/store/group_commit.ts";
import { createFakeClock, settle } from "../_fake_clock.ts";

Deno.test("GroupCommit commits the items of many callers in one statement after the wait", async () => {
  const clock = createFakeClock();
  const groups: string[][] = [];
  const writer = createGroupCommit<string, string>((items) => {
    groups.push(items);
    return Promise.resolve(items.map((item) => item.toUpperCase()));
  }, { maxWaitMs: 20, clock });
  const results = [writer.submit("a"), writer.submit("b")];
  await clock.tick(10);
  results.push(writer.submit("c"));
  await clock.tick(9);
  assert.deepEqual(groups, []);
  await clock.tick(1);
  assert.deepEqual(groups, [["a", "b", "c"]]);
  assert.deepEqual(await Promise.all(results), ["A", "B", "C"]);
  assert.equal(writer.statements, 1);
  assert.equal(writer.pending, 0);
});

Deno.test("GroupCommit resolves an item only once its statement has committed", async () => {
  const clock = createFakeClock();
  let commit!: () => void;
  const writer = createGroupCommit<number, number>(
    (items) => new Promise((resolve) => commit = () => resolve(items)),
    { maxWaitMs: 5, clock },
  );
  let resolved = false;
  const result = writer.submit(1).then((value) => (resolved = true, value));
  await clock.tick(5);
  await settle();
  assert.equal(resolved, false);
  assert.equal(writer.pending, 1);
  commit();
  assert.equal(await result, 1);
});

Deno.test("GroupCommit fails every item of a failed statement and only those", async () => {
  const clock = createFakeClock();
  let calls = 0;
  const writer = createGroupCommit<string, string>((items) => {
    if (calls++ === 0) return Promise.reject(new Error("Cannot write: connection lost"));
    return Promise.resolve(items);
  }, { maxWaitMs: 10, clock });
  const first = [writer.submit("a"), writer.submit("b")].map((p) => p.catch((e) => e));
  await clock.tick(10);
  const later = writer.submit("c");
  await clock.tick(10);
  for (const outcome of await Promise.all(first)) {
    assert.ok(outcome instanceof Error);
    assert.equal(outcome.message, "Cannot write: connection lost");
  }
  assert.equal(await later, "c");
});

Deno.test("GroupCommit sends a full group at once", async () => {
  const clock = createFakeClock();
  const groups: number[][] = [];
  const writer = createGroupCommit<number, number>((items) => {
    groups.push(items);
    return Promise.resolve(items);
  }, { maxWaitMs: 1_000, maxRows: 3, clock });
  const results = [1, 2, 3, 4].map((n) => writer.submit(n));
  await settle();
  assert.deepEqual(groups, [[1, 2, 3]]);
  await clock.tick(1_000);
  assert.deepEqual(groups, [[1, 2, 3], [4]]);
  assert.deepEqual(await Promise.all(results), [1, 2, 3, 4]);
});

Deno.test("GroupCommit fills a group up to its rows as items weigh them, one heavy item alone", async () => {
  const clock = createFakeClock();
  const groups: number[][] = [];
  const writer = createGroupCommit<number, number>((items) => {
    groups.push(items);
    return Promise.resolve(items);
  }, { maxWaitMs: 1_000, maxRows: 10, weigh: (n) => n, clock });
  const results = [4, 5, 2, 12, 3].map((n) => writer.submit(n));
  await settle();
  assert.deepEqual(groups, [[4, 5], [2], [12]], "full groups go at once, each within 10 rows");
  await clock.tick(1_000);
  assert.deepEqual(groups, [[4, 5], [2], [12], [3]]);
  assert.deepEqual(await Promise.all(results), [4, 5, 2, 12, 3]);
});

Deno.test("GroupCommit runs one statement at a time and gathers the next group meanwhile", async () => {
  const clock = createFakeClock();
  const groups: number[][] = [];
  let active = 0;
  let most = 0;
  const finish: (() => void)[] = [];
  const writer = createGroupCommit<number, number>((items) => {
    groups.push(items);
    most = Math.max(most, ++active);
    return new Promise((resolve) => finish.push(() => (active--, resolve(items))));
  }, { maxWaitMs: 10, clock });
  const results = [writer.submit(1)];
  await clock.tick(10);
  for (let n = 2; n <= 5; n++) results.push(writer.submit(n));
  await clock.tick(50);
  assert.deepEqual(groups, [[1]]);
  finish.shift()!();
  await settle();
  assert.deepEqual(groups, [[1], [2, 3, 4, 5]]);
  finish.shift()!();
  assert.deepEqual(await Promise.all(results), [1, 2, 3, 4, 5]);
  assert.equal(most, 1);
});

Deno.test("GroupCommit waits only as long as the measured rate needs for its target rows", async () => {
  const clock = createFakeClock();
  const groups: number[][] = [];
  const writer = createGroupCommit<number, number>((items) => {
    groups.push(items);
    return Promise.resolve(items);
  }, { targetRows: 4, maxWaitMs: 100, clock });
  // One item a millisecond: after the first group has measured it, 4 items gather in about 4 ms.
  let n = 0;
  for (let ms = 0; ms < 300; ms++) {
    void writer.submit(n++);
    await clock.tick(1);
  }
  await clock.tick(100);
  const first = groups[0]!;
  assert.ok(first.length >= 50, `the first group waits the longest wait: ${first.length}`);
  const later = groups.slice(2, -1).map((group) => group.length);
  assert.ok(later.every((size) => size >= 3 && size <= 6), `later groups: ${later}`);
  assert.equal(groups.flat().length, 300);
});

Deno.test("GroupCommit flushes what is queued without waiting for the timer", async () => {
  const clock = createFakeClock();
  const groups: number[][] = [];
  let release!: () => void;
  const writer = createGroupCommit<number, number>((items) => {
    groups.push(items);
    return groups.length === 1
      ? new Promise((resolve) => release = () => resolve(items))
      : Promise.resolve(items);
  }, { maxWaitMs: 1_000, clock });
  const first = writer.submit(1);
  await clock.tick(1_000);
  const second = writer.submit(2);
  let flushed = false;
  const flushing = writer.flush().then(() => flushed = true);
  await settle();
  assert.equal(flushed, false, "the group in flight ends first");
  release();
  await flushing;
  assert.deepEqual(groups, [[1], [2]]);
  assert.deepEqual(await Promise.all([first, second]), [1, 2]);
  assert.equal(writer.pending, 0);
});
