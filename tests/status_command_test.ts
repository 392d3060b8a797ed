import assert from "node:assert/strict";
import { serveMockApi } from "../mock-api/server.ts";
import { loadConfig } from "../src/config.ts";
import { runStatusCommand } from "../src/status_command.ts";
import { acquireRunLock } from "../src/store/run_lock.ts";
import { runSyncCommand } from "../src/sync/sync_command.ts";
import { withFreshServerDatabase } from "./store/_helpers.ts";
import { serverTest } from "./e2e/_cli.ts";
import { CALM_MOCK, MOCK_CREDENTIALS } from "./_fixtures.ts";

/** A calm mock of 12 campaigns that lets 50 requests a second through. */
const TWELVE_CAMPAIGNS = {
  ...CALM_MOCK,
  rateLimit: { count: 50, windowMs: 1_000 },
  campaigns: 12,
  seed: 3,
};

const SERVER_URL = Deno.env.get("TEST_DATABASE_URL");

Deno.test("status shows nothing before the first run", async () => {
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_status_" });
  try {
    const text = await runStatusCommand(loadConfig({ SYNC_STATE_DIR: stateDir }, ["status"]));
    assert.match(text, /^No runs yet \(looked in sync: .*checkpoint\.sqlite\)\.$/);
  } finally {
    await Deno.remove(stateDir, { recursive: true });
  }
});

serverTest("status reports the latest runs with their progress and counts", async () => {
  assert.ok(SERVER_URL, "TEST_DATABASE_URL must name a PostgreSQL server for this test");
  const mock = await serveMockApi(TWELVE_CAMPAIGNS);
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_status_" });
  try {
    await withFreshServerDatabase(SERVER_URL, async (databaseUrl) => {
      const env = {
        AD_PLATFORM_API_URL: mock.url,
        AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
        AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
        AD_PLATFORM_RATE_LIMIT: "50/1s",
        // Two pages of the 12 campaigns, for the progress column.
        AD_PLATFORM_PAGE_SIZE: "10",
        DATABASE_URL: databaseUrl,
        SYNC_STATE_DIR: stateDir,
      };
      const summary = await runSyncCommand(loadConfig(env, ["sync"]));
      const [row] = JSON.parse(await runStatusCommand(loadConfig(env, ["status", "--json"])));
      assert.equal(row.run_id, summary.run_id);
      assert.equal(row.status, "ok");
      assert.equal(row.pages_done, 2);
      assert.equal(row.pages_total, 2);
      assert.equal(row.synced, 12);
      assert.equal(row.campaigns_total, 12);
      assert.equal(row.requests, summary.requests);
      assert.equal(row.source, "sync");
      const table = await runStatusCommand(loadConfig(env, ["status"]));
      assert.match(table, /^ACCOUNT\s+STATUS\s+SOURCE\s+QUEUE\s+CAMPAIGNS\s+FAILED\s+LIMIT/);
      assert.match(
        table,
        new RegExp(`^default\\s+ok\\s+sync\\s+-\\s+12/12\\s.*${summary.run_id}$`, "m"),
      );
      assert.equal(row.rate_limit, "50/1s");
      assert.equal(row.rate_limit_source, "configured");
      assert.match(table, /\s50\/1s configured\s/);
    });
  } finally {
    await mock.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

serverTest("status with an accounts file shows each account's latest run", async () => {
  assert.ok(SERVER_URL, "TEST_DATABASE_URL must name a PostgreSQL server for this test");
  const mock = await serveMockApi(TWELVE_CAMPAIGNS);
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_status_" });
  const accountsFile = `${stateDir}/accounts.json`;
  const accounts = (ids: string[]) =>
    Deno.writeTextFile(
      accountsFile,
      JSON.stringify({ accounts: ids.map((id) => ({ client_id: id })) }),
    );
  try {
    await withFreshServerDatabase(SERVER_URL, async (databaseUrl) => {
      const env = {
        AD_PLATFORM_API_URL: mock.url,
        AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
        AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
        AD_PLATFORM_RATE_LIMIT: "50/1s",
        DATABASE_URL: databaseUrl,
        SYNC_STATE_DIR: stateDir,
        SYNC_ACCOUNTS_FILE: accountsFile,
      };
      await accounts(["acme", "globex"]);
      await runSyncCommand(loadConfig(env, ["sync"]));
      const second = await runSyncCommand(loadConfig(env, ["sync", "--account", "acme"]));
      await accounts(["acme", "globex", "initech"]);
      const rows = JSON.parse(await runStatusCommand(loadConfig(env, ["status", "--json"])));
      assert.deepEqual(rows.map((row: { account: string }) => row.account), [
        "acme",
        "globex",
        "initech",
      ]);
      assert.equal(rows[0].run_id, second.run_id, "acme's row is its latest run");
      assert.equal(rows[1].synced, 12);
      assert.equal(rows[2].status, "never run");
      const table = await runStatusCommand(loadConfig(env, ["status"]));
      assert.match(table, /^initech\s+never run\s+-\s+-/m);
    });
  } finally {
    await mock.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("status with an accounts file lists the file's accounts, others in a note; a running sync's embedded database is named as why limits are unknown", async () => {
  const mock = await serveMockApi(TWELVE_CAMPAIGNS);
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_status_" });
  const accountsFile = `${stateDir}/accounts.json`;
  await Deno.writeTextFile(accountsFile, JSON.stringify({ accounts: [{ client_id: "acme" }] }));
  try {
    const env = {
      AD_PLATFORM_API_URL: mock.url,
      AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
      AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
      AD_PLATFORM_RATE_LIMIT: "50/1s",
      SYNC_STATE_DIR: stateDir,
    };
    // The environment's account ran once, on the embedded database, before the file existed.
    assert.equal((await runSyncCommand(loadConfig(env, ["sync"]))).status, "ok");
    const withFile = { ...env, SYNC_ACCOUNTS_FILE: accountsFile };
    const rows = JSON.parse(await runStatusCommand(loadConfig(withFile, ["status", "--json"])));
    assert.deepEqual(rows.map((row: { account: string }) => row.account), ["acme"]);
    const table = await runStatusCommand(loadConfig(withFile, ["status"]));
    assert.doesNotMatch(table, /^default\s/m);
    assert.match(table, /^Not in the accounts file, with runs or jobs: default \(/m);
    const everyone = await runStatusCommand(loadConfig(env, ["status"]));
    assert.match(everyone, /^default\s+ok\s+sync\s+12\/12\s+0\s+50\/1s configured\s/m);

    const lock = acquireRunLock(stateDir); // as a running sync holds it
    try {
      const busy = await runStatusCommand(loadConfig(env, ["status"]), { columns: 80 });
      assert.match(
        busy,
        /^default\s+ok\s+sync\s+12\/12\s+0\s+-\s/m,
        `its limit is unknown:\n${busy}`,
      );
      assert.match(
        busy.replaceAll("\n", " "),
        /holds the embedded database \(one opener at a time\), so the counts and limits of finished runs \(REQUESTS, LIMIT, and --json's requests and duration_ms\) are unknown until it ends\./,
      );
      for (const line of busy.split("\n").filter((l) => !l.startsWith("Runs from"))) {
        assert.ok(line.length <= 80, `wider than 80: ${line}`);
      }
    } finally {
      lock.release();
    }
  } finally {
    await mock.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
