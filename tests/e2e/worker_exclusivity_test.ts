/**
 * End to end, on real PostgreSQL servers and the mock over HTTP (time-scaled: 10 requests a
 * second): workers ride out a server restart longer than their heartbeat, a `sync` and a worker
 * never drive one account together, and SIGHUP stops both gracefully.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { type ServedMockApi, serveMockApi } from "../../mock-api/server.ts";
import type { MockRequestLogEntry } from "../../mock-api/options.ts";
import { startPostgres } from "../_pg_server.ts";
import {
  lastJsonLine,
  logRecords,
  removeDir,
  spawnSync,
  syncEntries,
  syncEnv,
  type SyncProcess,
  tempStateDir,
  waitFor,
} from "./_cli.ts";
import { explain, FAST_MOCK } from "./_scenario.ts";

const CAMPAIGNS = 40;
/** Requests one account may have in flight: the most a run can leave unanswered when stopped. */
const CONCURRENCY = 3;

interface Fleet {
  mock: ServedMockApi;
  env: Record<string, string>;
  sql: postgres.Sql;
  start(command: string, args?: string[], extra?: Record<string, string>): SyncProcess;
}

/** A server of its own, the mock, an accounts file of `accounts`, and the processes' cleanup. */
async function withFleet(
  accounts: readonly string[],
  fn: (fleet: Fleet, server: Awaited<ReturnType<typeof startPostgres>>) => Promise<void>,
): Promise<void> {
  const server = await startPostgres();
  const mock = serveMockApi({ ...FAST_MOCK, campaigns: CAMPAIGNS });
  const stateDir = await tempStateDir();
  const file = join(stateDir, "accounts.json");
  await Deno.writeTextFile(
    file,
    JSON.stringify({ accounts: accounts.map((client_id) => ({ client_id })) }),
  );
  const env = syncEnv({
    apiUrl: mock.url,
    stateDir,
    databaseUrl: server.url,
    extra: {
      SYNC_ACCOUNTS_FILE: file,
      AD_PLATFORM_PAGE_SIZE: "10",
      SYNC_CONCURRENCY: String(CONCURRENCY),
      SYNC_WORKER_ACCOUNTS: "3",
      SYNC_WORKER_HEARTBEAT: "10s",
      SYNC_SHUTDOWN_GRACE: "2s",
    },
  });
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  const processes: SyncProcess[] = [];
  try {
    await fn({
      mock,
      env,
      sql,
      start(command, args = [], extra = {}) {
        const process = spawnSync({ ...env, ...extra }, args, command);
        processes.push(process);
        return process;
      },
    }, server);
  } finally {
    for (const process of processes) {
      if (!process.exited()) process.child.kill("SIGKILL");
      await process.finished;
    }
    await sql.end({ timeout: 1 }).catch(() => {});
    await mock.close();
    await server.remove();
    await removeDir(stateDir);
  }
}

/** Queries that meet the restarting server are retried. */
async function query<T>(fn: () => Promise<T>): Promise<T | undefined> {
  return await fn().catch(() => undefined);
}

async function jobsCompleted(sql: postgres.Sql): Promise<number> {
  const [row] = await sql`select count(*) filter (where state = 'completed')::int as n
    from pgboss.job where name = 'adsync-account-sync'`;
  return Number(row!.n);
}

async function storedPerAccount(sql: postgres.Sql): Promise<Map<string, number>> {
  const rows = await sql`select account, count(*)::int as n from campaigns group by account`;
  return new Map(rows.map((row) => [String(row.account), Number(row.n)]));
}

/** Accounts whose job the worker logged as started and not (yet) as ended. */
function inProgress(worker: SyncProcess): Set<string> {
  const running = new Set<string>();
  for (const record of logRecords(worker.stderr())) {
    const account = (record.properties as { account?: string } | undefined)?.account;
    if (!account) continue;
    if (/^Job \S+ started/.test(String(record.message))) running.add(account);
    if (/^Job \S+ ended/.test(String(record.message))) running.delete(account);
  }
  return running;
}

/** How many times each campaign was synced beyond once, per account; and the 429s. */
function repeats(log: readonly MockRequestLogEntry[]) {
  const counts = new Map<string, number>();
  for (const entry of syncEntries(log).filter((e) => e.status === 200)) {
    const key = `${entry.client}/${entry.campaignId}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const again = new Map<string, number>();
  for (const [key, n] of counts) {
    const account = key.split("/")[0]!;
    again.set(account, (again.get(account) ?? 0) + n - 1);
  }
  return { again, rateLimited: log.filter((e) => e.status === 429).length };
}

Deno.test("Workers ride out a PostgreSQL restart longer than their heartbeat: all alive, every job settled, every account once, no 429", async () => {
  const accounts = ["r1", "r2", "r3", "r4", "r5", "r6"];
  await withFleet(accounts, async (fleet, server) => {
    assert.equal((await fleet.start("enqueue").finished).code, 0);
    const workers = [
      fleet.start("worker", [], { SYNC_WORKER_ID: "w1" }),
      fleet.start("worker", [], {
        SYNC_WORKER_ID: "w2",
      }),
    ];
    await waitFor(
      async () => {
        const stored = await query(() => storedPerAccount(fleet.sql)) ?? new Map();
        return [...stored.values()].reduce((a, b) => a + b, 0) >= 30;
      },
      "campaigns stored before the restart",
      { process: workers[0] },
    );
    const caught = new Set(workers.flatMap((w) => [...inProgress(w)]));
    await server.stop({ mode: "fast" });
    await new Promise((resolve) => setTimeout(resolve, 12_000)); // longer than the 10 s heartbeat
    await server.start();

    await waitFor(
      async () => await query(() => jobsCompleted(fleet.sql)) === accounts.length,
      "every job completed",
      { timeoutMs: 120_000 },
    );
    for (const worker of workers) {
      assert.ok(!worker.exited(), `a worker died:\n${worker.stderr().slice(-3_000)}`);
    }
    assert.deepEqual(
      await storedPerAccount(fleet.sql),
      new Map(accounts.map((a) => [a, CAMPAIGNS])),
    );
    const { again, rateLimited } = repeats(fleet.mock.log);
    const limited = fleet.mock.log.filter((e) => e.status === 429);
    const said = (account: string) =>
      workers.flatMap((w) =>
        logRecords(w.stderr()).filter((r) =>
          (r.properties as { account?: string })?.account === account
        ).map((r) => `${r.timestamp} ${r.message}`)
      );
    assert.equal(
      rateLimited,
      0,
      `429s from the platform: ${JSON.stringify(limited)}\n${
        said(limited[0]?.client ?? "").join("\n")
      }\n` +
        JSON.stringify(
          fleet.mock.log.filter((e) => e.client === limited[0]?.client).map((
            e,
          ) => [e.at, e.status, e.path]),
        ),
    );
    for (const account of accounts) {
      const allowed = caught.has(account) ? CONCURRENCY : 0;
      assert.ok(
        (again.get(account) ?? 0) <= allowed,
        `${account} synced again: ${again.get(account)}`,
      );
    }
    for (const worker of workers) worker.child.kill("SIGTERM");
    for (const worker of workers) assert.equal((await worker.finished).code, 0);
    for (const worker of workers) {
      assert.doesNotMatch(
        worker.stderr(),
        /\[object Object\]|Uncaught|TypeError|Nothing to resume/,
      );
    }
  });
});

Deno.test("A sync started on an account a worker drives leaves it to the worker, which drives it once; SIGHUP stops the worker gracefully", async () => {
  await withFleet(["w01"], async (fleet) => {
    assert.equal((await fleet.start("enqueue").finished).code, 0);
    const worker = fleet.start("worker", [], { SYNC_WORKER_ID: "w1" });
    await waitFor(() => inProgress(worker).has("w01"), "the worker to drive w01", {
      process: worker,
    });
    const sync = await fleet.start("sync", ["--account", "w01", "--json"]).finished;
    assert.equal(sync.code, 1, explain(sync));
    assert.equal(lastJsonLine(sync.stdout).status, "failed");
    assert.match(
      sync.stderr,
      /^adsync: Cannot drive account w01: worker w1 drives it now; not started$/m,
    );

    await waitFor(async () => await jobsCompleted(fleet.sql) === 1, "the job completed", {
      process: worker,
    });
    const { again, rateLimited } = repeats(fleet.mock.log);
    assert.equal(again.get("w01"), 0, "a campaign synced twice");
    assert.equal(syncEntries(fleet.mock.log).filter((e) => e.status === 200).length, CAMPAIGNS);
    assert.equal(rateLimited, 0);

    worker.child.kill("SIGHUP");
    const end = await worker.finished;
    assert.equal(end.code, 0, explain(end));
    assert.match(end.stderr, /SIGHUP: worker stops taking jobs/);
  });
});

Deno.test("SIGHUP stops a sync gracefully: exit 129, its checkpoint saved, --resume finishes", async () => {
  await withFleet(["h1"], async (fleet) => {
    const sync = fleet.start("sync", ["--json"]);
    await waitFor(
      async () => ((await query(() => storedPerAccount(fleet.sql)))?.get("h1") ?? 0) >= 5,
      "commits",
      {
        process: sync,
      },
    );
    sync.child.kill("SIGHUP");
    const stopped = await sync.finished;
    assert.equal(stopped.code, 129, explain(stopped));
    const summary = lastJsonLine(stopped.stdout);
    assert.equal(summary.status, "interrupted");
    assert.match(stopped.stderr, /adsync: SIGHUP: finishing requests in flight/);
    const resumed = await fleet.start("sync", ["--resume", "--json"]).finished;
    assert.equal(resumed.code, 0, explain(resumed));
    assert.equal(lastJsonLine(resumed.stdout).run_id, summary.run_id);
    assert.equal((await storedPerAccount(fleet.sql)).get("h1"), CAMPAIGNS);
  });
});
