import assert from "node:assert/strict";
import { createAccount } from "../../src/platform/account.ts";
import { join } from "node:path";
import postgres from "postgres";
import { loadConfig } from "../../src/config.ts";
import { createHostGates } from "../../src/platform/host_gate.ts";
import { openCheckpoint } from "../../src/store/checkpoint.ts";
import { createDatabaseGuard } from "../../src/store/database_guard.ts";
import { progressSnapshot, runAccount } from "../../src/sync/account_run.ts";
import type { SyncProgress } from "../../src/sync/tally.ts";
import { configureLogging, resetLogging } from "../../src/report/logging.ts";
import { createFakeClock } from "../_fake_clock.ts";
import { MOCK_CREDENTIALS } from "../_fixtures.ts";
import { createRunHistoryWriter } from "../../src/store/run_history_writer.ts";

const progress: SyncProgress = {
  total: 100,
  pagesTotal: 10,
  pagesDone: 10,
  synced: 40,
  inserted: 10,
  updated: 20,
  unchanged: 10,
  skipped: 5,
  failed: 1,
  rejected: 4,
  deleted: 0,
  withheld: 0,
  queued: 50,
};

function account(clock = createFakeClock(0)) {
  return createAccount({
    baseUrl: "http://api.test",
    clientId: "acme",
    credentials: MOCK_CREDENTIALS,
    rateLimit: { count: 10, windowMs: 60_000 },
    clock,
  });
}

Deno.test("Progress ETA follows the limiter's schedule for the requests left", async () => {
  const clock = createFakeClock(0);
  const acme = account(clock);
  for (let i = 0; i < 10; i++) (await acme.limiter.acquire()).sent(); // the window is full now
  await clock.tick(30_000);
  const snapshot = progressSnapshot(progress, acme, clock.now());
  // 50 syncs left at 10 a window: the last leaves at the start of the 5th window from the
  // first send (+ the limiter's safety margin of 500 ms a window).
  assert.equal(snapshot.etaMs, 5 * 60_500 - 30_000);
  assert.equal(snapshot.campaignsDone, 50);
  assert.equal(snapshot.campaignsTotal, 100);
});

Deno.test("Progress ETA counts the campaigns of pages not fetched yet, from the first page on", async () => {
  const clock = createFakeClock(0);
  const acme = account(clock);
  for (let i = 0; i < 10; i++) (await acme.limiter.acquire()).sent(); // the window is full now
  await clock.tick(30_000);
  // Page 1 of 10 is in: 9 pages and 100 campaigns are left, 109 requests, the same ETA as when
  // all 10 pages were listed and 100 syncs queued.
  const early = { ...progress, pagesDone: 1, synced: 0, skipped: 0, failed: 0, rejected: 0 };
  const snapshot = progressSnapshot({ ...early, queued: 10 }, acme, clock.now());
  assert.equal(snapshot.etaMs, acme.limiter.finishTimeFor(109) - clock.now());
  assert.ok(snapshot.etaMs! > 10 * 60_000, `${snapshot.etaMs} ms`);
});

Deno.test("Progress ranks an account by its pace left after its 429 hold, cheaply", async () => {
  const clock = createFakeClock(0);
  const acme = account(clock);
  // 50 syncs left at 10 a window: 49 after the first, 4.9 windows.
  assert.equal(progressSnapshot(progress, acme, clock.now()).paceLeftMs, 4.9 * 60_000);
  acme.limiter.holdUntil(120_000);
  await clock.tick(20_000);
  const held = progressSnapshot(progress, acme, clock.now());
  assert.equal(held.paceLeftMs, 100_000 + 4.9 * 60_000);
  // An empty window lets 10 go at once after the hold: the last leaves 4 windows and 4 margins on.
  assert.equal(held.etaMs, 100_000 + 4 * 60_500);
});

Deno.test("Progress has no ETA before the first page tells the total", () => {
  const snapshot = progressSnapshot(
    { ...progress, total: null, pagesTotal: null, pagesDone: 0, queued: 0 },
    account(),
    0,
  );
  assert.equal(snapshot.etaMs, null);
  assert.equal(snapshot.paceLeftMs, null);
  assert.equal(snapshot.campaignsTotal, null);
});

Deno.test("An account whose run cannot start returns a failed summary instead of throwing", async () => {
  // Nothing listens on port 1: every query is refused at once.
  await refusedDatabase(async (shared) => {
    const { summary, requests } = await (await runAccount(shared.config.plans[0]!, shared)).done;
    assert.equal(summary.status, "failed");
    assert.equal(summary.account, "acme");
    assert.match(summary.last_error ?? "", /^Cannot record the run start in PostgreSQL at 127/);
    assert.equal(summary.error_code, "DATABASE_UNAVAILABLE");
    assert.deepEqual(requests, [], "no request reached the platform");
    const run = await shared.checkpoint.getRun(summary.run_id);
    assert.equal(run?.status, "failed", "the checkpoint's run is closed as failed");
  });
});

/** The JSON log records written while `fn` runs. */
async function jsonLogs(fn: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> {
  const chunks: string[] = [];
  await configureLogging({ level: "info", format: "json", write: (text) => chunks.push(text) });
  try {
    await fn();
  } finally {
    await resetLogging();
  }
  return chunks.join("").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

/** A setup whose database refuses every query, for runs that end before any request. */
async function refusedDatabase<T>(fn: (shared: Parameters<typeof runAccount>[1]) => Promise<T>) {
  const dir = await Deno.makeTempDir({ prefix: "adsync_account_run_" });
  const sql = postgres("postgres://adsync@127.0.0.1:1/adsync", { max: 1, onnotice: () => {} });
  const checkpoint = openCheckpoint(join(dir, "checkpoint.sqlite"));
  const hostGates = createHostGates();
  try {
    const config = loadConfig({
      AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
      AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
      AD_PLATFORM_CLIENT_ID: "acme",
      SYNC_STATE_DIR: dir,
    }, ["sync"]);
    const guard = createDatabaseGuard("PostgreSQL at 127.0.0.1:1/adsync", {
      outageMs: 200,
      retryDelayMs: 50,
    });
    const runs = createRunHistoryWriter(sql, guard);
    return await fn({ config, sql, guard, checkpoint, hostGates, runs });
  } finally {
    hostGates.close();
    await checkpoint.close();
    await sql.end({ timeout: 0 });
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("The run's log lines name its id run_id, never runId", async () => {
  let runId = "";
  const records = await jsonLogs(() =>
    refusedDatabase(async (shared) => {
      const run = await runAccount(shared.config.plans[0]!, shared);
      runId = run.runId;
      await run.done;
    })
  );
  const starting = records.find((r) => String(r.message).startsWith("Starting run"));
  assert.ok(starting, JSON.stringify(records));
  assert.equal(starting.message, `Starting run ${runId}`);
  assert.deepEqual(starting.properties, { run_id: runId, account: "acme" });
  for (const record of records) {
    assert.ok(!JSON.stringify(record.properties).includes('"runId"'), JSON.stringify(record));
  }
});

Deno.test("A sync refused because another holds the account logs why, without an empty run id", async () => {
  const records = await jsonLogs(() =>
    refusedDatabase(async (shared) => {
      const leases = {
        hold: () =>
          Promise.resolve({
            holder: "worker w1",
            expiresInMs: 30_000,
            expiresAt: Date.now() + 30_000,
          }),
        recentSends: () => Promise.resolve([]),
        statements: 0,
      };
      const run = await runAccount(shared.config.plans[0]!, { ...shared, leases });
      assert.equal(run.runId, "");
      const { summary } = await run.done;
      assert.equal(summary.status, "failed");
      assert.equal(summary.error_code, "ACCOUNT_BUSY");
    })
  );
  assert.equal(records.length, 1, JSON.stringify(records));
  const [record] = records;
  assert.equal(record!.level, "error");
  assert.equal(
    record!.message,
    "Cannot drive account acme: worker w1 drives it now; not started",
  );
  const properties = record!.properties as Record<string, unknown>;
  assert.equal(properties.account, "acme");
  assert.equal(properties.error_code, "ACCOUNT_BUSY");
  assert.ok(!("run_id" in properties), JSON.stringify(properties));
});

Deno.test("A run whose account another holds is left to the caller to defer, unlogged, naming the holder", async () => {
  const holder = { holder: "sync on box-1", expiresInMs: 30_000, expiresAt: 1_700_000_030_000 };
  const records = await jsonLogs(() =>
    refusedDatabase(async (shared) => {
      const leases = {
        hold: () => Promise.resolve(holder),
        recentSends: () => Promise.resolve([]),
        statements: 0,
      };
      const run = await runAccount(shared.config.plans[0]!, { ...shared, leases }, {
        onRefused: "defer",
        onHeld: () => assert.fail("no lease was held"),
      });
      assert.deepEqual(run.refused, { holder });
      assert.equal((await run.done).summary.error_code, "ACCOUNT_BUSY");
    })
  );
  assert.deepEqual(records, [], "the caller says why it defers");
});

Deno.test("The runner takes the lease once and releases it only after whileHeld is done", async () => {
  const events: string[] = [];
  await refusedDatabase(async (shared) => {
    const lease = {
      account: "acme",
      signal: new AbortController().signal,
      fence: () => Promise.resolve(),
      noteSend: () => {},
      release: () => {
        events.push("release");
        return Promise.resolve();
      },
    };
    const leases = {
      hold: () => {
        events.push("hold");
        return Promise.resolve(lease);
      },
      recentSends: () => Promise.resolve([]),
      statements: 0,
    };
    const run = await runAccount(shared.config.plans[0]!, { ...shared, leases }, {
      onHeld: (held) => events.push(`held ${held === lease}`),
      whileHeld: async (outcome, held) => {
        events.push(`whileHeld ${outcome.summary.status} ${held === lease}`);
        await Promise.resolve();
        events.push("settled");
      },
    });
    assert.equal(run.refused, undefined);
    await run.done;
  });
  assert.deepEqual(events, ["hold", "held true", "whileHeld failed true", "settled", "release"]);
});
