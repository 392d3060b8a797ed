/**
 * runAccountJob in-process against a real PostgreSQL server (pg-boss's queue in it) and the mock
 * served over HTTP, its context built as the worker command builds it.
 */
import assert from "node:assert/strict";
import type { PgBoss } from "pg-boss";
import postgres from "postgres";
import { type ServedMockApi, serveMockApi } from "../../mock-api/server.ts";
import { systemClock } from "../../src/clock.ts";
import { type Config, loadConfig } from "../../src/config.ts";
import { createHostGates } from "../../src/platform/host_gate.ts";
import { enqueueAccounts } from "../../src/queue/enqueue.ts";
import { openQueue, RETRY_LIMIT, SYNC_QUEUE } from "../../src/queue/queue.ts";
import { WORKER_HOLDER_PREFIX } from "../../src/queue/queue_state.ts";
import { takeLease } from "../../src/store/account_lease.ts";
import { createAccountLeases } from "../../src/store/lease_keeper.ts";
import { openPgCheckpoint } from "../../src/store/pg_checkpoint.ts";
import type { AccountOutcome } from "../../src/run_summary.ts";
import { openGuardedDatabase } from "../../src/sync/sync_command.ts";
import {
  type AccountJob,
  type AccountJobContext,
  runAccountJob,
} from "../../src/worker/account_job.ts";
import { CALM_MOCK, MOCK_CREDENTIALS } from "../_fixtures.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { withFreshServerDatabase } from "../store/_helpers.ts";
import { createRunHistoryWriter } from "../../src/store/run_history_writer.ts";

const WORKER = "w-test";
const CAMPAIGNS = 5;

/** A worker's config on `url` and the mock, its accounts file (acme, globex) read from memory. */
function workerConfig(url: string, apiUrl: string): Readonly<Config> {
  const accounts = {
    defaults: { email: MOCK_CREDENTIALS.email, password_env: "AD_PLATFORM_PASSWORD" },
    accounts: [{ client_id: "acme" }, { client_id: "globex" }],
  };
  return loadConfig(
    {
      AD_PLATFORM_API_URL: apiUrl,
      AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
      AD_PLATFORM_RATE_LIMIT: "100/1s",
      DATABASE_URL: url,
      SYNC_ACCOUNTS_FILE: "/etc/adsync/accounts.json",
      SYNC_WORKER_ID: WORKER,
    },
    ["worker"],
    { readTextFile: () => JSON.stringify(accounts) },
  );
}

interface Setup {
  boss: PgBoss;
  sql: postgres.Sql;
  mock: ServedMockApi;
  context: AccountJobContext;
  outcomes: AccountOutcome[];
}

/**
 * A fresh database with its queue, a calm mock of a few campaigns, and the context the worker
 * command would give its jobs.
 */
async function withJobContext(fn: (setup: Setup) => Promise<void>): Promise<void> {
  await withFreshServerDatabase(TEST_SERVER_URL, async (url) => {
    const mock = serveMockApi({
      ...CALM_MOCK,
      campaigns: CAMPAIGNS,
      rateLimit: { count: 100, windowMs: 1_000 },
    });
    const config = workerConfig(url, mock.url);
    const { db, guard } = await openGuardedDatabase(config, {
      url,
      poolSize: 4,
      clock: systemClock,
    });
    const boss = await openQueue(url, { heartbeatMs: 10_000, supervise: false, poolSize: 2 });
    const sql = postgres(url, { max: 2, onnotice: () => {} });
    const outcomes: AccountOutcome[] = [];
    const hostGates = createHostGates({ maxInFlight: config.maxInFlight });
    try {
      const context: AccountJobContext = {
        boss,
        workerId: WORKER,
        accounts: new Map(config.accounts.map((a) => [a.clientId, a])),
        run: {
          config,
          sql: db.sql,
          guard,
          checkpoint: openPgCheckpoint(db.sql, { where: db.label, guard }),
          checkpointInServer: true,
          hostGates,
          runs: createRunHistoryWriter(db.sql, guard),
          leases: createAccountLeases(db.sql, guard, {
            holder: `${WORKER_HOLDER_PREFIX}${WORKER}`,
            ttlMs: config.workerHeartbeatMs,
          }),
          clock: systemClock,
          signal: new AbortController().signal,
        },
        lockRetryMs: config.workerHeartbeatMs,
        onOutcome: (outcome) => {
          outcomes.push(outcome);
        },
      };
      await fn({ boss, sql, mock, context, outcomes });
    } finally {
      hostGates.close();
      await sql.end();
      await boss.stop({ graceful: false, close: true });
      await db.close();
      await mock.close();
    }
  });
}

/** Queues `account` and claims its job as the worker does (with its metadata). */
async function claimJobOf(boss: PgBoss, account: string): Promise<AccountJob> {
  await enqueueAccounts(boss, [account]);
  const [job] = await boss.fetch<{ account: string }>(SYNC_QUEUE, { includeMetadata: true });
  assert.ok(job, `the job of ${account} is due`);
  assert.equal(job.data.account, account);
  return { ...job, signal: new AbortController().signal };
}

interface JobRow {
  state: string;
  retry_count: number;
  retry_limit: number;
  output: Record<string, unknown> | null;
}

async function jobRow(sql: postgres.Sql, account: string): Promise<JobRow> {
  const [row] = await sql<JobRow[]>`
    select state::text as state, retry_count, retry_limit, output
    from pgboss.job where name = ${SYNC_QUEUE} and singleton_key = ${account}`;
  assert.ok(row, `a job of ${account}`);
  return row;
}

Deno.test("A job whose account another holder leases is handed back until that lease lapses, its try not spent", async () => {
  await withJobContext(async ({ boss, sql, mock, context, outcomes }) => {
    const other = await takeLease(sql, "acme", { holder: "worker other", ttlMs: 120_000 });
    assert.ok("token" in other, "the other holder takes the lease");
    const job = await claimJobOf(boss, "acme");

    assert.equal(await runAccountJob(job, context), undefined);

    const row = await jobRow(sql, "acme");
    assert.equal(row.state, "retry");
    assert.deepEqual(row.output, { handedBack: "account driven by worker other" });
    assert.equal(row.retry_limit, RETRY_LIMIT + 1, "the retry limit raised by the claim's try");
    assert.equal(row.retry_limit - row.retry_count, RETRY_LIMIT + 1, "as many tries as a new job");
    // Due when the lease lapses, by the database's clock (to the millisecond the lease reports).
    const [due] = await sql<{ gap_ms: number; ahead_ms: number }[]>`
      select abs(extract(epoch from j.start_after - l.expires_at) * 1000)::float8 as gap_ms,
        (extract(epoch from j.start_after - now()) * 1000)::float8 as ahead_ms
      from pgboss.job j, account_leases l
      where j.name = ${SYNC_QUEUE} and j.singleton_key = 'acme' and l.account = 'acme'`;
    assert.ok(due!.gap_ms < 1, `due ${due!.gap_ms} ms off the lease's expiry`);
    assert.ok(due!.ahead_ms > 0, "not due yet");
    assert.deepEqual(await boss.fetch(SYNC_QUEUE), [], "no worker can claim it before then");
    const [lease] = await sql`select holder, token from account_leases where account = 'acme'`;
    assert.deepEqual(
      { ...lease },
      { holder: "worker other", token: other.token },
      "lease untouched",
    );
    assert.deepEqual(outcomes, [], "no run");
    assert.equal(mock.log.length, 0, "no request reached the platform");
  });
});

Deno.test("An ok run completes its job with the run's summary as output and releases the lease", async () => {
  await withJobContext(async ({ boss, sql, context, outcomes }) => {
    const job = await claimJobOf(boss, "acme");

    await runAccountJob(job, context);

    assert.equal(outcomes.length, 1);
    const summary = outcomes[0]!.summary;
    assert.equal(summary.status, "ok");
    assert.equal(summary.synced, CAMPAIGNS);
    const row = await jobRow(sql, "acme");
    assert.equal(row.state, "completed");
    assert.deepEqual(row.output, JSON.parse(JSON.stringify({ ...summary, worker: WORKER })));
    assert.equal(row.output!.status, "ok");
    assert.equal(row.output!.account, "acme");
    const [stored] = await sql<{ n: number }[]>`
      select count(*)::int as n from campaigns where account = 'acme'`;
    assert.equal(stored!.n, CAMPAIGNS, "every campaign stored");
    const leases = await sql`select account from account_leases`;
    assert.equal(leases.length, 0, "the lease released");
  });
});

Deno.test("A job for an account not in the accounts file fails with a message naming the account", async () => {
  await withJobContext(async ({ boss, sql, mock, context, outcomes }) => {
    const job = await claimJobOf(boss, "initech");

    await runAccountJob(job, context);

    const row = await jobRow(sql, "initech");
    assert.equal(row.state, "retry", "failed this try; pg-boss retries it");
    assert.equal(row.retry_limit, RETRY_LIMIT, "the try is spent: the limit is not raised");
    assert.deepEqual(row.output, {
      error: `Cannot run account initech: it is not in the accounts file of worker ${WORKER}`,
    });
    assert.deepEqual(outcomes, [], "no run");
    assert.equal(mock.log.length, 0, "no request reached the platform");
    const leases = await sql`select account from account_leases`;
    assert.equal(leases.length, 0, "no lease taken");
  });
});

Deno.test("A job taken while the worker is stopping is handed back at once, its try not spent", async () => {
  await withJobContext(async ({ boss, sql, context, outcomes }) => {
    const job = await claimJobOf(boss, "acme");
    const stop = new AbortController();
    stop.abort();

    await runAccountJob(job, { ...context, run: { ...context.run, signal: stop.signal } });

    const row = await jobRow(sql, "acme");
    assert.equal(row.state, "retry");
    assert.deepEqual(row.output, { handedBack: `worker ${WORKER} is stopping` });
    assert.equal(row.retry_limit - row.retry_count, RETRY_LIMIT + 1, "as many tries as a new job");
    assert.equal((await boss.fetch(SYNC_QUEUE)).length, 1, "due at once");
    assert.deepEqual(outcomes, [], "no run");
  });
});
