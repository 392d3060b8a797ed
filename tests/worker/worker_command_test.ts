/**
 * The worker command: its name and accounts at once, and the worker itself run in-process
 * against a real PostgreSQL server and the mock served over HTTP.
 */
import assert from "node:assert/strict";
import postgres from "postgres";
import { type ServedMockApi, serveMockApi } from "../../mock-api/server.ts";
import { type Config, loadConfig } from "../../src/config.ts";
import { ConfigError } from "../../src/errors.ts";
import { enqueueAccounts } from "../../src/queue/enqueue.ts";
import { openQueue, RETRY_LIMIT, SYNC_QUEUE } from "../../src/queue/queue.ts";
import { BYTES_PER_ACCOUNT } from "../../src/worker/worker_capacity.ts";
import { runWorkerCommand, workerAccountsOf, workerIdOf } from "../../src/worker/worker_command.ts";
import { CALM_MOCK, MOCK_CREDENTIALS } from "../_fixtures.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { withFreshServerDatabase } from "../store/_helpers.ts";

const GB = 2 ** 30;

/** The config of `adsync worker`, its accounts file of `accounts` client ids read from memory. */
function workerConfig(
  accounts: string[],
  vars: Record<string, string> = {},
): Readonly<Config> {
  const file = {
    defaults: { email: MOCK_CREDENTIALS.email, password_env: "AD_PLATFORM_PASSWORD" },
    accounts: accounts.map((id) => ({ client_id: id })),
  };
  return loadConfig(
    {
      AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
      DATABASE_URL: "postgres://adsync@db.test/adsync",
      SYNC_ACCOUNTS_FILE: "/etc/adsync/accounts.json",
      ...vars,
    },
    ["worker"],
    { readTextFile: () => JSON.stringify(file) },
  );
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `acct-${i + 1}`);

Deno.test("A worker is named by SYNC_WORKER_ID, or else by its host and process id", () => {
  assert.equal(workerIdOf(workerConfig(["acme"], { SYNC_WORKER_ID: "box-1" })), "box-1");
  assert.equal(workerIdOf(workerConfig(["acme"])), `${Deno.hostname()}-${Deno.pid}`);
});

Deno.test("A worker runs SYNC_WORKER_ACCOUNTS accounts at once when it is set, whatever the memory", () => {
  const config = workerConfig(ids(10), { SYNC_WORKER_ACCOUNTS: "3" });
  assert.equal(workerAccountsOf(config, 8 * GB), 3);
  assert.equal(workerAccountsOf(config, 0), 3);
});

Deno.test("Without SYNC_WORKER_ACCOUNTS a worker runs every account of its file that the memory holds", () => {
  assert.equal(workerAccountsOf(workerConfig(ids(7)), 8 * GB), 7, "all seven");
  // Half of 100 accounts' worth of memory: 50 accounts of the 600.
  assert.equal(workerAccountsOf(workerConfig(ids(600)), 100 * BYTES_PER_ACCOUNT), 50);
});

Deno.test("The worker refuses to start without DATABASE_URL: the queue lives in a server", async () => {
  const config = { ...workerConfig(["acme"]), databaseUrl: undefined };
  const error = await runWorkerCommand(config).catch((e) => e);
  assert.ok(error instanceof ConfigError, `got ${error}`);
  assert.equal(error.setting, "DATABASE_URL");
  assert.equal(error.message, "DATABASE_URL: is required for worker: the queue lives in a server");
});

interface Served {
  url: string;
  sql: postgres.Sql;
  mock: ServedMockApi;
  config: Readonly<Config>;
}

/** A fresh database with acme's job queued, a calm mock of a few campaigns, and the config. */
async function withQueuedJob(
  mockOptions: Parameters<typeof serveMockApi>[0],
  fn: (served: Served) => Promise<void>,
): Promise<void> {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const boss = await openQueue(url, { supervise: false, poolSize: 2 });
    try {
      assert.deepEqual(await enqueueAccounts(boss, ["acme"]), { queued: ["acme"], skipped: [] });
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
    const mock = serveMockApi({ ...CALM_MOCK, ...mockOptions });
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    const config = workerConfig(["acme"], {
      AD_PLATFORM_API_URL: mock.url,
      AD_PLATFORM_RATE_LIMIT: "100/1s",
      DATABASE_URL: url,
      SYNC_WORKER_ID: "w-test",
      SYNC_WORKER_HEARTBEAT: "10s",
    });
    try {
      await fn({ url, sql, mock, config });
    } finally {
      await sql.end();
      await mock.close();
    }
  });
}

/** Polls `check` every 100 ms until it holds; the test runner's own timeout bounds it. */
async function until(what: string, check: () => Promise<boolean>, ended: Promise<unknown>) {
  let ending: string | undefined;
  ended.then(() => ending = "returned", (error) => ending = `failed: ${error}`);
  while (!(await check())) {
    assert.equal(ending, undefined, `the worker ended before ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function jobOf(sql: postgres.Sql, account: string) {
  const [row] = await sql<
    { state: string; retry_count: number; retry_limit: number; output: Record<string, unknown> }[]
  >`select state::text as state, retry_count, retry_limit, output
    from pgboss.job where name = ${SYNC_QUEUE} and singleton_key = ${account}`;
  return row;
}

Deno.test("A worker runs a queued account's job to completion and returns once its stop signal fires", async () => {
  await withQueuedJob({ campaigns: 5, rateLimit: { count: 100, windowMs: 1_000 } }, async (s) => {
    const stop = new AbortController();
    const running = runWorkerCommand(s.config, { signal: stop.signal, pollMs: 500 });
    await until(
      "the job completed",
      async () => (await jobOf(s.sql, "acme"))?.state === "completed",
      running,
    );
    stop.abort();
    assert.deepEqual(await running, { worker: "w-test", jobs: 1 });
    const job = await jobOf(s.sql, "acme");
    assert.equal(job!.output.status, "ok");
    assert.equal(job!.output.synced, 5);
    assert.equal(job!.output.worker, "w-test");
    const [stored] = await s.sql<{ n: number }[]>`
      select count(*)::int as n from campaigns where account = 'acme'`;
    assert.equal(stored!.n, 5);
    assert.equal((await s.sql`select 1 from account_leases`).length, 0, "its lease released");
  });
});

Deno.test("A worker stopped mid-run hands its job back for immediate pickup, its try not spent", async () => {
  // Each campaign's sync takes a minute: the run is in progress when the stop comes.
  await withQueuedJob({ campaigns: 5, syncDelayMs: 60_000 }, async (s) => {
    const stop = new AbortController();
    const running = runWorkerCommand(s.config, { signal: stop.signal, pollMs: 500 });
    await until("the run sent a request", async () => {
      // The table comes with the worker's migrations.
      const [lease] = await s.sql`select holder from account_leases where account = 'acme'`
        .catch(() => []);
      return lease?.holder === "worker w-test" && s.mock.log.length > 0;
    }, running);
    assert.equal((await jobOf(s.sql, "acme"))!.state, "active");
    stop.abort();
    assert.deepEqual(await running, { worker: "w-test", jobs: 1 });
    const job = await jobOf(s.sql, "acme");
    assert.equal(job!.state, "retry");
    assert.deepEqual(job!.output, { handedBack: "worker w-test stopped" });
    assert.equal(
      job!.retry_limit - job!.retry_count,
      RETRY_LIMIT + 1,
      "as many tries as a new job",
    );
    const [due] = await s.sql<{ due: boolean }[]>`
      select start_after <= now() as due from pgboss.job
      where name = ${SYNC_QUEUE} and singleton_key = 'acme'`;
    assert.equal(due!.due, true, "due at once");
    assert.equal((await s.sql`select 1 from account_leases`).length, 0, "its lease released");
  });
});

Deno.test("A worker with more places than loops takes its jobs in batches, and runs every one of them", async () => {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const accounts = ["acme", "globex", "initech"];
    const boss = await openQueue(url, { supervise: false, poolSize: 2 });
    try {
      assert.deepEqual((await enqueueAccounts(boss, accounts)).queued, accounts);
    } finally {
      await boss.stop({ graceful: false, close: true });
    }
    const mock = serveMockApi({ ...CALM_MOCK, campaigns: 3 });
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    // 260 places: 130 loops of two jobs each (see fetchPlan).
    const config = workerConfig(accounts, {
      AD_PLATFORM_API_URL: mock.url,
      AD_PLATFORM_RATE_LIMIT: "100/1s",
      DATABASE_URL: url,
      SYNC_WORKER_ID: "w-batch",
      SYNC_WORKER_ACCOUNTS: "260",
      SYNC_WORKER_HEARTBEAT: "10s",
    });
    try {
      const stop = new AbortController();
      const running = runWorkerCommand(config, { signal: stop.signal, pollMs: 500 });
      const states = async () =>
        (await Promise.all(accounts.map((a) => jobOf(sql, a)))).map((j) => j?.state);
      await until(
        "every job completed",
        async () => (await states()).every((state) => state === "completed"),
        running,
      );
      stop.abort();
      assert.deepEqual(await running, { worker: "w-batch", jobs: 3 });
      const stored = await sql<{ account: string; n: number }[]>`
        select account, count(*)::int as n from campaigns group by account order by account`;
      assert.deepEqual(stored.map((row) => [row.account, row.n]), accounts.map((a) => [a, 3]));
    } finally {
      await sql.end();
      await mock.close();
    }
  });
});
