import assert from "node:assert/strict";
import type { RunSummary } from "../../src/sync/run_summary.ts";
import { exitCodeFor } from "../../src/sync/summary.ts";

const summary = (status: RunSummary["status"]) => ({ status }) as RunSummary;

Deno.test("Exit codes follow the SPEC for every way a run ends", () => {
  assert.equal(exitCodeFor(summary("ok"), undefined), 0);
  assert.equal(exitCodeFor(summary("partial"), undefined), 2);
  assert.equal(exitCodeFor(summary("failed"), undefined), 1);
  assert.equal(exitCodeFor(summary("interrupted"), "SIGINT"), 130);
  assert.equal(exitCodeFor(summary("interrupted"), "SIGTERM"), 143);
  assert.equal(exitCodeFor(summary("interrupted"), "max-duration"), 75);
});

Deno.test("A run that finished its work despite a stop request exits as finished", () => {
  assert.equal(exitCodeFor(summary("ok"), "SIGINT"), 0);
  assert.equal(exitCodeFor(summary("partial"), "SIGTERM"), 2);
});
