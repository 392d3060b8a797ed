import assert from "node:assert/strict";
import { createCatalog, pageCount } from "../../src/sync/catalog.ts";
import { campaign } from "../_fixtures.ts";

Deno.test("Catalog keeps valid campaigns and drops unknown extra fields", () => {
  const catalog = createCatalog(10);
  const { campaigns, rejects } = catalog.add({
    page: 1,
    records: [{ ...campaign(1), surprise: "extra" }, campaign(2)],
    total: 2,
    hasMore: false,
  });
  assert.deepEqual(campaigns, [campaign(1), campaign(2)]);
  assert.deepEqual(rejects, []);
});

Deno.test("Catalog rejects malformed records with a reason and the raw payload", () => {
  const catalog = createCatalog(10);
  const wrongType = { ...campaign(1), budget: "lots" };
  const { budget: _budget, ...missing } = campaign(2);
  const noId = { ...campaign(3), id: 3 };
  const { campaigns, rejects } = catalog.add({
    page: 4,
    records: [wrongType, missing, noId, "not even an object"],
    total: 40,
    hasMore: false,
  });
  assert.deepEqual(campaigns, []);
  assert.deepEqual(rejects.map((r) => [r.key, r.campaignId]), [
    ["campaign_1", "campaign_1"],
    ["campaign_2", "campaign_2"],
    ["page 4 #3", null],
    ["page 4 #4", null],
  ]);
  assert.match(rejects[0]!.reason, /^budget: /);
  assert.match(rejects[1]!.reason, /^budget: /);
  assert.equal(rejects[0]!.payload, wrongType);
});

Deno.test("Catalog never yields the same campaign twice and counts the drift", () => {
  const catalog = createCatalog(2);
  catalog.add({ page: 1, records: [campaign(1), campaign(2)], total: 4, hasMore: true });
  const again = catalog.add({
    page: 2,
    records: [campaign(2), { ...campaign(1), name: "renamed" }],
    total: 4,
    hasMore: false,
  });
  assert.deepEqual(again.campaigns, []);
  assert.deepEqual(catalog.drift(), {
    duplicates: 2,
    conflicting: 1,
    hasMoreMismatches: 0,
    totalChanges: 0,
  });
});

Deno.test("Catalog notices has_more and total disagreeing across pages", () => {
  const catalog = createCatalog(5);
  catalog.add({ page: 1, records: [campaign(1)], total: 6, hasMore: false });
  catalog.add({ page: 2, records: [campaign(2)], total: 7, hasMore: true });
  const drift = catalog.drift();
  assert.equal(drift.hasMoreMismatches, 2);
  assert.equal(drift.totalChanges, 1);
});

Deno.test("Catalog ignores a page it has already seen", () => {
  const catalog = createCatalog(10);
  const page = { page: 1, records: [campaign(1)], total: 1, hasMore: false };
  catalog.add(page);
  assert.deepEqual(catalog.add(page), { campaigns: [], rejects: [] });
  assert.equal(catalog.drift().duplicates, 0);
});

Deno.test("pageCount stops at total and at the hard cap", () => {
  assert.equal(pageCount(100, 10, 1000), 10);
  assert.equal(pageCount(101, 10, 1000), 11);
  assert.equal(pageCount(0, 10, 1000), 1);
  assert.equal(pageCount(100_000, 10, 50), 50);
});

Deno.test("Catalog rejects a name PostgreSQL could not store", () => {
  const { rejects } = createCatalog(10).add({
    page: 1,
    records: [{ ...campaign(1), name: "nul\u0000byte" }],
    total: 1,
    hasMore: false,
  });
  assert.equal(rejects[0]?.reason, "name: must not contain NUL");
});

Deno.test("Catalog rejects an id its sync's URL could not address", () => {
  const { campaigns, rejects } = createCatalog(10).add({
    page: 1,
    records: [{ ...campaign(1), id: "." }, { ...campaign(2), id: ".." }, {
      ...campaign(3),
      id: "...",
    }],
    total: 3,
    hasMore: false,
  });
  assert.deepEqual(rejects.map((r) => [r.campaignId, r.reason]), [
    [".", "id: must not be '.' or '..'"],
    ["..", "id: must not be '.' or '..'"],
  ]);
  assert.deepEqual(campaigns.map((c) => c.id), ["..."]);
});
