/**
 * End to end, on a real PostgreSQL server and the mock over HTTP (time-scaled: 10 requests a
 * second): the platform goes away for many windows under three workers and comes back on the
 * same port. The runs it cut end partial; their jobs are handed back with a start-after instead
 * of completed, and every account completes without an `enqueue`, no campaign synced twice but
 * those in flight when the platform went away.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createMockApi, type MockApiOptions } from "../../mock-api/server.ts";
import { logRecords, spawnSync, syncEntries, type SyncProcess, waitFor } from "./_cli.ts";
import { assertEveryAccountComplete, e2e, FAST_MOCK, ok, type Scenario } from "./_scenario.ts";

const ACCOUNTS = Array.from({ length: 6 }, (_, i) => `acct-${i + 1}`);
const PLATFORM: Partial<MockApiOptions> = { ...FAST_MOCK, campaigns: 50 };
/** How long the platform is away: eight of its windows. */
const OUTAGE_MS = 8_000;

/** The platform on a fixed port: stopped and started again, its state (tokens, windows) kept. */
function restartablePlatform() {
  const api = createMockApi(PLATFORM);
  let shutdown = new AbortController();
  const serve = (port: number) =>
    Deno.serve(
      { port, hostname: "127.0.0.1", signal: shutdown.signal, onListen: () => {} },
      (req) => api.handler(req).catch(() => new Response(null, { status: 499 })),
    );
  let server = serve(0);
  const port = server.addr.port;
  return {
    url: `http://127.0.0.1:${port}`,
    log: api.log,
    /** Stops listening; requests in flight are answered. */
    async stop() {
      shutdown.abort();
      await server.finished;
    },
    start() {
      shutdown = new AbortController();
      server = serve(port);
    },
    async close() {
      shutdown.abort();
      api.close();
      await server.finished;
    },
  };
}

async function workerEnv(s: Scenario): Promise<Record<string, string>> {
  const path = join(s.stateDir, "accounts.json");
  await Deno.writeTextFile(
    path,
    JSON.stringify({ accounts: ACCOUNTS.map((client_id) => ({ client_id })) }),
  );
  return {
    SYNC_ACCOUNTS_FILE: path,
    AD_PLATFORM_PAGE_SIZE: "10",
    SYNC_CONCURRENCY: "3",
    SYNC_MAX_ATTEMPTS: "2",
    SYNC_RETRY_BACKOFF: "10ms",
    // Every account runs at once: the outage cuts them all mid-run.
    SYNC_WORKER_ACCOUNTS: "2",
    SYNC_WORKER_HEARTBEAT: "10s",
    SYNC_SHUTDOWN_GRACE: "2s",
  };
}

/** Messages of every worker's log lines matching `pattern`. */
function logLines(workers: readonly SyncProcess[], pattern: RegExp): string[] {
  return workers.flatMap((w) => logRecords(w.stderr()).map((r) => String(r.message)))
    .filter((m) => pattern.test(m));
}

e2e(
  "A platform away for eight windows under three workers: every account completes without an enqueue, each campaign synced once but those in flight",
  { mock: PLATFORM },
  async (s) => {
    const platform = restartablePlatform();
    s.defer(() => platform.close());
    const env = await workerEnv(s);
    const sql = s.db!.sql;
    const enqueued = await spawnSync(s.env(env, platform.url), [], "enqueue").finished;
    assert.equal(enqueued.code, 0, enqueued.stderr);
    const workers = ["w1", "w2", "w3"].map((id) => {
      const worker = spawnSync(s.env({ ...env, SYNC_WORKER_ID: id }, platform.url), [], "worker");
      s.defer(async () => {
        if (!worker.exited()) worker.child.kill("SIGKILL");
        await worker.finished;
      });
      return worker;
    });

    // Every account mid-run: some campaigns synced, most not yet.
    const syncedBy = (client: string) =>
      syncEntries(platform.log).filter((e) => ok(e) && e.client === client).length;
    await waitFor(
      () => ACCOUNTS.every((a) => syncedBy(a) >= 5),
      "every account to have synced some campaigns",
      { timeoutMs: 60_000 },
    );
    const stoppedAt = Date.now();
    await platform.stop();
    await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
    platform.start();

    await waitFor(
      async () => {
        const [row] = await sql`select count(*) filter (where state = 'completed')::int as done
          from pgboss.job where name = 'adsync-account-sync'`;
        return row!.done === ACCOUNTS.length;
      },
      "every account's job completed",
      { timeoutMs: 120_000 },
    );
    await assertEveryAccountComplete(s, ACCOUNTS);
    const partial = logLines(
      workers,
      /handed back until .*: run partial \(\d+ campaigns? failed\)/,
    );
    assert.ok(partial.length > 0, "the outage left partial runs, handed back");
    assert.deepEqual(logLines(workers, /completed partial/), [], "none given up");
    const [failed] = await sql`select count(*)::int as n from pgboss.job
      where name = 'adsync-account-sync' and state = 'failed'`;
    assert.equal(failed!.n, 0);

    // A campaign synced twice had a sync in flight when the platform went away.
    const answers = new Map<string, { arrival: number; at: number }[]>();
    for (const entry of syncEntries(platform.log).filter(ok)) {
      const key = `${entry.client}/${entry.campaignId}`;
      answers.set(key, [
        ...(answers.get(key) ?? []),
        { arrival: entry.at - entry.latencyMs, at: entry.at },
      ]);
    }
    assert.equal(answers.size, ACCOUNTS.length * s.campaigns);
    const twice = [...answers].filter(([, list]) => list.length > 1);
    const notInFlight = twice.filter(([, list]) =>
      !list.some((a) => a.arrival < stoppedAt && a.at >= stoppedAt)
    );
    assert.deepEqual(notInFlight, [], "synced twice without being in flight at the outage");
    assert.ok(twice.length <= ACCOUNTS.length * 3, `synced twice: ${twice.length}`);
  },
);
