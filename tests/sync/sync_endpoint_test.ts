import assert from "node:assert/strict";
import postgres from "postgres";
import { type Config, loadConfig } from "../../src/config.ts";
import type { LiveAccount } from "../../src/report/live_metrics.ts";
import type { AccountOutcome } from "../../src/run_summary.ts";
import type { ProgressSnapshot } from "../../src/report/progress.ts";
import { startSyncEndpoint } from "../../src/sync/sync_endpoint.ts";
import { MOCK_CREDENTIALS, RUN_SUMMARY } from "../_fixtures.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { parsePrometheus, valueOf } from "../report/_prometheus.ts";

const ENV = {
  AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
  AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
};

/** The config of `adsync sync [args]`. */
const syncConfig = (args: string[] = []): Readonly<Config> => loadConfig(ENV, ["sync", ...args]);

const PROGRESS: ProgressSnapshot = {
  pagesDone: 1,
  pagesTotal: 10,
  campaignsDone: 4,
  campaignsTotal: 100,
  inFlight: 3,
  rateWaitMs: 2_500,
  retries: 0,
  etaMs: null,
};

const FINISHED: AccountOutcome = {
  account: "globex",
  summary: { ...RUN_SUMMARY, duration_ms: 42_000 },
  requests: [{ endpoint: "sync", status: "200", count: 100 }],
  lastSuccessUnix: 1_700_000_000,
};

/** A pool on a port nothing listens on: every query is refused at once. */
const unreachable = () =>
  postgres("postgres://adsync@127.0.0.1:1/adsync", { max: 1, onnotice: () => {} });

Deno.test("The sync serves no endpoint unless --http-port is set", async () => {
  const sql = unreachable();
  try {
    const endpoint = startSyncEndpoint(syncConfig(), {
      accounts: () => [],
      finished: () => [],
      sql,
      label: "PostgreSQL at 127.0.0.1:1/adsync",
    });
    assert.equal(endpoint, undefined);
  } finally {
    await sql.end();
  }
});

Deno.test("The sync's /metrics shows its accounts in progress and the runs ended so far", async () => {
  const sql = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} });
  const accounts: LiveAccount[] = [
    { running: true, snapshot: () => PROGRESS },
    { running: true }, // still logging in
    { running: false, snapshot: () => PROGRESS }, // ended: counted among the finished
  ];
  const finished: AccountOutcome[] = [];
  const endpoint = startSyncEndpoint(syncConfig(["--http-port", "0"]), {
    accounts: () => accounts,
    finished: () => finished,
    sql,
    label: "the test server",
  });
  assert.ok(endpoint);
  try {
    assert.match(endpoint.url, /^http:\/\/127\.0\.0\.1:\d+$/, "on localhost by default");
    const before = parsePrometheus(await (await fetch(`${endpoint.url}/metrics`)).text());
    assert.equal(valueOf(before, "adsync_accounts_in_progress"), 2);
    assert.equal(valueOf(before, "adsync_requests_in_flight"), 3);
    assert.equal(valueOf(before, "adsync_rate_limit_wait_seconds"), 2.5);
    finished.push(FINISHED);
    const after = parsePrometheus(await (await fetch(`${endpoint.url}/metrics`)).text());
    assert.equal(valueOf(after, "adsync_run_duration_seconds", { account: "globex" }), 42);
  } finally {
    await endpoint.close();
    await sql.end();
  }
});

Deno.test("The sync's /readyz is ready while its database answers", async () => {
  const sql = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} });
  const endpoint = startSyncEndpoint(syncConfig(["--http-port", "0"]), {
    accounts: () => [],
    finished: () => [],
    sql,
    label: "the test server",
  })!;
  try {
    const response = await fetch(`${endpoint.url}/readyz`);
    assert.deepEqual([response.status, await response.text()], [200, "ready\n"]);
  } finally {
    await endpoint.close();
    await sql.end();
  }
});

Deno.test("The sync's /readyz names the database that does not answer, and /healthz still answers", async () => {
  const sql = unreachable();
  const endpoint = startSyncEndpoint(syncConfig(["--http-port", "0"]), {
    accounts: () => [],
    finished: () => [],
    sql,
    label: "PostgreSQL at 127.0.0.1:1/adsync",
  })!;
  try {
    const response = await fetch(`${endpoint.url}/readyz`);
    assert.deepEqual([response.status, await response.text()], [
      503,
      "not ready: PostgreSQL at 127.0.0.1:1/adsync does not answer\n",
    ]);
    const health = await fetch(`${endpoint.url}/healthz`);
    assert.deepEqual([health.status, await health.text()], [200, "ok\n"]);
  } finally {
    await endpoint.close();
    await sql.end();
  }
});
