/**
 * End to end: three `adsync worker` processes share a few accounts through the queue in a real
 * PostgreSQL of their own, on the mock over HTTP with short windows. One worker is killed with -9
 * right after a lease renewal, or the server is stopped for 6 s and started again mid-run: every
 * account completes, no job ends `failed`, no run is failed over while it is alive, no 429.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { type ServedMockApi, serveMockApi } from "../../mock-api/server.ts";
import { type PostgresServer, startPostgres } from "../_pg_server.ts";
import {
  logRecords,
  removeDir,
  spawnSync,
  syncEnv,
  type SyncProcess,
  tempStateDir,
  waitFor,
} from "./_cli.ts";
import { type Scenario } from "./_scenario.ts";
import { assertNo429 } from "./_scenario.ts";

const CAMPAIGNS = 30;
const WINDOW_MS = 3_000;
const ACCOUNTS = Array.from({ length: 6 }, (_, i) => `acct-${i + 1}`);

interface Workers {
  server: PostgresServer;
  sql: postgres.Sql;
  mock: ServedMockApi;
  start(id: string): SyncProcess;
  workers: Map<string, SyncProcess>;
}

/** A private server, the mock (10 requests per 3 s, no 503s or hangs) and the accounts file. */
async function withWorkers(fn: (w: Workers) => Promise<void>): Promise<void> {
  const server = await startPostgres();
  const mock = serveMockApi({
    rateLimit: { count: 10, windowMs: WINDOW_MS },
    syncDelayMs: 200,
    errorRate: 0,
    hangRate: 0,
    campaigns: CAMPAIGNS,
    seed: 3,
  });
  const stateDir = await tempStateDir();
  const sql = postgres(server.url, { max: 2, onnotice: () => {} });
  const workers = new Map<string, SyncProcess>();
  try {
    const accountsFile = join(stateDir, "accounts.json");
    await Deno.writeTextFile(
      accountsFile,
      JSON.stringify({ accounts: ACCOUNTS.map((id) => ({ client_id: id })) }),
    );
    const env = (extra: Record<string, string> = {}) =>
      syncEnv({
        apiUrl: mock.url,
        stateDir,
        databaseUrl: server.url,
        rateLimit: `10/${WINDOW_MS}ms`,
        extra: {
          SYNC_ACCOUNTS_FILE: accountsFile,
          AD_PLATFORM_PAGE_SIZE: "10",
          SYNC_WORKER_ACCOUNTS: "2",
          SYNC_WORKER_HEARTBEAT: "10s",
          SYNC_SHUTDOWN_GRACE: "2s",
          ...extra,
        },
      });
    const enqueued = await spawnSync(env(), ["--json"], "enqueue").finished;
    assert.equal(enqueued.code, 0, enqueued.stderr);
    await fn({
      server,
      sql,
      mock,
      workers,
      start(id) {
        const process = spawnSync(env({ SYNC_WORKER_ID: id }), [], "worker");
        workers.set(id, process);
        return process;
      },
    });
  } finally {
    for (const process of workers.values()) {
      if (!process.exited()) process.child.kill("SIGKILL");
      await process.finished;
    }
    await sql.end();
    await mock.close();
    await server.remove();
    await removeDir(stateDir);
  }
}

/** Waits until every account's job is completed, and says how the jobs ended. */
async function waitForJobs(w: Workers, process: SyncProcess): Promise<void> {
  await waitFor(
    async () => {
      const rows = await w.sql<{ state: string }[]>`
        select state::text as state from pgboss.job where name = 'adsync-account-sync'`
        .catch(() => []);
      assert.deepEqual(rows.filter((r) => r.state === "failed"), [], "no job ends failed");
      return rows.length === ACCOUNTS.length && rows.every((r) => r.state === "completed");
    },
    "every account's job completed",
    { process, timeoutMs: 150_000, intervalMs: 500 },
  );
}

/** Every account holds all its campaigns, each once. */
async function assertEveryAccountComplete(w: Workers): Promise<void> {
  const rows = await w.sql<{ account: string; rows: number; ids: number }[]>`
    select account, count(*)::int as rows, count(distinct id)::int as ids
    from campaigns group by account order by account`;
  assert.deepEqual(
    rows.map((r) => [r.account, r.rows, r.ids]),
    ACCOUNTS.map((id) => [id, CAMPAIGNS, CAMPAIGNS]),
  );
}

/** Each worker's "Job … started: account …" lines: account → workers that started it. */
function starts(w: Workers): Map<string, string[]> {
  const started = new Map<string, string[]>();
  for (const [id, process] of w.workers) {
    for (const record of logRecords(process.stderr())) {
      const account = (record.properties as { account?: string } | undefined)?.account;
      if (account && /^Job \S+ started/.test(String(record.message))) {
        started.set(account, [...started.get(account) ?? [], id]);
      }
    }
  }
  return started;
}

/** The mock's shape for assertNo429. */
function scenarioOf(w: Workers): Scenario {
  return { mock: w.mock, windowMs: WINDOW_MS } as Scenario;
}

Deno.test("A worker killed right after a lease renewal has its accounts taken over once each, none failed and no 429", async () => {
  await withWorkers(async (w) => {
    const w1 = w.start("w1");
    // w1 first, so that it holds accounts when it dies; then the two that take over.
    await waitFor(
      async () => {
        const [row] = await w.sql`select count(*)::int as n from account_leases
          where holder = 'worker w1'`.catch(() => [{ n: 0 }]);
        return row!.n >= 2;
      },
      "w1 to hold two accounts",
      { process: w1, timeoutMs: 60_000 },
    );
    const w2 = w.start("w2");
    w.start("w3");
    await waitFor(
      async () => {
        const [row] = await w.sql`select count(*)::int as n from campaigns`;
        return row!.n >= 15;
      },
      "some campaigns stored",
      { process: w1, timeoutMs: 60_000 },
    );
    // Right after a renewal: its lease then lapses a whole term after the kill, the job's
    // heartbeat up to half a term sooner (the timeline that used to spend the job's tries).
    const renewedAt = async () => {
      const [row] = await w.sql<{ at: Date | null }[]>`
        select max(expires_at) as at from account_leases where holder = 'worker w1'`;
      return row!.at?.getTime() ?? 0;
    };
    const before = await renewedAt();
    await waitFor(async () => (await renewedAt()) > before, "a lease renewal of w1", {
      process: w1,
      intervalMs: 5,
    });
    w1.child.kill("SIGKILL");
    assert.equal((await w1.finished).signal, "SIGKILL");
    const held = await w.sql<{ account: string }[]>`
      select account from account_leases where holder = 'worker w1'`;
    assert.ok(held.length > 0, "w1 died holding accounts");

    await waitForJobs(w, w2);
    await assertEveryAccountComplete(w);
    const started = starts(w);
    for (const { account } of held) {
      const after = (started.get(account) ?? []).filter((id) => id !== "w1");
      assert.equal(after.length, 1, `${account} of the dead worker taken over once: ${after}`);
    }
    assertNo429(scenarioOf(w), w.mock.log, "the workers");
  });
});

Deno.test("A 6 s PostgreSQL restart under three workers fails over no live run: every account completes, no 429", async () => {
  await withWorkers(async (w) => {
    const w1 = w.start("w1");
    w.start("w2");
    w.start("w3");
    await waitFor(
      async () => {
        const [row] = await w.sql`select count(*)::int as n from campaigns`.catch(() => [{ n: 0 }]);
        const [held] = await w.sql`select count(*)::int as n from account_leases`
          .catch(() => [{ n: 0 }]);
        return row!.n >= 20 && held!.n >= 4;
      },
      "the workers to be mid-run",
      { process: w1, timeoutMs: 90_000 },
    );
    const running = await w.sql<{ account: string }[]>`select account from account_leases`;
    await w.server.stop({ mode: "fast" });
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    await w.server.start();

    await waitForJobs(w, w1);
    await assertEveryAccountComplete(w);
    // A run failed over while alive would have been stopped and started again elsewhere.
    const started = starts(w);
    assert.deepEqual(
      ACCOUNTS.map((account) => [account, (started.get(account) ?? []).length]),
      ACCOUNTS.map((account) => [account, 1]),
      `each account started once (running at the restart: ${running.map((r) => r.account)})`,
    );
    for (const [id, process] of w.workers) {
      const interrupted = logRecords(process.stderr()).filter((r) =>
        /^Job \S+ ended interrupted/.test(String(r.message))
      );
      assert.deepEqual(interrupted, [], `${id} interrupted a run`);
      assert.ok(!process.exited(), `${id} is still running`);
    }
    assertNo429(scenarioOf(w), w.mock.log, "the workers");
  });
});
