import assert from "node:assert/strict";
import { countOutcome, createRequestStats, outcomeRows } from "../../src/platform/request_stats.ts";

Deno.test("New request stats count nothing", () => {
  const stats = createRequestStats();
  assert.deepEqual(
    [stats.requests, stats.rateLimited, stats.retries, stats.timeouts, stats.inFlight],
    [0, 0, 0, 0, 0],
  );
  assert.deepEqual(outcomeRows(stats), []);
});

Deno.test("Outcomes are counted per endpoint and status, and come back as metric rows", () => {
  const stats = createRequestStats();
  countOutcome(stats, "list", "200");
  countOutcome(stats, "list", "503");
  countOutcome(stats, "list", "200");
  countOutcome(stats, "sync", "200");
  countOutcome(stats, "token", "timeout");
  assert.deepEqual(outcomeRows(stats), [
    { endpoint: "list", status: "200", count: 2 },
    { endpoint: "list", status: "503", count: 1 },
    { endpoint: "sync", status: "200", count: 1 },
    { endpoint: "token", status: "timeout", count: 1 },
  ]);
});

Deno.test("Two stats never share their outcomes", () => {
  const a = createRequestStats();
  const b = createRequestStats();
  countOutcome(a, "sync", "network");
  assert.deepEqual(outcomeRows(b), []);
});
