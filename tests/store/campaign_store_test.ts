import assert from "node:assert/strict";
import type postgres from "postgres";
import {
  countCampaigns,
  countChanges,
  insertRejects,
  type Reject,
  upsertCampaigns,
} from "../../src/store/campaign_store.ts";
import { HOSTILE_NAMES } from "../_fixtures.ts";
import { campaign, withEachDatabase } from "./_helpers.ts";

withEachDatabase(
  "upsertCampaigns inserts campaigns, then updates them in place",
  async ({ db }) => {
    const { sql } = db;
    await upsertCampaigns(sql, "acme", [campaign({ id: "c1" }), campaign({ id: "c2" })]);
    assert.equal(await countCampaigns(sql, "acme"), 2);
    // Move the first write into the past, so the update's timestamp is provably later.
    await sql`update campaigns set updated_at = updated_at - interval '1 day'`;
    const [before] = await sql<{ updated_at: Date }[]>`
    select updated_at from campaigns where id = 'c1'
  `;

    await upsertCampaigns(sql, "acme", [
      campaign({ id: "c1", name: "Renamed", status: "paused", clicks: 51 }),
    ]);

    assert.equal(await countCampaigns(sql, "acme"), 2);
    const [after] = await sql`
    select name, status, clicks, updated_at from campaigns where account = 'acme' and id = 'c1'
  `;
    assert.equal(after?.name, "Renamed");
    assert.equal(after?.status, "paused");
    assert.equal(after?.clicks, "51");
    assert.ok(after?.updated_at > before!.updated_at);
  },
);

/** Each stored row's `updated_at` and `synced_at` as epoch ms, by id. */
async function stamps(sql: postgres.Sql): Promise<Map<string, [number, number]>> {
  const rows = await sql<{ id: string; updated_at: Date; synced_at: Date }[]>`
    select id, updated_at, synced_at from campaigns where account = 'acme'
  `;
  return new Map(rows.map((r) => [r.id, [r.updated_at.getTime(), r.synced_at.getTime()]]));
}

withEachDatabase(
  "upsertCampaigns tells inserted, updated and unchanged rows, and moves updated_at only on a change",
  async ({ db }) => {
    const { sql } = db;
    const ids = ["c1", "c2", "c3", "c4"];
    const first = await upsertCampaigns(sql, "acme", ids.map((id) => campaign({ id })));
    assert.deepEqual([...first.entries()].toSorted(), ids.map((id) => [id, "inserted"]));
    // Into the past, so that a moved updated_at cannot pass for an unmoved one.
    await sql`update campaigns set updated_at = updated_at - interval '1 day'`;
    const before = await stamps(sql);

    const synced_at = "2024-03-03T12:00:00.000Z";
    const second = await upsertCampaigns(sql, "acme", [
      campaign({ id: "c1", synced_at }),
      campaign({ id: "c2", synced_at, clicks: 51 }),
      // The same instant in another offset, and the same budget: no change.
      campaign({ id: "c3", synced_at, created_at: "2024-03-01T12:00:00.000+02:00" }),
      campaign({ id: "c4", synced_at, status: "paused" }),
      campaign({ id: "c5", synced_at }),
    ]);

    assert.deepEqual(Object.fromEntries(second), {
      c1: "unchanged",
      c2: "updated",
      c3: "unchanged",
      c4: "updated",
      c5: "inserted",
    });
    assert.deepEqual(countChanges(second.values()), { inserted: 1, updated: 2, unchanged: 2 });
    const after = await stamps(sql);
    for (const id of ["c1", "c3"]) {
      assert.equal(after.get(id)![0], before.get(id)![0], `${id}'s updated_at stays`);
    }
    for (const id of ["c2", "c4"]) {
      assert.ok(after.get(id)![0] > before.get(id)![0], `${id}'s updated_at moves`);
    }
    for (const id of ids) {
      assert.equal(after.get(id)![1], Date.parse(synced_at), `${id}'s synced_at records the sync`);
    }
  },
);

withEachDatabase(
  "upsertCampaigns counts a row edited by hand as updated, and a revived one too",
  async ({ db }) => {
    const { sql } = db;
    const rows = ["c1", "c2", "c3"].map((id) => campaign({ id }));
    await upsertCampaigns(sql, "acme", rows);
    await sql`update campaigns set name = 'edited by hand', clicks = null where id = 'c1'`;
    await sql`update campaigns set deleted_at = now() where id = 'c2'`;

    const changes = await upsertCampaigns(sql, "acme", rows);

    assert.deepEqual(Object.fromEntries(changes), {
      c1: "updated",
      c2: "updated",
      c3: "unchanged",
    });
    const [c1] = await sql`select name, clicks from campaigns where id = 'c1'`;
    assert.deepEqual({ ...c1 }, { name: "Spring sale", clicks: "50" });
    const [c2] = await sql`select deleted_at from campaigns where id = 'c2'`;
    assert.equal(c2?.deleted_at, null);
  },
);

withEachDatabase("upsertCampaigns round-trips hostile names byte-exact", async ({ db }) => {
  const rows = HOSTILE_NAMES.map((name, i) => campaign({ id: `c${i}`, name }));
  await upsertCampaigns(db.sql, "acme", rows);
  const stored = await db.sql<{ id: string; name: string }[]>`
    select id, name from campaigns where account = 'acme'
  `;
  const byId = new Map(stored.map((row) => [row.id, row.name]));
  const encoder = new TextEncoder();
  for (const row of rows) {
    assert.deepEqual(encoder.encode(byId.get(row.id)), encoder.encode(row.name));
  }
});

withEachDatabase("upsertCampaigns stores budgets as exact decimals", async ({ db }) => {
  const budgets = [1234.56, 0.1, 0, 99_999_999.99, 0.30000000000000004, 123456789012.34];
  await upsertCampaigns(
    db.sql,
    "acme",
    budgets.map((budget, i) => campaign({ id: `c${i}`, budget })),
  );
  const rows = await db.sql<{ id: string; budget: string }[]>`
    select id, budget::text as budget from campaigns order by id
  `;
  assert.deepEqual(
    rows.map((row) => row.budget),
    budgets.map(String),
  );
});

withEachDatabase(
  "upsertCampaigns keeps the last record when a batch repeats an id",
  async ({ db }) => {
    await upsertCampaigns(db.sql, "acme", [
      campaign({ id: "c1", name: "first" }),
      campaign({ id: "c2", name: "other" }),
      campaign({ id: "c1", name: "last" }),
    ]);
    const rows = await db.sql<{ id: string; name: string }[]>`
    select id, name from campaigns order by id
  `;
    assert.deepEqual(rows.map((row) => [row.id, row.name]), [["c1", "last"], ["c2", "other"]]);
  },
);

withEachDatabase("upsertCampaigns writes batches larger than one statement", async ({ db }) => {
  const rows = Array.from({ length: 1201 }, (_, i) => campaign({ id: `c${i}` }));
  await upsertCampaigns(db.sql, "acme", rows);
  assert.equal(await countCampaigns(db.sql, "acme"), 1201);
});

withEachDatabase("upsertCampaigns commits all of a call or none of it", async ({ db }) => {
  // PostgreSQL text cannot hold NUL, so the statement for the third chunk fails.
  const rows = Array.from({ length: 1201 }, (_, i) => campaign({ id: `c${i}` }));
  rows[1100] = campaign({ id: "c1100", name: "nul \u0000 inside" });
  await assert.rejects(upsertCampaigns(db.sql, "acme", rows));
  assert.equal(await countCampaigns(db.sql, "acme"), 0);
});

withEachDatabase("Parallel upserts and reject inserts all land", async ({ db }) => {
  // The sync writes from several workers at once; the embedded path funnels them through one
  // connection, the server through its pool.
  const pages = Array.from(
    { length: 8 },
    (_, page) => Array.from({ length: 10 }, (_, i) => campaign({ id: `c${page * 10 + i}` })),
  );
  const reject: Reject = {
    runId: "run-1",
    account: "acme",
    campaignId: null,
    reason: "record: expected object",
    payload: "x",
  };
  await Promise.all([
    ...pages.map((rows) => upsertCampaigns(db.sql, "acme", rows)),
    insertRejects(db.sql, [reject]),
    insertRejects(db.sql, [reject]),
  ]);
  assert.equal(await countCampaigns(db.sql, "acme"), 80);
  const [row] = await db.sql<{ count: number }[]>`select count(*)::int as count from sync_rejects`;
  assert.equal(row?.count, 1);
});

withEachDatabase("upsertCampaigns keeps each account's campaigns apart", async ({ db }) => {
  await upsertCampaigns(db.sql, "acme", [campaign({ id: "c1", name: "acme's" })]);
  await upsertCampaigns(db.sql, "globex", [campaign({ id: "c1", name: "globex's" })]);
  assert.equal(await countCampaigns(db.sql, "acme"), 1);
  assert.equal(await countCampaigns(db.sql, "globex"), 1);
  assert.equal(await countCampaigns(db.sql, "initech"), 0);
});

withEachDatabase("insertRejects stores each refusal once, with its raw payload", async ({ db }) => {
  const base = { runId: "run-1", account: "acme" };
  const rejects: Reject[] = [
    {
      ...base,
      campaignId: "campaign_7",
      reason: "budget: expected number",
      payload: { id: "campaign_7", budget: "12", extra: { nested: [1, null, true] } },
    },
    {
      ...base,
      campaignId: "campaign_8",
      reason: "name: too long",
      payload: { id: "campaign_8", name: HOSTILE_NAMES.join(" | ") },
    },
    { ...base, campaignId: null, reason: "record: expected object", payload: "just a string" },
    { ...base, campaignId: null, reason: "record: expected object, got number", payload: 42 },
    { ...base, campaignId: null, reason: "record: expected object, got null", payload: null },
    { ...base, campaignId: null, reason: "record: expected object, got array", payload: [1, "a"] },
    { ...base, campaignId: null, reason: "record: expected object, got boolean", payload: false },
  ];

  await insertRejects(db.sql, rejects);
  await insertRejects(db.sql, rejects);

  const rows = await db.sql<{ campaign_id: string | null; reason: string; payload: unknown }[]>`
    select campaign_id, reason, payload from sync_rejects
    where run_id = 'run-1' and account = 'acme'
  `;
  const stored = new Map(rows.map((row) => [row.reason, row]));
  assert.equal(rows.length, rejects.length);
  for (const reject of rejects) {
    const row = stored.get(reject.reason);
    assert.equal(row?.campaign_id, reject.campaignId);
    assert.deepEqual(row?.payload, reject.payload);
  }
});

withEachDatabase(
  "insertRejects keeps a payload holding NUL characters, spelled out",
  async ({ db }) => {
    const payload = { id: "campaign_9", name: "nul\u0000here", note: "a literal \\u0000 stays" };
    await insertRejects(db.sql, [
      { runId: "run-1", account: "acme", campaignId: "campaign_9", reason: "name: NUL", payload },
    ]);
    const [row] = await db.sql<{ payload: unknown }[]>`select payload from sync_rejects`;
    assert.deepEqual(row?.payload, {
      id: "campaign_9",
      name: "nul\\u0000here",
      note: "a literal \\u0000 stays",
    });
  },
);
