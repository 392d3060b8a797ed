import assert from "node:assert/strict";
import { StoreError } from "../../src/errors.ts";
import { configureLogging, resetLogging } from "../../src/report/logging.ts";
import type { SyncSummary } from "../../src/run_summary.ts";
import type { HeldAccount } from "../../src/store/lease_keeper.ts";
import { logEnd, noteLevel, withLeaseLoss } from "../../src/sync/run_outcome.ts";

Deno.test("A worker starting a new run does not warn that there is nothing to resume", () => {
  // Every job of a worker resumes if it can: the latest unfinished run belonging to another
  // account is no news there.
  assert.equal(noteLevel({ resumed: false }, { checkpointInServer: true }), "debug");
  assert.equal(noteLevel({ resumed: false }, {}), "warn", "sync --resume still says it");
  assert.equal(noteLevel({ resumed: true }, { checkpointInServer: true }), "warn");
});

Deno.test("A run its lost lease interrupted says why, with the stable code ACCOUNT_BUSY", () => {
  const lost = new AbortController();
  lost.abort(
    new StoreError("Cannot drive account acme: w2 took it over", { code: "ACCOUNT_BUSY" }),
  );
  const lease = { signal: lost.signal } as HeldAccount;
  const interrupted = { status: "interrupted" } as SyncSummary;
  const summary = withLeaseLoss(interrupted, lease);
  assert.deepEqual([summary.last_error, summary.error_code], [
    "Cannot drive account acme: w2 took it over",
    "ACCOUNT_BUSY",
  ]);
});

Deno.test("The end line of a failed run logs its error and its error_code", async () => {
  const chunks: string[] = [];
  await configureLogging({ level: "info", format: "json", write: (text) => chunks.push(text) });
  try {
    logEnd({
      run_id: "run-1",
      status: "failed",
      last_error: "Cannot log in: refused (401)",
      error_code: "AUTH_REFUSED",
    } as SyncSummary);
  } finally {
    await resetLogging();
  }
  const [record] = chunks.join("").trim().split("\n").map((line) => JSON.parse(line));
  assert.equal(record.message, "Run run-1 failed: Cannot log in: refused (401)");
  assert.equal(record.properties.error_code, "AUTH_REFUSED");
});
