import assert from "node:assert/strict";
import postgres from "postgres";
import { serveMockApi } from "../../mock-api/server.ts";
import { loadConfig } from "../../src/config.ts";
import { runStatusCommand } from "../../src/status_command.ts";
import { runSyncCommand } from "../../src/sync/sync_command.ts";
import { MOCK_CREDENTIALS } from "../_fixtures.ts";
import { TEST_SERVER_URL } from "../_test_server.ts";
import { withFreshServerDatabase } from "../store/_helpers.ts";

Deno.test("A refused mass deletion shows in the summary and in status", async () => {
  const mock = serveMockApi({
    rateLimit: { count: 50, windowMs: 1_000 },
    errorRate: 0,
    hangRate: 0,
    syncDelayMs: 0,
    campaigns: 12,
    seed: 3,
  });
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_mass_" });
  try {
    await withFreshServerDatabase(TEST_SERVER_URL, async (databaseUrl) => {
      const env = {
        AD_PLATFORM_API_URL: mock.url,
        AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
        AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
        AD_PLATFORM_RATE_LIMIT: "50/1s",
        DATABASE_URL: databaseUrl,
        SYNC_STATE_DIR: stateDir,
      };
      const first = await runSyncCommand(loadConfig(env, ["sync"]));
      assert.equal(first.deletions_withheld, 0);
      // 20 stored campaigns the platform no longer lists: more than half of the 32 live ones.
      const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
      try {
        await sql`
          insert into campaigns (account, id, name, status, budget, created_at, synced_at)
          select 'default', 'gone_' || n, 'Gone', 'active', 1, now(), now()
          from generate_series(1, 20) as n`;
      } finally {
        await sql.end();
      }
      const second = await runSyncCommand(loadConfig(env, ["sync"]));
      assert.equal(second.status, "ok");
      assert.equal(second.deleted, 0);
      assert.equal(second.deletions_withheld, 20);
      assert.equal(second.accounts[0]!.deletions_withheld, 20);
      const [row] = JSON.parse(await runStatusCommand(loadConfig(env, ["status", "--json"])));
      assert.equal(row.deletions_withheld, 20);
      const table = await runStatusCommand(loadConfig(env, ["status"]));
      assert.match(table, /20 deletions withheld \(mass deletion\)/);
    });
  } finally {
    await mock.close();
    await Deno.remove(stateDir, { recursive: true });
  }
});
