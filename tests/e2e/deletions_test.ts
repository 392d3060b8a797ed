/** Upstream deletions end to end: the CLI against the mock over HTTP and a server database. */
import assert from "node:assert/strict";
import { upsertCampaigns } from "../../src/store/campaign_store.ts";
import { deletedIds } from "../../src/store/deletions.ts";
import { migrate } from "../../src/store/migrations.ts";
import { campaign } from "../store/_helpers.ts";
import { e2e, explain, interruptedRun, logNote, type Scenario, summaryOf } from "./_scenario.ts";

/** Creates the schema and stores `count` campaigns the platform does not list. */
async function withStale(s: Scenario, count: number): Promise<string[]> {
  await migrate(s.db!.sql);
  const stale = Array.from({ length: count }, (_, i) => `gone_${i + 1}`);
  await upsertCampaigns(s.db!.sql, "default", stale.map((id) => campaign({ id })));
  return stale.toSorted();
}

e2e("A complete run marks stored campaigns the platform no longer lists", {}, async (s) => {
  const stale = await withStale(s, 3);
  const outcome = await s.run(["--json"]);
  assert.equal(outcome.code, 0, explain(outcome));
  const summary = summaryOf(outcome);
  assert.equal(summary.deleted, 3);
  assert.deepEqual(await deletedIds(s.db!.sql, "default"), stale);
  const [run] = await s.db!.sql`select deleted from sync_runs where run_id = ${
    String(summary.run_id)
  }`;
  assert.equal(run?.deleted, 3);
});

e2e("A campaign marked deleted is live again once the platform lists it", {}, async (s) => {
  await withStale(s, 0);
  await upsertCampaigns(s.db!.sql, "default", [campaign({ id: "campaign_1" })]);
  await s.db!.sql`update campaigns set deleted_at = now() where id = 'campaign_1'`;
  const outcome = await s.run(["--json"]);
  assert.equal(outcome.code, 0, explain(outcome));
  assert.equal(summaryOf(outcome).deleted, 0);
  assert.deepEqual(await deletedIds(s.db!.sql, "default"), []);
});

e2e("An interrupted run marks nothing deleted", {}, async (s) => {
  await withStale(s, 2);
  const { summary } = await interruptedRun(s, "SIGINT", 130);
  assert.equal(summary.deleted, 0);
  assert.deepEqual(await deletedIds(s.db!.sql, "default"), []);
});

e2e(
  "A run that would mark over half the account's campaigns marks none and warns",
  {},
  async (s) => {
    await withStale(s, s.campaigns + 1);
    const outcome = await s.run(["--json"], { LOG_FORMAT: "json" });
    assert.equal(outcome.code, 0, explain(outcome));
    assert.equal(summaryOf(outcome).deleted, 0);
    assert.deepEqual(await deletedIds(s.db!.sql, "default"), []);
    logNote(outcome, /Not marking 61 of 121 stored campaigns deleted/);
  },
);
