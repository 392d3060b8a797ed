import assert from "node:assert/strict";
import {
  BYTES_PER_ACCOUNT,
  defaultWorkerAccounts,
  fetchPlan,
  IDLE_FETCHES_PER_SECOND,
  MAX_FETCHERS,
  pollIntervalMs,
  QUEUE_POOL_SIZE,
  WORKER_CONNECTIONS,
  workerPoolSize,
} from "../../src/worker/worker_capacity.ts";

const GB = 2 ** 30;

Deno.test("By default a worker runs every account it has, with no fixed ceiling below 10,000", () => {
  assert.equal(defaultWorkerAccounts({ accounts: 1, availableBytes: 20 * GB }), 1);
  assert.equal(defaultWorkerAccounts({ accounts: 200, availableBytes: 20 * GB }), 200);
  assert.equal(defaultWorkerAccounts({ accounts: 5_000, availableBytes: 20 * GB }), 5_000);
  assert.equal(defaultWorkerAccounts({ accounts: 20_000, availableBytes: 1_000 * GB }), 10_000);
});

Deno.test("By default a worker takes no more accounts than half the memory available holds", () => {
  // 120 MB available: 60 MB for accounts at 1.2 MB each.
  const available = 100 * BYTES_PER_ACCOUNT;
  assert.equal(defaultWorkerAccounts({ accounts: 600, availableBytes: available }), 50);
  assert.equal(defaultWorkerAccounts({ accounts: 600, availableBytes: 0 }), 1, "at least one");
});

Deno.test("A worker's connections stay within 20 whatever the accounts at once", () => {
  for (const accounts of [1, 40, 41, 100, 160, 500, 1_000]) {
    const pool = workerPoolSize(accounts);
    assert.ok(pool >= 4, `pool of ${pool} for ${accounts}`);
    assert.ok(pool + QUEUE_POOL_SIZE <= WORKER_CONNECTIONS, `${pool} + queue for ${accounts}`);
  }
  assert.equal(workerPoolSize(40), 4);
  assert.equal(workerPoolSize(100), 10);
  assert.equal(workerPoolSize(1_000), WORKER_CONNECTIONS - QUEUE_POOL_SIZE);
});

Deno.test("An idle worker's places poll the queue at most 50 times a second together", () => {
  assert.equal(pollIntervalMs(10, 2_000), 2_000);
  assert.equal(pollIntervalMs(100, 2_000), 2_000);
  assert.equal(pollIntervalMs(500, 2_000), 10_000);
  for (const places of [1, 99, 101, 500, 1_000]) {
    assert.ok(places / (pollIntervalMs(places, 2_000) / 1_000) <= IDLE_FETCHES_PER_SECOND);
  }
});

Deno.test("A worker fetches one job a loop up to 250 places, and batches beyond, never over its places", () => {
  assert.deepEqual(fetchPlan(1), { fetchers: 1, batchSize: 1 });
  assert.deepEqual(fetchPlan(MAX_FETCHERS), { fetchers: MAX_FETCHERS, batchSize: 1 });
  assert.deepEqual(fetchPlan(5_000), { fetchers: 250, batchSize: 20 });
  for (const places of [1, 2, 249, 251, 999, 5_001, 10_000]) {
    const { fetchers, batchSize } = fetchPlan(places);
    assert.ok(fetchers * batchSize <= places, `${places} places`);
    assert.ok(fetchers <= MAX_FETCHERS);
    // Every place but less than a batch is used.
    assert.ok(places - fetchers * batchSize < batchSize, `${places} places`);
  }
});
