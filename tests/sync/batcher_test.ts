import assert from "node:assert/strict";
import { createBatcher } from "../../src/sync/batcher.ts";
import { createFakeClock, settle } from "../_fake_clock.ts";

Deno.test("Batcher flushes as soon as a batch is full", async () => {
  const flushed: number[][] = [];
  const batcher = createBatcher<number>((items) => Promise.resolve(void flushed.push(items)), {
    maxSize: 3,
    clock: createFakeClock(),
  });
  for (let i = 1; i <= 7; i++) batcher.add(i);
  await settle();
  assert.deepEqual(flushed, [[1, 2, 3], [4, 5, 6]]);
  await batcher.drain();
  assert.deepEqual(flushed, [[1, 2, 3], [4, 5, 6], [7]]);
});

Deno.test("Batcher flushes a partial batch once its oldest item has waited long enough", async () => {
  const clock = createFakeClock();
  const flushed: string[][] = [];
  const batcher = createBatcher<string>((items) => Promise.resolve(void flushed.push(items)), {
    maxSize: 100,
    maxWaitMs: 250,
    clock,
  });
  batcher.add("a");
  await clock.tick(100);
  batcher.add("b");
  await clock.tick(149);
  assert.deepEqual(flushed, []);
  await clock.tick(1);
  assert.deepEqual(flushed, [["a", "b"]]);
  assert.equal(batcher.pending, 0);
});

Deno.test("Batcher never runs two flushes at once and keeps their order", async () => {
  const clock = createFakeClock();
  let active = 0;
  let most = 0;
  const order: number[] = [];
  const batcher = createBatcher<number>(async (items) => {
    most = Math.max(most, ++active);
    await new Promise((resolve) => setTimeout(resolve, 5));
    order.push(...items);
    active--;
  }, { maxSize: 2, clock });
  for (let i = 0; i < 9; i++) batcher.add(i);
  await batcher.drain();
  assert.equal(most, 1);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

Deno.test("Batcher reports the first failed flush and writes nothing after it", async () => {
  const errors: unknown[] = [];
  const flushed: number[][] = [];
  const batcher = createBatcher<number>((items) => {
    if (items.includes(3)) return Promise.reject(new Error("database went away"));
    flushed.push(items);
    return Promise.resolve();
  }, { maxSize: 2, clock: createFakeClock(), onError: (error) => errors.push(error) });
  for (let i = 1; i <= 6; i++) batcher.add(i);
  await assert.rejects(batcher.drain(), /database went away/);
  assert.deepEqual(flushed, [[1, 2]]);
  assert.equal(errors.length, 1);
});
