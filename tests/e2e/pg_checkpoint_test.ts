/**
 * A worker's account on the PostgreSQL checkpoint: killed midway, then taken over by fresh
 * objects (new pool, new checkpoint, new limiter) that know only what PostgreSQL holds.
 */
import assert from "node:assert/strict";
import { serveMockApi } from "../../mock-api/server.ts";
import { loadConfig } from "../../src/config.ts";
import { createHostGates } from "../../src/platform/host_gate.ts";
import type { Checkpoint } from "../../src/store/checkpoint.ts";
import { openDatabase } from "../../src/store/database.ts";
import { createDatabaseGuard } from "../../src/store/database_guard.ts";
import { migrate } from "../../src/store/migrations.ts";
import { openPgCheckpoint } from "../../src/store/pg_checkpoint.ts";
import { runAccount } from "../../src/sync/account_run.ts";
import { MOCK_CREDENTIALS } from "../_fixtures.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { createServerDatabase } from "../store/_helpers.ts";
import { waitFor } from "./_cli.ts";
import { createRunHistoryWriter } from "../../src/store/run_history_writer.ts";

const CAMPAIGNS = 30;

/** A checkpoint whose writes are lost once `dead` fires, as a process killed with -9 loses them. */
function dying(checkpoint: Checkpoint, dead: AbortSignal): Checkpoint {
  return new Proxy(checkpoint, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) =>
        dead.aborted ? Promise.reject(new Error("the process is dead")) : value.apply(target, args);
    },
  });
}

/** One process of a worker: its own pool, checkpoint and host gates on the shared database. */
async function startProcess(url: string, env: Record<string, string>, dead?: AbortSignal) {
  const config = loadConfig(env, ["sync", "--resume"]);
  const db = await openDatabase({ url, stateDir: "unused-by-server-tests" });
  const pg = openPgCheckpoint(db.sql, { where: db.label });
  const checkpoint = dead ? dying(pg, dead) : pg;
  const guard = createDatabaseGuard(db.label, { signal: dead });
  const hostGates = createHostGates();
  const runs = createRunHistoryWriter(db.sql, guard);
  const shared = { config, sql: db.sql, guard, checkpoint, hostGates, runs };
  return { config, db, checkpoint: pg, shared };
}

Deno.test("A killed account on the PostgreSQL checkpoint resumes in a new process exactly, with no 429", async () => {
  const database = await createServerDatabase(TEST_SERVER_URL);
  const mock = serveMockApi({
    rateLimit: { count: 10, windowMs: 2_000 },
    errorRate: 0,
    hangRate: 0,
    syncDelayMs: 100,
    campaigns: CAMPAIGNS,
    seed: 3,
  });
  const env = {
    AD_PLATFORM_API_URL: mock.url,
    AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
    AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
    AD_PLATFORM_CLIENT_ID: "acme",
    AD_PLATFORM_RATE_LIMIT: "10/2s",
    AD_PLATFORM_PAGE_SIZE: "10",
    SYNC_STATE_DIR: "unused-by-server-tests",
  };
  const closers: (() => Promise<void>)[] = [];
  try {
    const kill = new AbortController();
    const first = await startProcess(database.url, env, kill.signal);
    closers.push(() => (first.shared.hostGates.close(), first.db.close()));
    await migrate(first.db.sql);
    const plan = first.config.plans[0]!;
    const running = await runAccount(plan, {
      ...first.shared,
      signal: kill.signal,
      wireSignal: kill.signal,
    });
    const { runId } = running;
    await waitFor(
      async () => runId !== "" && (await first.checkpoint.progress(runId)).synced >= 12,
      "12 campaigns committed by the first process",
    );
    kill.abort(new Error("kill -9"));
    await running.done;
    const killedAt = mock.log.length;
    // What the dead process left in PostgreSQL, as the next one will find it.
    const left = await first.checkpoint.getRun(runId);
    assert.equal(left?.status, "running", "a killed process never closes its run");
    const committed = new Set((await first.checkpoint.done(runId)).keys());
    const recorded = new Set([
      ...committed,
      ...(await first.checkpoint.syncedPending(runId)).keys(),
    ]);
    const savedPages = new Set((await first.checkpoint.pages(runId)).map((p) => p.page));
    assert.ok(committed.size >= 12 && committed.size < CAMPAIGNS, "killed midway");

    const second = await startProcess(database.url, env);
    closers.push(() => (second.shared.hostGates.close(), second.db.close()));
    const { summary } = await (await runAccount(plan, second.shared)).done;

    assert.equal(summary.run_id, runId, "the second process resumed the same run");
    assert.equal(summary.status, "ok", summary.last_error ?? "");
    assert.equal(summary.skipped, committed.size);
    assert.equal(summary.synced + summary.skipped, CAMPAIGNS);
    const resumed = mock.log.slice(killedAt);
    const refetched = resumed.filter((e) => e.page !== undefined && savedPages.has(e.page));
    assert.deepEqual(refetched.map((e) => e.page), [], "no checkpointed page fetched again");
    const resynced = resumed.filter((e) => e.campaignId && recorded.has(e.campaignId));
    assert.deepEqual(resynced.map((e) => e.campaignId), [], "no recorded campaign synced again");
    const refused = mock.log.filter((e) => e.status === 429);
    assert.deepEqual(refused, [], "the new limiter started from the dead process's sends");
    const [row] = await second.db.sql`
      select count(*)::int as n from campaigns where account = 'acme' and deleted_at is null
    `;
    assert.equal(row?.n, CAMPAIGNS);
    assert.equal((await second.checkpoint.getRun(runId))?.status, "ok");
  } finally {
    for (const close of closers.reverse()) await close();
    await mock.close();
    await database.drop();
  }
});
