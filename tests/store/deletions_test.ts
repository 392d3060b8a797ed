import assert from "node:assert/strict";
import { upsertCampaigns } from "../../src/store/campaign_store.ts";
import { deletedIds, markDeleted } from "../../src/store/deletions.ts";
import { campaign, withEachDatabase } from "./_helpers.ts";

const ids = (n: number) => Array.from({ length: n }, (_, i) => `campaign_${i + 1}`);
const rows = (list: string[]) => list.map((id) => campaign({ id }));

withEachDatabase(
  "markDeleted marks the stored campaigns missing from the listing",
  async ({ db }) => {
    await upsertCampaigns(db.sql, "acme", rows(ids(10)));
    await upsertCampaigns(db.sql, "globex", rows(["campaign_9", "campaign_10"]));

    const outcome = await markDeleted(db.sql, "acme", ids(8));

    assert.deepEqual(outcome, { deleted: 2, withheld: 0, live: 10 });
    assert.deepEqual(await deletedIds(db.sql, "acme"), ["campaign_10", "campaign_9"]);
    assert.deepEqual(await deletedIds(db.sql, "globex"), [], "another account is untouched");
    assert.deepEqual(await markDeleted(db.sql, "acme", ids(8)), {
      deleted: 0,
      withheld: 0,
      live: 8,
    });
  },
);

withEachDatabase("A campaign marked deleted is live again once upserted", async ({ db }) => {
  await upsertCampaigns(db.sql, "acme", rows(ids(4)));
  await markDeleted(db.sql, "acme", ids(3));
  assert.deepEqual(await deletedIds(db.sql, "acme"), ["campaign_4"]);

  await upsertCampaigns(db.sql, "acme", rows(["campaign_4"]));

  assert.deepEqual(await deletedIds(db.sql, "acme"), []);
});

withEachDatabase("markDeleted marks none when more than half would go", async ({ db }) => {
  await upsertCampaigns(db.sql, "acme", rows(ids(10)));

  const outcome = await markDeleted(db.sql, "acme", ids(4));

  assert.deepEqual(outcome, { deleted: 0, withheld: 6, live: 10 });
  assert.deepEqual(await deletedIds(db.sql, "acme"), []);
  const half = await markDeleted(db.sql, "acme", ids(5));
  assert.deepEqual(half, { deleted: 5, withheld: 0, live: 10 }, "exactly half is allowed");
});

withEachDatabase("markDeleted marks a mass deletion when allowed", async ({ db }) => {
  await upsertCampaigns(db.sql, "acme", rows(ids(10)));

  const outcome = await markDeleted(db.sql, "acme", [], { allowMassDelete: true });

  assert.deepEqual(outcome, { deleted: 10, withheld: 0, live: 10 });
  assert.equal((await deletedIds(db.sql, "acme")).length, 10);
});
