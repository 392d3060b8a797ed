/**
 * End to end, on a real PostgreSQL server and the mock over HTTP (time-scaled: 10 requests a
 * second): the platform throttles one account for long (a 429 whose Retry-After is many windows);
 * the worker stops that account's run resumably and hands its job back with a start-after,
 * `status` says when it comes back, the worker's one place goes to the other accounts
 * meanwhile, and the account's run later resumes and completes.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { RETRY_LIMIT } from "../../src/queue/queue.ts";
import { logRecords, spawnSync, type SyncProcess, waitFor } from "./_cli.ts";
import { assertEveryAccountComplete, e2e, explain, type Scenario } from "./_scenario.ts";

const SLOW = "acct-slow";
const OTHERS = ["acct-1", "acct-2", "acct-3", "acct-4", "acct-5"];
/** How long the platform refuses a client after a 429: 30 windows. */
const PENALTY_MS = 30_000;

/** Job log records of the worker: message, account, run and status, in order. */
function jobEvents(worker: SyncProcess) {
  return logRecords(worker.stderr()).flatMap((record) => {
    const message = String(record.message);
    const p = (record.properties ?? {}) as Record<string, unknown>;
    const kind = /^Job \S+ started/.test(message)
      ? "started"
      : /^Job \S+ ended/.test(message)
      ? "ended"
      : /^Job \S+: account \S+ handed back until/.test(message)
      ? "deferred"
      : undefined;
    if (!kind || typeof p.account !== "string") return [];
    return [{ kind, account: p.account, runId: p.run_id, status: p.status, until: p.until }];
  });
}

async function workerEnv(s: Scenario): Promise<Record<string, string>> {
  const path = join(s.stateDir, "accounts.json");
  const accounts = [SLOW, ...OTHERS].map((client_id) => ({ client_id }));
  await Deno.writeTextFile(path, JSON.stringify({ accounts }));
  return {
    SYNC_ACCOUNTS_FILE: path,
    AD_PLATFORM_PAGE_SIZE: "10",
    SYNC_CONCURRENCY: "3",
    // One place: an account asleep in it would keep every other account waiting.
    SYNC_WORKER_ACCOUNTS: "1",
    SYNC_WORKER_HEARTBEAT: "10s",
    SYNC_SHUTDOWN_GRACE: "2s",
  };
}

e2e(
  "An account throttled for long is handed back with a start-after; the worker goes on with the others, and it completes later",
  {
    mock: {
      campaigns: 10,
      // acct-slow's platform limit is 10 per 3 s while the worker paces it at 10 a second: its
      // eleventh request meets a 429, and the penalty makes the wait asked 30 s.
      clientRateLimits: { [SLOW]: { count: 10, windowMs: 3_000 } },
      penaltyMs: PENALTY_MS,
    },
  },
  async (s) => {
    const env = await workerEnv(s);
    const sql = s.db!.sql;
    const enqueued = await spawnSync(s.env(env), [], "enqueue").finished;
    assert.equal(enqueued.code, 0, explain(enqueued));

    const worker = spawnSync(s.env({ ...env, SYNC_WORKER_ID: "w1" }), [], "worker");
    s.defer(async () => {
      if (!worker.exited()) worker.child.kill("SIGKILL");
      await worker.finished;
    });

    // The throttled account is handed back, its run interrupted (resumable), not failed.
    const deferred = await waitFor(
      () => jobEvents(worker).find((e) => e.kind === "deferred"),
      "acct-slow to be handed back for later",
      { process: worker, timeoutMs: 60_000 },
    );
    assert.equal(deferred.account, SLOW);
    const [job] = await sql`select state::text, start_after > now() as later, retry_limit
      from pgboss.job where name = 'adsync-account-sync' and singleton_key = ${SLOW}`;
    assert.deepEqual(
      [job!.state, job!.later, job!.retry_limit],
      ["retry", true, RETRY_LIMIT + 1],
      "due later, its try not spent",
    );

    // status says when it comes back.
    const status = await spawnSync(s.env(env), [], "status").finished;
    assert.equal(status.code, 0, explain(status));
    const line = status.stdout.split("\n").find((l) => l.startsWith(SLOW)) ?? "";
    const shown = String(deferred.until).slice(11, 19);
    assert.match(line, new RegExp(`deferred until ${shown}Z`), status.stdout);

    // It comes back and completes, resuming the run it stopped.
    await waitFor(
      async () => {
        const [row] = await sql`select count(*) filter (where state = 'completed')::int as done
          from pgboss.job where name = 'adsync-account-sync'`;
        return row!.done === 1 + OTHERS.length;
      },
      "every account's job completed",
      { process: worker, timeoutMs: PENALTY_MS + 60_000 },
    );
    await assertEveryAccountComplete(s, [SLOW, ...OTHERS].sort());
    const events = jobEvents(worker);
    const slowEnds = events.filter((e) => e.account === SLOW && e.kind === "ended");
    assert.deepEqual(slowEnds.map((e) => e.status), ["interrupted", "ok"]);
    assert.equal(slowEnds[0]!.runId, slowEnds[1]!.runId, "the same run, resumed");

    // Its one place went to the others while it was away: each ended before it came back.
    const slowStarts = events.flatMap((e, i) =>
      e.account === SLOW && e.kind === "started" ? [i] : []
    );
    assert.equal(slowStarts.length, 2, "started, then again after its start-after");
    const othersEnded = events.flatMap((e, i) =>
      e.kind === "ended" && e.account !== SLOW && e.status === "ok" ? [i] : []
    );
    assert.equal(othersEnded.length, OTHERS.length);
    assert.ok(othersEnded.every((i) => i < slowStarts[1]!), JSON.stringify(events));

    // Only the throttled account met 429s.
    const refused = new Set(s.mock.log.filter((e) => e.status === 429).map((e) => e.client));
    assert.deepEqual([...refused], [SLOW]);
  },
);

e2e(
  "An account whose login finds no platform is handed back with a start-after, its tries not spent",
  {},
  async (s) => {
    const env = await workerEnv(s);
    const sql = s.db!.sql;
    // A port nobody listens on: every login attempt is refused at once.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const down = `http://127.0.0.1:${listener.addr.port}`;
    listener.close();
    const extra = { ...env, SYNC_MAX_ATTEMPTS: "2", SYNC_RETRY_BACKOFF: "10ms" };
    const enqueued = await spawnSync(s.env(extra, down), ["--account", SLOW], "enqueue").finished;
    assert.equal(enqueued.code, 0, explain(enqueued));
    const worker = spawnSync(s.env({ ...extra, SYNC_WORKER_ID: "w1" }, down), [], "worker");
    s.defer(async () => {
      if (!worker.exited()) worker.child.kill("SIGKILL");
      await worker.finished;
    });
    // Handed back twice: after one window, then two (the platform stays down).
    const deferrals = await waitFor(
      () => {
        const found = jobEvents(worker).filter((e) => e.kind === "deferred");
        return found.length >= 2 && found;
      },
      "the account to be handed back twice",
      { process: worker, timeoutMs: 60_000 },
    );
    const messages = logRecords(worker.stderr()).map((r) => String(r.message))
      .filter((m) => / handed back until /.test(m));
    assert.match(messages[0]!, /login failed \(.*connection refused.*\); trying again in 1 s$/);
    assert.match(messages[1]!, /trying again in 2 s$/);
    assert.ok(deferrals.every((e) => e.account === SLOW));
    const ends = jobEvents(worker).filter((e) => e.kind === "ended");
    assert.ok(ends.every((e) => e.status === "interrupted"), JSON.stringify(ends));
    const [job] = await sql`select state::text, retry_limit - retry_count as left
      from pgboss.job where name = 'adsync-account-sync' and singleton_key = ${SLOW}`;
    assert.ok(["retry", "active"].includes(job!.state), job!.state);
    assert.ok(job!.left >= RETRY_LIMIT, `tries left: ${job!.left}`);
  },
);
