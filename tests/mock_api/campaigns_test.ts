import assert from "node:assert/strict";
import { generateCampaigns, paginate, parsePageQuery } from "../../mock-api/campaigns.ts";
import { campaignSchema } from "../../src/platform/schemas.ts";

Deno.test("generateCampaigns gives the same valid campaigns for the same seed", () => {
  const campaigns = generateCampaigns(100, 99);
  assert.deepEqual(generateCampaigns(100, 99), campaigns);
  assert.notDeepEqual(generateCampaigns(100, 100), campaigns);
  assert.deepEqual(campaigns.map((c) => c.id), campaigns.map((_, i) => `campaign_${i + 1}`));
  for (const campaign of campaigns) {
    assert.deepEqual(campaignSchema.parse(campaign), campaign);
    assert.ok(campaign.clicks <= campaign.impressions && campaign.conversions <= campaign.clicks);
  }
});

Deno.test("paginate answers a page past the end with no records and has_more false", () => {
  const records = generateCampaigns(25, 1);
  assert.deepEqual(paginate(records, 3, 10).pagination, {
    page: 3,
    limit: 10,
    total: 25,
    has_more: false,
  });
  assert.equal(paginate(records, 2, 10).pagination.has_more, true);
  assert.deepEqual(paginate(records, 4, 10).data, []);
});

Deno.test("paginate can lie about has_more as if the limit were always 10", () => {
  const records = generateCampaigns(100, 1);
  assert.equal(paginate(records, 5, 20, { hasMoreLies: true }).pagination.has_more, true);
  assert.equal(paginate(records, 5, 20).pagination.has_more, false);
  assert.equal(paginate(records, 9, 5, { hasMoreLies: true }).pagination.has_more, true);
  assert.equal(paginate(records, 10, 5, { hasMoreLies: true }).pagination.has_more, false);
});

Deno.test("paginate can repeat the last page's records past the end", () => {
  const records = generateCampaigns(25, 1);
  const lastPage = paginate(records, 3, 10).data;
  assert.deepEqual(paginate(records, 7, 10, { pastEndRecords: true }).data, lastPage);
  assert.deepEqual(lastPage.map((c) => c.id), [
    "campaign_21",
    "campaign_22",
    "campaign_23",
    "campaign_24",
    "campaign_25",
  ]);
});

Deno.test("paginate silently caps a limit above maxLimit, as a capping platform does", () => {
  const records = generateCampaigns(100, 1);
  const first = paginate(records, 1, 100, { maxLimit: 25 });
  assert.deepEqual(first.data, records.slice(0, 25));
  assert.deepEqual(first.pagination, { page: 1, limit: 25, total: 100, has_more: true });
  assert.deepEqual(paginate(records, 4, 25, { maxLimit: 25 }).data, records.slice(75));
  assert.equal(paginate(records, 1, 500).data.length, 100, "the default cap is 100");
});

Deno.test("parsePageQuery accepts a limit above 100 for paginate to cap", () => {
  assert.deepEqual(parsePageQuery(new URLSearchParams("page=2&limit=500")), {
    page: 2,
    limit: 500,
  });
});
