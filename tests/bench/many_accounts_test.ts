import assert from "node:assert/strict";
import { runManyAccounts } from "../../bench/many_accounts.ts";
import { serverTest, withFreshServerDatabase } from "../store/_helpers.ts";

serverTest(
  "The many-accounts bench syncs every account with the real CLI and reports each figure",
  (serverUrl) =>
    withFreshServerDatabase(serverUrl, async (databaseUrl) => {
      const report = await runManyAccounts({
        accounts: 3,
        windowMs: 1_000,
        campaigns: 12,
        databaseUrl,
        mockArgs: ["--error-rate", "0", "--hang-rate", "0"],
      });
      assert.ok(!("error" in report), "error" in report ? report.error : "");
      assert.equal(report.status, "ok");
      assert.equal(report.exit_code, 0);
      assert.deepEqual(report.accounts_not_ok, {});
      assert.equal(report.clients_seen, 3);
      assert.equal(report.requests_sent, 3 * (1 + 12));
      assert.equal(report.requests_needed, report.requests_sent);
      assert.equal(report.http_429, 0);
      assert.equal(report.floor_ms, 1_000);
      assert.ok(report.wall_ms >= report.floor_ms, `wall ${report.wall_ms} ms`);
      assert.ok(report.peak_rss_mb > 0 && report.rss_samples > 0, "the sync's memory was sampled");
      assert.ok(!report.missed.includes("0 x 429") && !report.missed.includes("status ok"));
    }),
);
