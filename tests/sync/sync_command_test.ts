import assert from "node:assert/strict";
import { join } from "node:path";
import type postgres from "postgres";
import {
  type MockApiOptions,
  type MockRequestLogEntry,
  serveMockApi,
} from "../../mock-api/server.ts";
import { loadConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/store/database.ts";
import { exitCodeFor } from "../../src/sync/summary.ts";
import { poolSizeFor, runSyncCommand } from "../../src/sync/sync_command.ts";
import type { SyncReport } from "../../src/run_summary.ts";
import { serverTest } from "../e2e/_cli.ts";
import { withSharedServerDatabase } from "../store/_helpers.ts";
import { CALM_MOCK, MOCK_CREDENTIALS } from "../_fixtures.ts";

const SERVER_URL = Deno.env.get("TEST_DATABASE_URL");

/** A fast, honest platform: these tests are about accounts, not faults. */
const CALM: Partial<MockApiOptions> = {
  ...CALM_MOCK,
  rateLimit: { count: 20, windowMs: 1_000 },
  syncDelayMs: 5,
  campaigns: 12,
};

interface Scenario {
  /** The accounts file's `accounts`. */
  accounts: Record<string, unknown>[];
  /** Extra settings. @default {} */
  env?: Record<string, string>;
  /** Run on the embedded PGlite instead of the server. @default false */
  embedded?: boolean;
}

/** Syncs the accounts of `scenario` in-process against the mock and hands over what happened. */
async function syncAccounts(
  scenario: Scenario,
  check: (
    report: SyncReport,
    sql: postgres.Sql,
    log: MockRequestLogEntry[],
  ) => void | Promise<void>,
): Promise<void> {
  const mock = await serveMockApi(CALM);
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_accounts_" });
  const accountsFile = join(stateDir, "accounts.json");
  await Deno.writeTextFile(
    accountsFile,
    JSON.stringify({ defaults: { password_env: "MOCK_PASSWORD" }, accounts: scenario.accounts }),
  );
  const go = async (databaseUrl: string | undefined) => {
    const config = loadConfig({
      AD_PLATFORM_API_URL: mock.url,
      AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
      MOCK_PASSWORD: MOCK_CREDENTIALS.password,
      WRONG_PASSWORD: "not-the-password",
      AD_PLATFORM_RATE_LIMIT: "20/1s",
      SYNC_ACCOUNTS_FILE: accountsFile,
      SYNC_STATE_DIR: stateDir,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      ...scenario.env,
    }, ["sync"]);
    const report = await runSyncCommand(config);
    const db = await openDatabase({ url: databaseUrl, stateDir });
    try {
      await check(report, db.sql, mock.log);
    } finally {
      await db.close();
    }
  };
  try {
    if (scenario.embedded) await go(undefined);
    else {
      assert.ok(SERVER_URL, "TEST_DATABASE_URL must name a PostgreSQL server for this test");
      await withSharedServerDatabase(SERVER_URL, go);
    }
  } finally {
    await mock.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}

async function rowsByAccount(sql: postgres.Sql): Promise<Record<string, number>> {
  const rows = await sql<{ account: string; n: number }[]>`
    select account, count(*)::int as n from campaigns group by account order by account`;
  return Object.fromEntries(rows.map((row) => [row.account, row.n]));
}

serverTest("Every account is synced in one run, each row under its own account", async () => {
  const accounts = [{ client_id: "acme" }, { client_id: "globex" }, { client_id: "initech" }];
  await syncAccounts({ accounts }, async (report, sql, log) => {
    assert.equal(report.status, "ok");
    assert.equal(exitCodeFor(report, undefined), 0);
    assert.deepEqual(report.accounts.map((a) => [a.account, a.status, a.synced]), [
      ["acme", "ok", 12],
      ["globex", "ok", 12],
      ["initech", "ok", 12],
    ]);
    assert.equal(report.campaigns_total, 36);
    assert.equal(report.synced, 36);
    assert.equal(report.requests, report.accounts.reduce((sum, a) => sum + a.requests, 0));
    assert.equal(report.run_id, undefined, "many accounts have no one run id");
    assert.equal(new Set(report.accounts.map((a) => a.run_id)).size, 3);
    assert.deepEqual(await rowsByAccount(sql), { acme: 12, globex: 12, initech: 12 });
    // The mock puts the client id in every name: no row sits under another account.
    const misplaced = await sql`
      select account, name from campaigns where position('[' || account || ']' in name) = 0`;
    assert.deepEqual([...misplaced], []);
    // Each account sent its own requests under its own X-Client-ID.
    const clients = new Set(log.filter((e) => e.path.startsWith("/api/")).map((e) => e.client));
    assert.deepEqual([...clients].sort(), ["acme", "globex", "initech"]);
    const runs = await sql<{ account: string; status: string }[]>`
      select account, status from sync_runs order by account`;
    assert.deepEqual(runs.map((r) => [r.account, r.status]), [
      ["acme", "ok"],
      ["globex", "ok"],
      ["initech", "ok"],
    ]);
  });
});

serverTest("An account whose credentials are refused fails alone and the run exits 1", async () => {
  const accounts = [
    { client_id: "acme" },
    { client_id: "globex", password_env: "WRONG_PASSWORD" },
    { client_id: "initech" },
  ];
  await syncAccounts({ accounts }, async (report, sql) => {
    assert.equal(report.status, "failed");
    assert.equal(exitCodeFor(report, undefined), 1);
    const globex = report.accounts.find((a) => a.account === "globex")!;
    assert.equal(globex.status, "failed");
    assert.match(globex.last_error ?? "", /credentials|401|refused/i);
    assert.deepEqual(report.accounts.map((a) => a.status), ["ok", "failed", "ok"]);
    assert.deepEqual(await rowsByAccount(sql), { acme: 12, initech: 12 });
  });
});

serverTest("SYNC_ACCOUNT_CONCURRENCY=1 syncs the accounts one after the other", async () => {
  const accounts = [{ client_id: "acme" }, { client_id: "globex" }];
  await syncAccounts(
    { accounts, env: { SYNC_ACCOUNT_CONCURRENCY: "1" } },
    (report, _sql, log) => {
      assert.equal(report.status, "ok");
      const api = log.filter((e) => e.path.startsWith("/api/"));
      const lastAcme = Math.max(...api.filter((e) => e.client === "acme").map((e) => e.at));
      const firstGlobex = Math.min(...api.filter((e) => e.client === "globex").map((e) => e.at));
      assert.ok(firstGlobex > lastAcme, "globex starts once acme is done");
    },
  );
});

Deno.test("Many accounts share the embedded PostgreSQL's one connection", async () => {
  const accounts = [{ client_id: "acme" }, { client_id: "globex" }, { client_id: "initech" }];
  await syncAccounts({ accounts, embedded: true }, async (report, sql) => {
    assert.equal(report.status, "ok");
    assert.deepEqual(await rowsByAccount(sql), { acme: 12, globex: 12, initech: 12 });
  });
});

serverTest("One account's report is its summary as before, plus the accounts list", async () => {
  await syncAccounts({ accounts: [{ client_id: "acme" }] }, (report) => {
    const { accounts, ...summary } = report;
    assert.deepEqual(accounts, [summary]);
    assert.equal(summary.account, "acme");
    assert.match(summary.run_id ?? "", /^\d{8}T\d{6}Z-[0-9a-f]{8}$/);
    assert.ok("drift" in summary);
  });
});

serverTest("The metrics file holds every account's series", async () => {
  const metricsDir = await Deno.makeTempDir({ prefix: "adsync_metrics_" });
  const metricsFile = join(metricsDir, "adsync.prom");
  try {
    const accounts = [{ client_id: "acme" }, {
      client_id: "globex",
      password_env: "WRONG_PASSWORD",
    }];
    await syncAccounts({ accounts, env: { SYNC_METRICS_FILE: metricsFile } }, async () => {
      const text = await Deno.readTextFile(metricsFile);
      assert.match(text, /^adsync_campaigns_synced\{account="acme"\} 12$/m);
      assert.match(text, /^adsync_campaigns_synced\{account="globex"\} 0$/m);
      assert.match(text, /^adsync_run_status\{account="globex",status="failed"\} 1$/m);
      assert.match(text, /^adsync_last_success_timestamp_seconds\{account="acme"\} [1-9]\d+$/m);
      assert.match(text, /^adsync_last_success_timestamp_seconds\{account="globex"\} 0$/m);
    });
  } finally {
    await Deno.remove(metricsDir, { recursive: true });
  }
});

Deno.test("The server pool grows with the accounts, from 4 connections to at most 20", () => {
  assert.deepEqual([1, 40, 41, 100, 200, 1_000, 10_000].map(poolSizeFor), [
    4,
    4,
    5,
    10,
    20,
    20,
    20,
  ]);
});
