import assert from "node:assert/strict";
import type { PgBoss } from "pg-boss";
import postgres from "postgres";
import { type Config, loadConfig } from "../../src/config.ts";
import { enqueueAccounts } from "../../src/queue/enqueue.ts";
import { openQueue, QUEUE_SCHEMA, SYNC_QUEUE } from "../../src/queue/queue.ts";
import { startWorkerEndpoint, type WorkerEndpoint } from "../../src/worker/worker_endpoint.ts";
import { createWorkerMetrics } from "../../src/worker/worker_metrics.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { parsePrometheus, valueOf } from "../report/_prometheus.ts";
import { withFreshServerDatabase } from "../store/_helpers.ts";

/** The config of `adsync worker [args]`. */
function workerConfig(args: string[] = []): Readonly<Config> {
  return loadConfig(
    {
      AD_PLATFORM_EMAIL: "admin@mixoads.com",
      AD_PLATFORM_PASSWORD: "SuperSecret123!",
      DATABASE_URL: "postgres://adsync@db.test/adsync",
    },
    ["worker", ...args],
  );
}

interface Setup {
  endpoint: WorkerEndpoint;
  boss: PgBoss;
  sql: postgres.Sql;
  stop: AbortController;
  url: string;
}

/** A worker's endpoint on a fresh database with its queue, not polled yet. */
async function withEndpoint(fn: (setup: Setup) => Promise<void>): Promise<void> {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const boss = await openQueue(url, { supervise: false, poolSize: 2 });
    const stop = new AbortController();
    const endpoint = startWorkerEndpoint(workerConfig(["--http-port", "0"]), {
      workerId: "box-1",
      metrics: createWorkerMetrics("box-1", undefined),
      sql,
      label: "the test database",
      signal: stop.signal,
    })!;
    try {
      await fn({ endpoint, boss, sql, stop, url });
    } finally {
      await endpoint.close();
      await boss.stop({ graceful: false, close: true });
      await sql.end();
    }
  });
}

async function readyz(endpoint: WorkerEndpoint): Promise<[number, string]> {
  const response = await fetch(`${endpoint.url}/readyz`);
  return [response.status, await response.text()];
}

Deno.test("A worker serves no endpoint unless --http-port is set", () => {
  const endpoint = startWorkerEndpoint(workerConfig(), {
    workerId: "box-1",
    metrics: createWorkerMetrics("box-1", undefined),
    sql: undefined as unknown as postgres.Sql, // never used without a port
    label: "unused",
    signal: new AbortController().signal,
  });
  assert.equal(endpoint, undefined);
});

Deno.test("A worker is ready only once its queue is polled, and no longer once it stops", async () => {
  await withEndpoint(async ({ endpoint, boss, stop }) => {
    assert.deepEqual(await readyz(endpoint), [503, "not ready: the queue is not polled yet\n"]);
    endpoint.polling(boss);
    assert.deepEqual(await readyz(endpoint), [503, "not ready: the queue is not polled\n"]);
    await boss.work(SYNC_QUEUE, { pollingIntervalSeconds: 0.5 }, async () => {});
    assert.deepEqual(await readyz(endpoint), [200, "ready\n"]);
    stop.abort();
    assert.deepEqual(await readyz(endpoint), [503, "not ready: the worker is stopping\n"]);
  });
});

Deno.test("A worker whose queue polls fail is not ready", async () => {
  await withEndpoint(async ({ endpoint, boss, sql }) => {
    endpoint.polling(boss);
    await boss.work(SYNC_QUEUE, { pollingIntervalSeconds: 0.5 }, async () => {});
    assert.equal((await readyz(endpoint))[0], 200);
    await sql`drop schema ${sql(QUEUE_SCHEMA)} cascade`; // every fetch fails from now on
    let answer = await readyz(endpoint);
    for (let i = 0; i < 100 && answer[0] === 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      answer = await readyz(endpoint);
    }
    assert.deepEqual(answer, [503, "not ready: the queue's last poll failed\n"]);
  });
});

Deno.test("A worker is not ready while its database does not answer, naming it", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const boss = await openQueue(url, { supervise: false, poolSize: 2 });
    const sql = postgres("postgres://adsync@127.0.0.1:1/adsync", { max: 1, onnotice: () => {} });
    const endpoint = startWorkerEndpoint(workerConfig(["--http-port", "0"]), {
      workerId: "box-1",
      metrics: createWorkerMetrics("box-1", undefined),
      sql,
      label: "PostgreSQL at 127.0.0.1:1/adsync",
      signal: new AbortController().signal,
    })!;
    try {
      endpoint.polling(boss);
      await boss.work(SYNC_QUEUE, { pollingIntervalSeconds: 0.5 }, async () => {});
      assert.deepEqual(await readyz(endpoint), [
        503,
        "not ready: PostgreSQL at 127.0.0.1:1/adsync does not answer\n",
      ]);
    } finally {
      await endpoint.close();
      await boss.stop({ graceful: false, close: true });
      await sql.end();
    }
  });
});

Deno.test("A worker's /metrics carries its name and, once polled, the queue's jobs", async () => {
  await withEndpoint(async ({ endpoint, boss }) => {
    const unpolled = parsePrometheus(await (await fetch(`${endpoint.url}/metrics`)).text());
    assert.equal(valueOf(unpolled, "adsync_accounts_in_progress", { worker: "box-1" }), 0);
    assert.ok(!unpolled.some((s) => s.name === "adsync_queue_jobs"), "no queue counts yet");
    await enqueueAccounts(boss, ["acme", "globex"]);
    endpoint.polling(boss);
    const polled = parsePrometheus(await (await fetch(`${endpoint.url}/metrics`)).text());
    assert.equal(valueOf(polled, "adsync_queue_jobs", { worker: "box-1", state: "ready" }), 2);
    assert.equal(valueOf(polled, "adsync_queue_jobs", { state: "active" }), 0);
  });
});
