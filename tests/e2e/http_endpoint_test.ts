/**
 * End to end over HTTP: the real CLI (`worker`, `sync`) with `--http-port 0` against the mock;
 * its `/metrics` parsed as Prometheus text, `/healthz`, and `/readyz` turning unready while the
 * test's own PostgreSQL server is stopped and ready again once it is back.
 */
import assert from "node:assert/strict";
import { serveMockApi } from "../../mock-api/server.ts";
import { startPostgres } from "../_pg_server.ts";
import { parsePrometheus, type Sample, valueOf } from "../report/_prometheus.ts";
import {
  logRecords,
  removeDir,
  spawnSync,
  syncEnv,
  type SyncProcess,
  tempStateDir,
  waitFor,
} from "./_cli.ts";
import { explain, FAST_MOCK } from "./_scenario.ts";

/** How often, at most, a poll below asks again (every 100 ms). */
const TRIES = 600;

/** Asks `check` up to `tries` times, 100 ms apart, until it returns a value; fails naming `what`. */
async function poll<T>(
  what: string,
  check: () => Promise<T | undefined>,
  process: SyncProcess,
  tries = TRIES,
): Promise<T> {
  for (let i = 0; i < tries; i++) {
    // A refused connection: the process is ending (said below) or the try fails in the end.
    const value = await check().catch((error) => {
      if (!(error instanceof TypeError)) throw error;
    });
    if (value !== undefined) return value;
    if (process.exited()) assert.fail(`the process exited before ${what}:\n${process.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`no ${what} after ${tries} tries:\n${process.stderr()}`);
}

/** The endpoint's URL, from the process's log line. */
function endpointUrl(process: SyncProcess): Promise<string> {
  return waitFor(
    () => {
      const line = logRecords(process.stderr()).find((r) =>
        String(r.message).startsWith("Serving /metrics, /healthz and /readyz on ")
      );
      return (line?.properties as { url?: string } | undefined)?.url;
    },
    "the endpoint's address in the log",
    { process },
  );
}

/** Status and body of a GET. */
async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(`${url}/metrics`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await response.text());
}

/** `/readyz` until it answers `status`; returns the body. */
function readyzUntil(url: string, status: number, process: SyncProcess): Promise<string> {
  return poll(`/readyz ${status}`, async () => {
    const answer = await get(`${url}/readyz`);
    return answer.status === status ? answer.body : undefined;
  }, process);
}

Deno.test("A worker's endpoint serves its metrics, and /readyz follows its database down and up", async () => {
  const server = await startPostgres();
  const mock = serveMockApi({ ...FAST_MOCK, campaigns: 30 });
  const stateDir = await tempStateDir();
  const env = syncEnv({
    apiUrl: mock.url,
    stateDir,
    databaseUrl: server.url,
    rateLimit: "10/1000ms",
    extra: { SYNC_WORKER_ID: "box-1", SYNC_SHUTDOWN_GRACE: "2s", SYNC_HTTP_PORT: "0" },
  });
  let worker: SyncProcess | undefined;
  try {
    const enqueued = await spawnSync(env, ["--json"], "enqueue").finished;
    assert.equal(enqueued.code, 0, explain(enqueued));
    worker = spawnSync(env, [], "worker");
    const url = await endpointUrl(worker);
    assert.match(url, /^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    assert.deepEqual(await get(`${url}/healthz`), { status: 200, body: "ok\n" });

    // While the job runs: the account is in progress, labelled with the worker.
    const running = await poll("an account in progress", async () => {
      const samples = await scrape(url);
      return valueOf(samples, "adsync_accounts_in_progress") === 1 ? samples : undefined;
    }, worker);
    assert.ok(running.every((s) => s.labels.worker === "box-1"), "every series names the worker");
    assert.ok(valueOf(running, "adsync_requests_in_flight") >= 0);
    assert.ok(valueOf(running, "adsync_rate_limit_wait_seconds") >= 0);
    // The queue's jobs as they are at the scrape: the one job is running.
    assert.equal(valueOf(running, "adsync_queue_jobs", { state: "active" }), 1);
    assert.equal(valueOf(running, "adsync_queue_jobs", { state: "ready" }), 0);
    assert.equal(valueOf(running, "adsync_queue_jobs", { state: "deferred" }), 0);
    assert.equal(await readyzUntil(url, 200, worker), "ready\n");

    // Once it ended: its run's counters, and nothing in progress.
    const ended = await poll("the run's counters", async () => {
      const samples = await scrape(url);
      return samples.some((s) => s.name === "adsync_campaigns_synced") ? samples : undefined;
    }, worker);
    assert.equal(valueOf(ended, "adsync_campaigns_synced", { account: "default" }), 30);
    assert.equal(valueOf(ended, "adsync_run_status", { account: "default", status: "ok" }), 1);
    assert.equal(valueOf(ended, "adsync_rate_limited_total", { account: "default" }), 0);
    assert.equal(valueOf(ended, "adsync_last_run_rate_limited", { account: "default" }), 0);
    assert.ok(
      valueOf(ended, "adsync_requests_total", { account: "default", endpoint: "sync" }) > 0,
    );
    assert.equal(valueOf(ended, "adsync_accounts_in_progress"), 0);

    await server.stop({ mode: "fast" });
    const reason = await readyzUntil(url, 503, worker);
    assert.match(reason, /^not ready: /);
    assert.equal((await get(`${url}/healthz`)).status, 200, "the process still runs");
    await server.start();
    assert.equal(await readyzUntil(url, 200, worker), "ready\n");

    worker.child.kill("SIGTERM");
    const stopped = await worker.finished;
    assert.equal(stopped.code, 0, explain(stopped));
    await assert.rejects(fetch(`${url}/healthz`), TypeError, "the endpoint closed with the worker");
  } finally {
    if (worker && !worker.exited()) worker.child.kill("SIGKILL");
    await worker?.finished;
    await mock.close();
    await server.remove();
    await removeDir(stateDir);
  }
});

Deno.test("A sync's endpoint shows its account in progress and closes when the sync ends", async () => {
  const mock = serveMockApi({ ...FAST_MOCK, campaigns: 60 });
  const stateDir = await tempStateDir();
  const env = syncEnv({ apiUrl: mock.url, stateDir, rateLimit: "10/1000ms" });
  const sync = spawnSync(env, ["--json", "--http-port", "0"]);
  try {
    const url = await endpointUrl(sync);
    assert.deepEqual(await get(`${url}/healthz`), { status: 200, body: "ok\n" });
    assert.equal(await readyzUntil(url, 200, sync), "ready\n");
    const running = await poll("the account in progress", async () => {
      const samples = await scrape(url);
      return valueOf(samples, "adsync_accounts_in_progress") === 1 ? samples : undefined;
    }, sync);
    assert.ok(valueOf(running, "adsync_requests_in_flight") >= 0);
    assert.ok(running.every((s) => s.name !== "adsync_queue_jobs"), "a sync has no queue");
    const outcome = await sync.finished;
    assert.equal(outcome.code, 0, explain(outcome));
    await assert.rejects(fetch(`${url}/healthz`), TypeError, "the endpoint closed with the sync");
  } finally {
    if (!sync.exited()) sync.child.kill("SIGKILL");
    await sync.finished;
    await mock.close();
    await removeDir(stateDir);
  }
});
