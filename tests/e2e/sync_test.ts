import assert from "node:assert/strict";
import postgres from "postgres";
import { type MockApiOptions, serveMockApi } from "../../mock-api/server.ts";
import { loadConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/store/database.ts";
import { exitCodeFor } from "../../src/sync/summary.ts";
import { runSyncCommand, type SyncCommandOptions } from "../../src/sync/sync_command.ts";
import { withFreshServerDatabase } from "../store/_helpers.ts";
import { serverTest } from "./_cli.ts";
import { campaign, HOSTILE_NAMES, MOCK_CREDENTIALS } from "../_fixtures.ts";

const SERVER_URL = Deno.env.get("TEST_DATABASE_URL");

/** The harsh platform of the issue: fast window, many faults, tokens that die every 2 s. */
const HARSH: Partial<MockApiOptions> = {
  rateLimit: { count: 10, windowMs: 1_000 },
  errorRate: 0.3,
  hangRate: 0.1,
  tokenTtlMs: 2_000,
  syncDelayMs: 50,
  seed: 42,
};

interface Run {
  env?: Record<string, string>;
  args?: string[];
  mock?: Partial<MockApiOptions>;
  /** Use the embedded PGlite instead of the server. */
  embedded?: boolean;
  options?: SyncCommandOptions;
}

/** Serves the mock, syncs it once in-process into a fresh database, and hands over the results. */
async function syncOnce(
  run: Run,
  check: (
    outcome: Awaited<ReturnType<typeof runSyncCommand>>,
    sql: postgres.Sql,
    log: Awaited<ReturnType<typeof serveMockApi>>["log"],
  ) => Promise<void>,
) {
  const mock = await serveMockApi({ ...HARSH, ...run.mock });
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_e2e_" });
  const go = async (databaseUrl: string | undefined) => {
    const config = loadConfig({
      AD_PLATFORM_API_URL: mock.url,
      AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
      AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
      AD_PLATFORM_RATE_LIMIT: "10/1s",
      AD_PLATFORM_REQUEST_TIMEOUT: "500ms",
      SYNC_STATE_DIR: stateDir,
      SYNC_MAX_ATTEMPTS: "8",
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      ...run.env,
    }, ["sync", ...(run.args ?? [])]);
    const summary = await runSyncCommand(config, run.options);
    const db = await openDatabase({ url: databaseUrl, stateDir });
    try {
      await check(summary, db.sql, mock.log);
    } finally {
      await db.close();
    }
  };
  try {
    if (run.embedded) await go(undefined);
    else {
      assert.ok(SERVER_URL, "TEST_DATABASE_URL must name a PostgreSQL server for this suite");
      await withFreshServerDatabase(SERVER_URL, go);
    }
  } finally {
    await mock.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}

async function storedIds(sql: postgres.Sql): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`select id from campaigns order by id`;
  return rows.map((row) => row.id);
}

serverTest(
  "Sync stores every campaign exactly once on a harsh platform without a 429",
  async () => {
    // Ten pages, so that the harsh mock's failing list requests are sure to force retries.
    await syncOnce({ env: { AD_PLATFORM_PAGE_SIZE: "10" } }, async (summary, sql, log) => {
      assert.equal(summary.status, "ok");
      assert.equal(exitCodeFor(summary, undefined), 0);
      const ids = await storedIds(sql);
      assert.equal(ids.length, 100);
      assert.equal(new Set(ids).size, 100);
      assert.equal(log.filter((entry) => entry.status === 429).length, 0);
      assert.equal(summary.rate_limited, 0);
      assert.ok(summary.retries > 0, "the harsh mock should have forced retries");
      assert.ok(summary.token_refreshes > 0, "tokens living 2 s should have been refreshed");
      const limited = log.filter((entry) => entry.path.startsWith("/api/"));
      assert.equal(summary.requests, limited.length, "the summary counts every request sent");
    });
  },
);

serverTest("Sync recovers from 429s when its limit is set higher than the platform's", async () => {
  await syncOnce({
    env: { AD_PLATFORM_RATE_LIMIT: "20/1s" },
    mock: { errorRate: 0, hangRate: 0, campaigns: 30 },
  }, async (summary, sql, log) => {
    assert.equal(summary.status, "ok");
    assert.ok(summary.rate_limited > 0);
    assert.equal(summary.rate_limited, log.filter((entry) => entry.status === 429).length);
    assert.equal((await storedIds(sql)).length, 30);
  });
});

serverTest("Sync stores hostile names byte-exact and rejects invalid records", async () => {
  const hostile = HOSTILE_NAMES.map((name, i) => ({ ...campaign(i + 1), name }));
  const invalid = [
    { ...campaign(50), budget: "a lot" },
    { ...campaign(51), status: "deleted" },
    { ...campaign(52), clicks: 1.5 },
    { name: "no id at all" },
  ];
  const records = [...hostile, ...invalid, { ...campaign(60), extra: { nested: true } }];
  await syncOnce({ mock: { records, errorRate: 0, hangRate: 0 } }, async (summary, sql) => {
    assert.equal(summary.status, "partial");
    assert.equal(exitCodeFor(summary, undefined), 2);
    assert.equal(summary.rejected, 4);
    assert.equal(summary.synced, hostile.length + 1);
    const rows = await sql<{ id: string; name: string; budget: string }[]>`
      select id, name, budget::text from campaigns order by id`;
    const names = new Map(rows.map((row) => [row.id, row.name]));
    for (const record of hostile) assert.equal(names.get(record.id), record.name);
    assert.equal(rows.find((row) => row.id === "campaign_1")?.budget, "1001.25");
    const rejects = await sql<{ campaign_id: string | null; reason: string; payload: unknown }[]>`
      select campaign_id, reason, payload from sync_rejects order by campaign_id nulls last`;
    assert.deepEqual(rejects.map((r) => r.campaign_id), [
      "campaign_50",
      "campaign_51",
      "campaign_52",
      null,
    ]);
    assert.match(rejects[0]!.reason, /budget/);
    assert.deepEqual(rejects[0]!.payload, invalid[0]);
    assert.deepEqual(rejects[3]!.payload, invalid[3]);
  });
});

serverTest(
  "Sync stops at total even when has_more lies and pages past the end hold records",
  async () => {
    await syncOnce({
      env: { AD_PLATFORM_PAGE_SIZE: "7" },
      mock: { hasMoreLies: true, pastEndRecords: true, errorRate: 0, hangRate: 0, campaigns: 30 },
    }, async (summary, sql, log) => {
      assert.equal(summary.status, "ok");
      assert.equal((await storedIds(sql)).length, 30);
      const pages = new Set(log.filter((e) => e.page !== undefined).map((e) => e.page));
      assert.deepEqual([...pages].sort((a, b) => a! - b!), [1, 2, 3, 4, 5]);
      assert.equal(
        summary.accounts[0]!.drift.has_more_mismatches,
        2,
        "pages 3 and 4 said has_more false",
      );
    });
  },
);

Deno.test("Sync into the embedded PostgreSQL stores every campaign", async () => {
  await syncOnce({ embedded: true, mock: { campaigns: 20 } }, async (summary, sql) => {
    assert.equal(summary.status, "ok");
    assert.equal((await storedIds(sql)).length, 20);
    const [run] = await sql`select status, synced from sync_runs`;
    assert.deepEqual({ ...run }, { status: "ok", synced: 20 });
  });
});

serverTest("Sync fails with a clear error when the platform refuses the credentials", async () => {
  await syncOnce({ mock: { password: "another one" } }, async (summary, sql) => {
    assert.equal(summary.status, "failed");
    assert.equal(exitCodeFor(summary, undefined), 1);
    assert.match(summary.last_error ?? "", /refused the credentials \(401\)/);
    assert.equal((await storedIds(sql)).length, 0);
  });
});
