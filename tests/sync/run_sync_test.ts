import assert from "node:assert/strict";
import { join } from "node:path";
import { type MockApiOptions, type ServedMockApi, serveMockApi } from "../../mock-api/server.ts";
import { createPlatformClient } from "../../src/platform/platform_client.ts";
import { type Checkpoint, openCheckpoint } from "../../src/store/checkpoint.ts";
import { NO_DRIFT } from "../../src/sync/catalog.ts";
import type { Listing } from "../../src/sync/pager.ts";
import { countMissing, isComplete, requestsLeft, startSync } from "../../src/sync/run_sync.ts";
import type { SyncProgress } from "../../src/sync/tally.ts";
import { acmeAccount, CALM_MOCK, campaign } from "../_fixtures.ts";
import { withEmbeddedDatabase } from "../store/_helpers.ts";

/** A listing of 25 campaigns in 3 pages of 10, every page fetched. */
const LISTING: Listing = {
  pageSize: 10,
  total: 25,
  pagesTotal: 3,
  failedPages: [],
  truncated: 0,
  endedEarly: false,
  undone: 0,
};

Deno.test("countMissing finds nothing missing when the pages held every promised record", () => {
  assert.deepEqual(countMissing(LISTING, 25, 1000), { onFailedPages: 0, unlisted: 0 });
});

Deno.test("countMissing counts what the total promised and no page held, once every page is in", () => {
  assert.deepEqual(countMissing(LISTING, 22, 1000), { onFailedPages: 0, unlisted: 3 });
});

Deno.test("countMissing counts the records a failed page would have held, the last one short", () => {
  assert.deepEqual(
    countMissing({ ...LISTING, failedPages: [3] }, 20, 1000),
    { onFailedPages: 5, unlisted: 0 },
  );
  assert.deepEqual(
    countMissing({ ...LISTING, failedPages: [2, 3] }, 10, 1000),
    { onFailedPages: 15, unlisted: 0 },
    "what the failed pages lack is theirs, not missing from the listing",
  );
});

Deno.test("countMissing promises no more than the page cap can hold", () => {
  assert.deepEqual(
    countMissing({ ...LISTING, pagesTotal: 2 }, 20, 2),
    { onFailedPages: 0, unlisted: 0 },
  );
});

Deno.test("countMissing never counts a listing that was stopped: a resume fetches the rest", () => {
  assert.deepEqual(
    countMissing({ ...LISTING, undone: 2 }, 10, 1000),
    { onFailedPages: 0, unlisted: 0 },
  );
});

Deno.test("countMissing counts nothing for a listing that never started or ended fatally", () => {
  const noTotal = { ...LISTING, total: null, pagesTotal: null };
  assert.deepEqual(countMissing(noTotal, 0, 1000), { onFailedPages: 0, unlisted: 0 });
  const fatal = { ...LISTING, failedPages: [3], fatal: new Error("credentials refused") };
  assert.deepEqual(countMissing(fatal, 20, 1000), { onFailedPages: 0, unlisted: 0 });
});

Deno.test("countMissing never counts a negative number when pages held more than the total", () => {
  assert.deepEqual(countMissing(LISTING, 30, 1000), { onFailedPages: 0, unlisted: 0 });
});

const SEEN = { listed: 25, anonymousRejects: 0 };
const CLEAN = { failed: 0, rejected: 0 };

Deno.test("isComplete says a listing is whole when every page came and agreed with itself", () => {
  assert.equal(isComplete(LISTING, SEEN, CLEAN, { ...NO_DRIFT }), true);
});

Deno.test("isComplete says no whenever some live campaign may have gone unseen", () => {
  const cases: Array<[string, Parameters<typeof isComplete>]> = [
    ["no page arrived", [{ ...LISTING, total: null }, SEEN, CLEAN, NO_DRIFT]],
    ["a page failed", [{ ...LISTING, failedPages: [2] }, SEEN, CLEAN, NO_DRIFT]],
    ["an empty page ended it early", [{ ...LISTING, endedEarly: true }, SEEN, CLEAN, NO_DRIFT]],
    ["the page cap cut it", [{ ...LISTING, pagesTotal: 2 }, SEEN, CLEAN, NO_DRIFT]],
    ["fewer records than the total", [LISTING, { ...SEEN, listed: 24 }, CLEAN, NO_DRIFT]],
    ["a rejected record had no id", [LISTING, { ...SEEN, anonymousRejects: 1 }, CLEAN, NO_DRIFT]],
    ["a campaign failed", [LISTING, SEEN, { ...CLEAN, failed: 1 }, NO_DRIFT]],
    ["a record was rejected", [LISTING, SEEN, { ...CLEAN, rejected: 1 }, NO_DRIFT]],
    ["records went missing", [LISTING, SEEN, CLEAN, { ...NO_DRIFT, missing: 1 }]],
    ["an id was listed twice", [LISTING, SEEN, CLEAN, { ...NO_DRIFT, duplicates: 1 }]],
    ["the total changed", [LISTING, SEEN, CLEAN, { ...NO_DRIFT, totalChanges: 1 }]],
    ["a page was truncated", [LISTING, SEEN, CLEAN, { ...NO_DRIFT, truncated: 1 }]],
  ];
  for (const [why, args] of cases) assert.equal(isComplete(...args), false, why);
});

Deno.test("isComplete ignores has_more lies: the total, not has_more, bounds the listing", () => {
  assert.equal(isComplete(LISTING, SEEN, CLEAN, { ...NO_DRIFT, hasMoreMismatches: 3 }), true);
});

const PROGRESS: SyncProgress = {
  total: 25,
  pagesTotal: 3,
  pagesDone: 1,
  queued: 4,
  synced: 3,
  inserted: 3,
  updated: 0,
  unchanged: 0,
  skipped: 2,
  failed: 1,
  rejected: 0,
  deleted: 0,
  withheld: 0,
};

Deno.test("requestsLeft counts the pages not fetched and every campaign not done, listed or not", () => {
  // 2 pages, 4 queued, and 25 - 6 done - 4 queued = 15 not listed yet.
  assert.equal(requestsLeft(PROGRESS), 2 + 4 + 15);
  assert.equal(requestsLeft({ ...PROGRESS, total: null, pagesTotal: null, pagesDone: 0 }), 4);
});

// What --resume continues: startSync on a real checkpoint, the mock over HTTP, PGlite.

const RECORDS = Array.from({ length: 25 }, (_, i) => campaign(i + 1));
const ids = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `campaign_${from + i}`);

async function withPlatform(
  options: Partial<MockApiOptions>,
  test: (mock: ServedMockApi, checkpoint: Checkpoint) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "adsync_run_sync_" });
  const rateLimit = { count: 1000, windowMs: 60_000 }; // as the account's: no 429 to wait out
  const mock = serveMockApi({ ...CALM_MOCK, records: RECORDS, rateLimit, ...options });
  const checkpoint = openCheckpoint(join(dir, "checkpoint.sqlite"));
  try {
    await checkpoint.createRun({
      runId: "run-1",
      account: "acme",
      apiUrl: mock.url,
      pageSize: 10,
      startedAt: Date.now(),
    });
    await test(mock, checkpoint);
  } finally {
    await checkpoint.close();
    await mock.close();
    await Deno.remove(dir, { recursive: true });
  }
}

function requested(mock: ServedMockApi) {
  const api = mock.log.filter((e) => e.path !== "/auth/token");
  return {
    pages: api.filter((e) => e.page !== undefined).map((e) => e.page).sort(),
    syncs: api.filter((e) => e.campaignId !== undefined).map((e) => e.campaignId!).sort(),
  };
}

withEmbeddedDatabase(
  "A resumed sync fetches no saved page and syncs no campaign done or synced already",
  async ({ db }) => {
    await withPlatform({}, async (mock, checkpoint) => {
      await checkpoint.savePage("run-1", {
        page: 1,
        records: RECORDS.slice(0, 10),
        total: 25,
        hasMore: true,
      });
      await checkpoint.markDone("run-1", ids(1, 5), "synced");
      await checkpoint.recordSynced("run-1", "campaign_6", "2026-01-15T10:00:00.000Z");
      await checkpoint.markFailed("run-1", "campaign_7", "503 Service Unavailable");
      const client = createPlatformClient(acmeAccount({ baseUrl: mock.url }));
      const sync = await startSync(
        { runId: "run-1", account: "acme", client, sql: db.sql, checkpoint },
        { pageSize: 10 },
      );
      const result = await sync.done;
      const { pages, syncs } = requested(mock);
      assert.deepEqual(pages, [2, 3], "page 1 comes from the checkpoint");
      assert.deepEqual(syncs, ids(7, 25).sort(), "the failed campaign is retried; 1-6 are not");
      assert.deepEqual(
        [result.skipped, result.synced, result.failed, result.interrupted, result.fatal],
        [5, 20, 0, false, undefined],
      );
      const [row] = await db.sql`select count(*)::int as n from campaigns where account = 'acme'`;
      assert.equal(row!.n, 20);
      const [sixth] = await db.sql`select synced_at from campaigns where id = 'campaign_6'`;
      assert.equal(
        (sixth!.synced_at as Date).toISOString(),
        "2026-01-15T10:00:00.000Z",
        "campaign 6's row is committed with the sync time the checkpoint recorded",
      );
      assert.equal(
        (await checkpoint.progress("run-1")).synced,
        25,
        "every campaign of the run is done in the checkpoint",
      );
    });
  },
);

withEmbeddedDatabase(
  "A sync stopped after its first page is interrupted, and its resume redoes no request",
  async ({ db }) => {
    const stop = new AbortController();
    await withPlatform({
      onRequest: (entry) => {
        if (entry.page === 1) stop.abort(new DOMException("Stopped by SIGINT", "AbortError"));
      },
    }, async (mock, checkpoint) => {
      const job = {
        runId: "run-1",
        account: "acme",
        client: createPlatformClient(acmeAccount({ baseUrl: mock.url })),
        sql: db.sql,
        checkpoint,
      };
      // As a first SIGINT does: start nothing new, let what is on the wire finish.
      const wireSignal = new AbortController().signal;
      const stopped = await startSync(job, { pageSize: 10, signal: stop.signal, wireSignal });
      const first = await stopped.done;
      assert.equal(first.interrupted, true);
      assert.equal(first.fatal, undefined);
      assert.equal(first.failed, 0, "stopped work is left for the resume, never failed");
      assert.deepEqual(requested(mock).pages, [1]);
      const second = await (await startSync(job, { pageSize: 10 })).done;
      assert.equal(second.interrupted, false);
      assert.equal(second.skipped + second.synced, 25);
      const { pages, syncs } = requested(mock);
      assert.deepEqual(pages, [1, 2, 3], "each page fetched once over both runs");
      assert.deepEqual(syncs, ids(1, 25).sort(), "each campaign synced once over both runs");
      const [row] = await db.sql`select count(*)::int as n from campaigns where account = 'acme'`;
      assert.equal(row!.n, 25);
    });
  },
);

withEmbeddedDatabase(
  "A complete listing marks the account's stored campaigns it no longer holds deleted",
  async ({ db }) => {
    await withPlatform({}, async (mock, checkpoint) => {
      const client = createPlatformClient(acmeAccount({ baseUrl: mock.url }));
      const job = { runId: "run-1", account: "acme", client, sql: db.sql, checkpoint };
      await db.sql`insert into campaigns ${
        db.sql({
          account: "acme",
          id: "campaign_99",
          name: "Gone",
          status: "ended",
          budget: 1,
          impressions: 0,
          clicks: 0,
          conversions: 0,
          created_at: "2025-01-01T00:00:00Z",
          synced_at: "2025-01-01T00:00:00Z",
        })
      }`;
      const result = await (await startSync(job, { pageSize: 10 })).done;
      assert.equal(result.deleted, 1);
      const [gone] = await db.sql`select deleted_at from campaigns where id = 'campaign_99'`;
      assert.notEqual(gone!.deleted_at, null);
    });
  },
);
