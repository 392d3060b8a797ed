import assert from "node:assert/strict";
import { countCampaigns } from "../../src/store/campaign_store.ts";
import { createCampaignWriter } from "../../src/store/campaign_writer.ts";
import { campaign, withEachDatabase } from "./_helpers.ts";

const UNGUARDED = { retrying: <T>(_action: string, op: () => Promise<T>) => op() };

withEachDatabase(
  "CampaignWriter commits many accounts' rows in one statement and tells each its own changes",
  async ({ db }) => {
    const { sql } = db;
    const writer = createCampaignWriter(sql, UNGUARDED, { maxWaitMs: 20 });
    await writer.upsert("acme", [campaign({ id: "c1" })]);
    const statementsBefore = writer.statements;
    const [acme, globex, initech] = await Promise.all([
      writer.upsert("acme", [campaign({ id: "c1" }), campaign({ id: "c2" })]),
      writer.upsert("globex", [campaign({ id: "c1", name: "Globex's own" })]),
      writer.upsert("initech", [campaign({ id: "c9" }), campaign({ id: "c9", clicks: 7 })]),
    ]);
    assert.equal(writer.statements - statementsBefore, 1);
    assert.deepEqual([...acme!.entries()].toSorted(), [["c1", "unchanged"], ["c2", "inserted"]]);
    assert.deepEqual([...globex!.entries()], [["c1", "inserted"]]);
    assert.deepEqual([...initech!.entries()], [["c9", "inserted"]]);
    assert.equal(await countCampaigns(sql, "acme"), 2);
    const [row] = await sql`select clicks from campaigns where account = 'initech' and id = 'c9'`;
    assert.equal(row?.clicks, "7", "the last record of a repeated id wins");
  },
);

withEachDatabase(
  "CampaignWriter fails every account whose rows were in a failed statement",
  async ({ db }) => {
    const { sql } = db;
    const writer = createCampaignWriter(sql, UNGUARDED, { maxWaitMs: 20 });
    const outcomes = await Promise.allSettled([
      writer.upsert("acme", [campaign({ id: "c1" })]),
      // A created_at PostgreSQL cannot read fails the whole statement.
      writer.upsert("globex", [campaign({ id: "c1", created_at: "not a date" })]),
    ]);
    assert.deepEqual(outcomes.map((outcome) => outcome.status), ["rejected", "rejected"]);
    assert.equal(await countCampaigns(sql, "acme"), 0);
    const later = await writer.upsert("acme", [campaign({ id: "c1" })]);
    assert.deepEqual([...later.entries()], [["c1", "inserted"]]);
  },
);

withEachDatabase(
  "CampaignWriter counts the rows of a statement, not the accounts' batches in it",
  async ({ db }) => {
    const writer = createCampaignWriter(db.sql, UNGUARDED, { maxWaitMs: 20, maxRows: 3 });
    await Promise.all([
      writer.upsert("acme", [campaign({ id: "c1" }), campaign({ id: "c2" })]),
      writer.upsert("globex", [campaign({ id: "c1" }), campaign({ id: "c2" })]),
      writer.upsert("initech", [campaign({ id: "c1" })]),
    ]);
    assert.equal(writer.statements, 2, "2 + 2 rows exceed 3: two statements");
    assert.equal(await countCampaigns(db.sql, "globex"), 2);
  },
);
