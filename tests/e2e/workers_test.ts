/**
 * End to end: three `adsync worker` processes share 30 client accounts through the job queue in
 * a real PostgreSQL, over HTTP on the harsh mock (503s, hangs, two-second tokens); one is killed
 * with -9 and one stopped with SIGTERM mid-run, and the third finishes everything.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { MockApiOptions, MockRequestLogEntry } from "../../mock-api/server.ts";
import { basicAuth } from "../../src/platform/token_manager.ts";
import { MOCK_CREDENTIALS } from "../_fixtures.ts";
import { logRecords, spawnSync, syncEntries, type SyncProcess, waitFor } from "./_cli.ts";
import {
  assertEveryAccountComplete,
  assertNo429,
  e2e,
  explain,
  ok,
  type Scenario,
} from "./_scenario.ts";

/** The harsh platform, with few campaigns per account so that 30 accounts stay quick. */
const HARSH: Partial<MockApiOptions> = {
  rateLimit: { count: 10, windowMs: 1_000 },
  errorRate: 0.2,
  hangRate: 0.1,
  tokenTtlMs: 2_000,
  syncDelayMs: 200,
  campaigns: 10,
  seed: 9,
};

const ACCOUNTS = Array.from({ length: 30 }, (_, i) => `acct-${String(i + 1).padStart(2, "0")}`);

/** Requests one account may have in flight at once: the most a killed worker leaves unanswered. */
const CONCURRENCY = 5;

/** The workers' settings: short heartbeat and grace, two pages per account. */
async function workerEnv(s: Scenario): Promise<Record<string, string>> {
  const path = join(s.stateDir, "accounts.json");
  await Deno.writeTextFile(
    path,
    JSON.stringify({ accounts: ACCOUNTS.map((id) => ({ client_id: id })) }),
  );
  return {
    SYNC_ACCOUNTS_FILE: path,
    AD_PLATFORM_PAGE_SIZE: "5",
    SYNC_MAX_ATTEMPTS: "8",
    SYNC_CONCURRENCY: String(CONCURRENCY),
    SYNC_WORKER_ACCOUNTS: "3",
    SYNC_WORKER_HEARTBEAT: "10s",
    SYNC_SHUTDOWN_GRACE: "2s",
    // At debug level, so that the run below also proves no worker logs a credential or token.
    LOG_LEVEL: "debug",
  };
}

/** Starts a worker; all three share the scenario's environment, state dir included. */
function startWorker(s: Scenario, env: Record<string, string>, id: string): SyncProcess {
  const process = spawnSync(s.env({ ...env, SYNC_WORKER_ID: id }), [], "worker");
  s.defer(async () => {
    if (!process.exited()) process.child.kill("SIGKILL");
    await process.finished;
  });
  return process;
}

/** Accounts whose job the worker logged as started and not (yet) as ended. */
function accountsInProgress(worker: SyncProcess): Set<string> {
  const running = new Set<string>();
  for (const record of logRecords(worker.stderr())) {
    const message = String(record.message);
    const account = (record.properties as { account?: string } | undefined)?.account;
    if (!account) continue;
    if (/^Job \S+ started/.test(message)) running.add(account);
    if (/^Job \S+ ended/.test(message)) running.delete(account);
  }
  return running;
}

/** Successful sync answers per client and campaign. */
function syncAnswers(log: readonly MockRequestLogEntry[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const entry of syncEntries(log).filter(ok)) {
    const key = `${entry.client}/${entry.campaignId}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Rows stored per account, all accounts together. */
async function storedRows(s: Scenario): Promise<number> {
  const [row] = await s.db!.sql`select count(*)::int as n from campaigns`.catch(() => [{ n: 0 }]);
  return Number(row!.n);
}

e2e(
  "Three workers share thirty accounts; a killed and a stopped worker's accounts finish on the third, each campaign once",
  { mock: HARSH },
  async (s) => {
    const env = await workerEnv(s);
    const sql = s.db!.sql;

    // Enqueue twice before any worker runs: one job per account.
    const enqueue = (args: string[]) => spawnSync(s.env(env), args, "enqueue").finished;
    const once = await enqueue(["--json"]);
    assert.equal(once.code, 0, explain(once));
    assert.deepEqual(JSON.parse(once.stdout.trim().split("\n").at(-1)!).queued, ACCOUNTS);
    const twice = await enqueue(["--json"]);
    assert.equal(twice.code, 0, explain(twice));
    assert.deepEqual(JSON.parse(twice.stdout.trim().split("\n").at(-1)!), {
      queued: [],
      skipped: ACCOUNTS,
    });
    const [jobs] = await sql`select count(*)::int as n, count(distinct singleton_key)::int as keys
      from pgboss.job where name = 'adsync-account-sync'`;
    assert.deepEqual([jobs!.n, jobs!.keys], [30, 30], "one job per account");

    const w1 = startWorker(s, env, "w1");
    const w2 = startWorker(s, env, "w2");
    const w3 = startWorker(s, env, "w3");

    // kill -9 of w1 while it drives accounts with some campaigns committed.
    await waitFor(
      async () => accountsInProgress(w1).size > 0 && await storedRows(s) >= 40,
      "w1 to be mid-run",
      { process: w1, timeoutMs: 60_000 },
    );
    const killed = accountsInProgress(w1);
    w1.child.kill("SIGKILL");
    assert.equal((await w1.finished).signal, "SIGKILL");

    // SIGTERM of w2 while it drives accounts: it exits within the grace period (plus the
    // bounded close), handing its accounts back.
    await waitFor(() => accountsInProgress(w2).size > 0, "w2 to run an account", {
      process: w2,
      timeoutMs: 60_000,
    });
    const stopped = accountsInProgress(w2);
    w2.child.kill("SIGTERM");
    const w2End = await waitFor(
      () => w2.exited() && w2.finished,
      "w2 to exit within the grace period",
      { timeoutMs: 2_000 + 5_000 },
    );
    assert.equal(w2End.code, 0, explain(w2End));
    assert.match(w2End.stderr, /hands back the accounts in progress/);

    // Every account completes on the workers left, each campaign stored once under its account.
    await waitFor(
      async () => await storedRows(s) >= ACCOUNTS.length * s.campaigns,
      "every account's campaigns stored",
      { process: w3, timeoutMs: 90_000 },
    );
    await waitFor(
      async () => {
        const [row] = await sql`select count(*) filter (where state = 'completed')::int as done
        from pgboss.job where name = 'adsync-account-sync'`;
        return row!.done === ACCOUNTS.length;
      },
      "every account's job completed",
      { process: w3, timeoutMs: 30_000 },
    );
    await assertEveryAccountComplete(s, ACCOUNTS);
    const [count] = await sql`select count(*)::int as n from pgboss.job
      where name = 'adsync-account-sync'`;
    assert.equal(count!.n, ACCOUNTS.length, "still one job per account");

    // No campaign synced twice, beyond the requests in flight when a worker went away.
    const answers = syncAnswers(s.mock.log);
    for (const account of ACCOUNTS) {
      const again = [...answers].filter(([key, n]) => key.startsWith(`${account}/`) && n > 1)
        .reduce((sum, [, n]) => sum + n - 1, 0);
      const allowed = killed.has(account) || stopped.has(account) ? CONCURRENCY : 0;
      assert.ok(
        again <= allowed,
        `${account}: ${again} campaigns synced again (allowed ${allowed})`,
      );
    }
    assertNo429(s, s.mock.log, "the workers");

    // status, from the server: every account's latest run ok and its job done.
    const status = await spawnSync(s.env(env), ["--json"], "status").finished;
    assert.equal(status.code, 0, explain(status));
    const runs = JSON.parse(status.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>[];
    assert.deepEqual(
      runs.map((r) => [r.account, r.status, r.queue_state]),
      ACCOUNTS.map((id) => [id, "ok", "done"]),
    );
    const w3Log = logRecords(w3.stderr()).map((r) => String(r.message));
    assert.ok(
      [...killed].every((account) =>
        w3Log.some((m) => m.startsWith("Job") && m.includes(`account ${account}`))
      ),
      "the killed worker's accounts were taken over",
    );
    const basic = basicAuth(MOCK_CREDENTIALS);
    for (const worker of [w1, w2, w3]) {
      const output = worker.stdout() + worker.stderr();
      for (const secret of [MOCK_CREDENTIALS.password, basic.slice("Basic ".length)]) {
        assert.ok(!output.includes(secret), "a worker's output leaks the credentials");
      }
      assert.doesNotMatch(output, /mock_[0-9a-f]{32}/, "a worker's output leaks a bearer token");
    }
  },
);
