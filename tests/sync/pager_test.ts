import assert from "node:assert/strict";
import { join } from "node:path";
import type { CampaignPage } from "../../src/platform/schemas.ts";
import { type Checkpoint, openCheckpoint, type SavedPage } from "../../src/store/checkpoint.ts";
import { type PagerJob, type PagerOptions, runPager } from "../../src/sync/pager.ts";

const RUN = "run-1";
const records = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => ({ id: `campaign_${from + i}` }));

/** A platform of `count` records that caps `limit` at `cap`; `totalOf` may lie per page. */
function platform(count: number, cap: number, totalOf = (_page: number) => count) {
  const asked: Array<{ page: number; limit: number }> = [];
  let inFlight = 0;
  let peak = 0;
  return {
    asked,
    peak: () => peak,
    client: {
      async listCampaigns(page: number, limit: number): Promise<CampaignPage> {
        asked.push({ page, limit });
        peak = Math.max(peak, ++inFlight);
        await new Promise((resolve) => setTimeout(resolve, 0));
        inFlight--;
        const size = Math.min(limit, cap);
        const start = (page - 1) * size;
        const data = records(start + 1, Math.max(0, Math.min(size, count - start)));
        return { data, pagination: { page, limit: size, total: totalOf(page) } };
      },
    },
  };
}

async function withRun(
  fn: (checkpoint: Checkpoint) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "adsync_pager_" });
  const checkpoint = openCheckpoint(join(dir, "checkpoint.sqlite"));
  try {
    checkpoint.createRun({ runId: RUN, account: "acme", apiUrl: "x", pageSize: 100, startedAt: 0 });
    await fn(checkpoint);
  } finally {
    checkpoint.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function list(
  checkpoint: Checkpoint,
  client: PagerJob["client"],
  options: PagerOptions = {},
) {
  const pages: SavedPage[] = [];
  const run = checkpoint.getRun(RUN)!;
  const listing = await runPager({
    runId: RUN,
    client,
    checkpoint,
    saved: checkpoint.pages(RUN),
    savedPageLimit: run.pageLimit,
    onPage: (page) => pages.push(page),
  }, options).done;
  return { listing, pages, ids: pages.flatMap((page) => page.records as { id: string }[]) };
}

Deno.test("Pager fetches 100 campaigns of an uncapped platform as one page", async () => {
  await withRun(async (checkpoint) => {
    const p = platform(100, 100);
    const { listing, ids } = await list(checkpoint, p.client);
    assert.deepEqual(p.asked, [{ page: 1, limit: 100 }]);
    assert.equal(ids.length, 100);
    assert.equal(listing.pagesTotal, 1);
  });
});

Deno.test("Pager learns a cap of 25 from page 1 and plans the other pages with it", async () => {
  await withRun(async (checkpoint) => {
    const p = platform(100, 25);
    const { listing, ids } = await list(checkpoint, p.client);
    assert.deepEqual(p.asked, [1, 2, 3, 4].map((page) => ({ page, limit: page === 1 ? 100 : 25 })));
    assert.equal(new Set(ids.map((r) => r.id)).size, 100);
    assert.equal(listing.pageSize, 25);
    assert.equal(checkpoint.getRun(RUN)?.pageLimit, 25, "the checkpoint keeps the learnt size");
  });
});

Deno.test("Pager resumes with the learnt size and fetches no saved page again", async () => {
  await withRun(async (checkpoint) => {
    const first = platform(100, 25);
    const stop = new AbortController();
    let seen = 0;
    await runPager({
      runId: RUN,
      client: first.client,
      checkpoint,
      saved: [],
      savedPageLimit: null,
      onPage: () => void (++seen === 2 && stop.abort()),
    }, { lookahead: 1, signal: stop.signal }).done;
    assert.deepEqual(checkpoint.pages(RUN).map((page) => page.page), [1, 2]);

    const second = platform(100, 25);
    const { ids } = await list(checkpoint, second.client);
    assert.deepEqual(second.asked, [{ page: 3, limit: 25 }, { page: 4, limit: 25 }]);
    assert.equal(new Set(ids.map((r) => r.id)).size, 100);
  });
});

Deno.test("Pager stops at the end of a listing whose first page lies about its total", async () => {
  await withRun(async (checkpoint) => {
    const p = platform(100, 10, (page) => page === 1 ? 1_000_000_000 : 100);
    const { listing, ids } = await list(checkpoint, p.client);
    assert.equal(ids.length, 100);
    assert.equal(listing.total, 100);
    assert.equal(listing.pagesTotal, 10);
    assert.ok(p.asked.length <= 11, `fetched ${p.asked.length} pages`);
    assert.ok(p.peak() <= 2, "at most the lookahead is in flight");
  });
});

Deno.test("Pager stops at an empty page when every page claims a huge total", async () => {
  await withRun(async (checkpoint) => {
    const p = platform(30, 10, () => 1_000_000_000);
    const { listing, ids } = await list(checkpoint, p.client, { lookahead: 2 });
    assert.equal(ids.length, 30);
    assert.equal(listing.endedEarly, true);
    assert.ok(p.asked.length <= 6, `fetched ${p.asked.length} pages`);
  });
});

Deno.test("Pager cuts a page holding more records than the limit asked for", async () => {
  await withRun(async (checkpoint) => {
    const client = {
      listCampaigns: (page: number) =>
        Promise.resolve({ data: records(1, 40_000), pagination: { page, limit: 10, total: 10 } }),
    };
    const { listing, ids } = await list(checkpoint, client, { pageSize: 10 });
    assert.equal(ids.length, 10);
    assert.equal(listing.truncated, 39_990);
    assert.equal(checkpoint.pages(RUN)[0]?.records.length, 10, "only the kept records are saved");
  });
});
