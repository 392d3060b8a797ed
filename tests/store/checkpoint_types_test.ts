import assert from "node:assert/strict";
import { runFromRow } from "../../src/store/checkpoint_types.ts";

const SQLITE_ROW = {
  run_id: "20260115T100000Z-abcd1234",
  account: "acme",
  api_url: "http://api.test",
  page_size: 100,
  started_at: 1_768_471_200_000,
  updated_at: 1_768_471_260_000,
  status: "interrupted",
  total: 250,
  pages_total: 3,
  page_limit: 50,
  last_error: "Stopped by SIGTERM",
};

Deno.test("runFromRow maps a SQLite runs row to a RunRecord", () => {
  assert.deepEqual(runFromRow(SQLITE_ROW), {
    runId: "20260115T100000Z-abcd1234",
    account: "acme",
    apiUrl: "http://api.test",
    pageSize: 100,
    startedAt: 1_768_471_200_000,
    updatedAt: 1_768_471_260_000,
    status: "interrupted",
    total: 250,
    pagesTotal: 3,
    pageLimit: 50,
    lastError: "Stopped by SIGTERM",
  });
});

Deno.test("runFromRow turns PostgreSQL's bigints, which arrive as strings, into numbers", () => {
  const row = {
    ...SQLITE_ROW,
    page_size: "100",
    started_at: "1768471200000",
    updated_at: "1768471260000",
    total: "250",
    pages_total: "3",
    page_limit: "50",
  };
  assert.deepEqual(runFromRow(row), runFromRow(SQLITE_ROW));
});

Deno.test("runFromRow keeps what is not known yet as null, a version 1 row's page limit too", () => {
  const { page_limit: _, ...v1 } = { ...SQLITE_ROW, total: null, pages_total: null };
  const run = runFromRow({ ...v1, status: "running", last_error: null });
  assert.equal(run.total, null);
  assert.equal(run.pagesTotal, null);
  assert.equal(run.pageLimit, null);
  assert.equal(run.lastError, null);
  assert.equal(run.status, "running");
});

Deno.test("runFromRow keeps a total of 0 as 0, not as unknown", () => {
  const run = runFromRow({ ...SQLITE_ROW, total: 0, pages_total: "0" });
  assert.equal(run.total, 0);
  assert.equal(run.pagesTotal, 0);
});
