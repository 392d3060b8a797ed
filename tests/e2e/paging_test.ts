/** Paging end to end over HTTP: the largest pages, a capped `limit`, lying and oversized pages. */
import assert from "node:assert/strict";
import { type MockApiOptions, serveMockApi } from "../../mock-api/server.ts";
import { loadConfig } from "../../src/config.ts";
import { runSyncCommand } from "../../src/sync/sync_command.ts";
import type { SyncSummary } from "../../src/run_summary.ts";
import { CALM_MOCK, MOCK_CREDENTIALS } from "../_fixtures.ts";
import { freshDatabase, serverTest } from "./_cli.ts";

const CALM: Partial<MockApiOptions> = {
  ...CALM_MOCK,
  rateLimit: { count: 50, windowMs: 1_000 },
  syncDelayMs: 5,
};

/** Rewrites a list answer on its way to the sync, as a misbehaving platform would send it. */
type Rewrite = (page: number, body: { data: unknown[]; pagination: { total: number } }) => void;

/** Syncs the mock once (through `rewrite` if given) into a fresh server database. */
async function syncThrough(
  mockOptions: Partial<MockApiOptions>,
  rewrite: Rewrite | undefined,
  check: (summary: SyncSummary, rows: number, listPages: number[]) => Promise<void> | void,
) {
  const mock = serveMockApi({ ...CALM, ...mockOptions });
  const proxy = Deno.serve({ port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const answer = await fetch(new URL(url.pathname + url.search, mock.url), {
      method: req.method,
      headers: req.headers,
      body: req.body,
    });
    if (!rewrite || url.pathname !== "/api/campaigns" || answer.status !== 200) {
      return answer;
    }
    const body = await answer.json();
    rewrite(Number(url.searchParams.get("page")), body);
    return Response.json(body);
  });
  const stateDir = await Deno.makeTempDir({ prefix: "adsync_e2e_" });
  const db = await freshDatabase();
  try {
    const config = loadConfig({
      AD_PLATFORM_API_URL: `http://127.0.0.1:${proxy.addr.port}`,
      AD_PLATFORM_EMAIL: MOCK_CREDENTIALS.email,
      AD_PLATFORM_PASSWORD: MOCK_CREDENTIALS.password,
      AD_PLATFORM_RATE_LIMIT: "50/1s",
      AD_PLATFORM_PAGE_SIZE: "100",
      SYNC_STATE_DIR: stateDir,
      DATABASE_URL: db.url,
    }, ["sync"]);
    const [summary] = (await runSyncCommand(config)).accounts; // the one account's summary
    const [row] = await db.sql`select count(*)::int as n from campaigns`;
    const pages = mock.log.filter((e) => e.path === "/api/campaigns" && e.status === 200)
      .map((e) => e.page!);
    await check(summary!, Number(row!.n), pages);
  } finally {
    await db.drop();
    await proxy.shutdown();
    await mock.close();
    await Deno.remove(stateDir, { recursive: true });
  }
}

serverTest("Sync fetches 100 campaigns of an uncapped platform as one page", async () => {
  await syncThrough({ campaigns: 100 }, undefined, (summary, rows, pages) => {
    assert.equal(summary.status, "ok");
    assert.deepEqual(pages, [1]);
    assert.equal(rows, 100);
    assert.equal(summary.requests, 101);
  });
});

serverTest("Sync learns a platform's cap of 25 and lists 100 campaigns in 4 pages", async () => {
  await syncThrough({ campaigns: 100, maxLimit: 25 }, undefined, (summary, rows, pages) => {
    assert.equal(summary.status, "ok");
    assert.deepEqual(pages.toSorted((a, b) => a - b), [1, 2, 3, 4]);
    assert.equal(rows, 100);
    assert.equal(summary.campaigns_total, 100);
    assert.equal(summary.drift.has_more_mismatches, 0);
  });
});

serverTest("Sync stops at the end of a listing whose first page claims a billion", async () => {
  const lie: Rewrite = (page, body) => {
    if (page === 1) body.pagination.total = 1_000_000_000;
  };
  await syncThrough({ campaigns: 100, maxLimit: 10 }, lie, (summary, rows, pages) => {
    assert.equal(summary.failed, 0);
    assert.equal(summary.synced, 100);
    assert.equal(summary.campaigns_total, 100);
    assert.equal(rows, 100);
    assert.ok(pages.length <= 12, `fetched ${pages.length} pages`);
  });
});

serverTest(
  "Sync cuts a page of 40,000 records on limit 10 and stores no more than promised",
  async () => {
    const flood: Rewrite = (_page, body) => {
      const [first] = body.data as object[];
      const extra = Array.from({ length: 40_000 - 10 }, (_, i) => ({ ...first, id: `extra_${i}` }));
      body.data = [...body.data, ...extra];
    };
    await syncThrough({ campaigns: 10, maxLimit: 10 }, flood, (summary, rows) => {
      assert.equal(rows, 10);
      assert.equal(summary.synced, 10);
      assert.equal(summary.drift.truncated, 39_990);
    });
  },
);
